"""A ``device.device = "cpu:N"`` run (N >= 2) launched in the app trains in a `densexp run`
process of its own, whatever ran before in the app: TensorFlow splits a process's CPU into
logical devices only before its first op, so a second run in the app's process used to fail
("TensorFlow in this process already started with 1 ..."). The child keeps the app's
environment (no GPU is chosen for it); cancel, the end notice, a refused config and resume
all go through it. The children are the fake `densexp run` / `densexp resume`
(tests/tui/fake_run_main.py, fake_resume_main.py), except in the one real run at the end."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest
from textual.widgets import Static

import densexp_tui.engine.gpu_queue as gpu_queue
import densexp_tui.engine.resume as resume_module
from densexp_tui.core.config import RunConfig, apply_overrides, load_config
from densexp_tui.core.runstore import RunStore
from densexp_tui.engine.gpu_queue import QueueMode
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.training import TrainingJob, TrainingQueue
from tests.tui.conftest import shown_error_dialog, wait_for
from tests.tui.helpers_notes import record_notes

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
REAL_COMMAND = gpu_queue.job_command  # before any test replaces it with the fake


class Children:
    """Stands in for ``job_command``: records what the queue asked for, starts a fake."""

    def __init__(self) -> None:
        self.asked: list[tuple[Path | None, Path, str, bool]] = []

    def __call__(self, config_path: Path | None, runs_dir: Path, run_id: str,
                 resume: bool) -> list[str]:
        self.asked.append((config_path, runs_dir, run_id, resume))
        if resume:
            return [sys.executable, "-m", "tests.tui.fake_resume_main", run_id,
                    "--runs-dir", str(runs_dir)]
        return [sys.executable, "-m", "tests.tui.fake_run_main", str(config_path),
                "--runs-dir", str(runs_dir), "--run-id", run_id, "--json"]


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> Children:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the children import tests.tui
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")  # the app's; the child must keep it
    fake = Children()
    monkeypatch.setattr(gpu_queue, "job_command", fake)
    # Training in the app's own process would go through the trainer: make that path fail.
    trap = types.ModuleType("densexp_tui.engine.trainer")
    trap.train = _trained_in_the_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "densexp_tui.engine.trainer", trap)
    monkeypatch.setattr(resume_module, "resume", _trained_in_the_app)
    return fake


def _trained_in_the_app(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a cpu:N run trained in the app's own process")


def _config(name: str, device: str = "cpu:2", epochs: int = 2) -> RunConfig:
    return apply_overrides(RunConfig(), [f"run.name={name}", f"device.device={device}",
                                         f"train.epochs={epochs}"])


def queue_line(app: DensexpApp) -> str:
    return str(app.screen.query_one("#queue-line", Static).render())


def test_only_a_split_cpu_trains_in_a_process_of_its_own() -> None:
    queue = TrainingQueue()
    for name, device in (("one", "cpu"), ("split", "cpu:2"), ("single", "cpu:1"),
                         ("auto", "auto")):
        queue.enqueue(TrainingJob(cfg=_config(name, device)))
    started = []
    while queue.pending:
        active = queue.start_next()
        assert active is not None
        started.append((active.job.name, active.own_process, active.gpu))
        queue.finish()
    assert started == [("one", False, None), ("split", True, None), ("single", False, None),
                       ("auto", False, None)]
    # Per-GPU mode: a cpu:N job takes a place in the queue but no GPU; the next job gets GPU 0.
    per_gpu = TrainingQueue(QueueMode(per_gpu=True, gpus=("0", "1")))
    per_gpu.enqueue(TrainingJob(cfg=_config("split")))
    per_gpu.enqueue(TrainingJob(cfg=_config("gpu-job", "auto")))
    split, gpu_job = per_gpu.start_next(), per_gpu.start_next()
    assert split is not None and (split.gpu, split.own_process) == (None, True)
    assert gpu_job is not None and (gpu_job.gpu, gpu_job.own_process) == ("0", True)
    assert "▶ split: starting (loading data, building model) in its own process" in \
        per_gpu.describe()


async def test_a_cpu2_run_trains_in_a_densexp_run_child_with_the_apps_environment(
        make_app: Callable[..., DensexpApp], children: Children, runs_dir: Path) -> None:
    tensorflow_before = "tensorflow" in sys.modules
    app = make_app()
    notes = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        app.launch_run(_config("split"), watch=False)
        await wait_for(pilot, lambda: not app.training.busy, timeout=60)
        assert [n for n in notes if n.startswith("split completed")] == [
            "split completed: best val accuracy 0.562"]
    ((config_path, asked_dir, run_id, resume),) = children.asked
    assert not resume and asked_dir == runs_dir
    # What the real queue runs for it: `densexp run CONFIG --runs-dir DIR --run-id ID`.
    assert REAL_COMMAND(config_path, asked_dir, run_id, resume)[1:] == [
        "-m", "densexp_tui", "run", str(config_path), "--runs-dir", str(runs_dir),
        "--run-id", run_id, "--json"]
    assert config_path is not None and load_config(config_path).device.device == "cpu:2"
    summary = RunStore(runs_dir).read_summary(run_id)
    assert summary.status == "completed" and summary.pid != os.getpid()
    assert summary.visible_gpus == "5"  # the app's CUDA_VISIBLE_DEVICES, untouched
    if not tensorflow_before:
        assert "tensorflow" not in sys.modules  # the app never loaded it for this run


async def test_cancel_reaches_the_child_and_the_user_is_told(
        make_app: Callable[..., DensexpApp], children: Children, runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "0.3")
    app = make_app()
    notes = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        app.launch_run(_config("long", epochs=400), watch=False)
        await wait_for(pilot, lambda: bool(app.training.running)
                       and app.training.running[0].run_id is not None, timeout=60)
        run_id = app.training.running[0].run_id
        assert run_id is not None
        assert "in its own process" in queue_line(app)
        assert app.cancel_run(run_id)
        await wait_for(pilot, lambda: not app.training.busy, timeout=60)
        assert any(note.startswith("long: cancelled") for note in notes)
    summary = RunStore(runs_dir).read_summary(run_id)
    assert summary.status == "cancelled" and summary.epochs_done < 400


async def test_a_config_the_child_refuses_is_one_error_and_no_run(
        make_app: Callable[..., DensexpApp], children: Children, runs_dir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        app.launch_run(_config("refused"), watch=False)
        await wait_for(pilot, lambda: shown_error_dialog(app) is not None, timeout=60)
        dialog = shown_error_dialog(app)
        assert dialog.title_text == "Cannot start refused"
        assert dialog.message == "data.path: /nowhere.csv does not exist"
    assert RunStore(runs_dir).list_runs() == []


async def test_resuming_a_cpu2_run_goes_to_a_densexp_resume_child(
        make_app: Callable[..., DensexpApp], children: Children, runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = RunStore(runs_dir)
    handle = store.create_run(_config("paused"))
    handle.update_summary(status="cancelled", epochs_done=1)
    run_id = handle.run_id

    def plan(ref: str, store: Any) -> Any:  # the fake run has no checkpoint to check
        return SimpleNamespace(run_id=ref, cfg=load_config(store.run_dir(ref) / "config.toml"))

    monkeypatch.setattr(resume_module, "plan_resume", plan)
    app = make_app()
    notes = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        app.resume_run(run_id)
        await wait_for(pilot, lambda: not app.training.busy, timeout=60)
        assert any(note.startswith("paused completed") for note in notes)
    assert children.asked == [(None, runs_dir, run_id, True)]
    summary = store.read_summary(run_id)
    assert summary.status == "completed" and summary.pid != os.getpid()
    assert summary.visible_gpus == "5"


def _iris_mlp(name: str, device: str) -> RunConfig:
    return apply_overrides(RunConfig(), [
        f"run.name={name}", "data.name=iris", "model.name=mlp", "train.epochs=2",
        "train.batch_size=16", f"device.device={device}"])


@pytest.mark.xdist_group("cpu2")  # trains on two logical CPUs, as the other cpu:2 tests
@pytest.mark.timeout(240)
async def test_a_real_cpu2_run_completes_after_a_run_trained_in_the_app(
        make_app: Callable[..., DensexpApp], runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the child imports this worktree's code
    monkeypatch.setattr(gpu_queue, "job_command", REAL_COMMAND)
    app = make_app()
    notes = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        app.launch_run(_iris_mlp("first", "cpu"), watch=False)  # TensorFlow starts here
        app.launch_run(_iris_mlp("split", "cpu:2"), watch=False)
        await wait_for(pilot, lambda: not app.training.busy, timeout=200)
        for name in ("first", "split"):
            assert any(note.startswith(f"{name} completed") for note in notes), notes
    runs = {summary.name: summary for summary in RunStore(runs_dir).list_runs()}
    assert runs["first"].status == "completed" and runs["first"].pid == os.getpid()
    split = runs["split"]
    assert split.status == "completed", split.message
    assert split.replicas == ["cpu:0", "cpu:1"] and split.pid != os.getpid()
