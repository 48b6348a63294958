"""The run queue's per-GPU mode (``[queue] per_gpu = true``): up to one run per GPU at once,
each in its own process seeing only its GPU; cancel and quit still work; without a GPU it
runs one at a time and says so. GPU counts are fake (as in the sweep --gpus tests) and the
child is the fake `densexp run` (tests/tui/fake_run_main.py), except in the one real run:
the MLP on iris through the real `densexp run` subprocess."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from textual.widgets import Static

import densexp_tui.engine.gpu_queue as gpu_queue
import densexp_tui.tui.app as app_module
from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.runstore import RunStore, process_is_alive
from densexp_tui.engine.gpu_queue import QueueMode, per_gpu_mode
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.dialogs import ConfirmDialog
from densexp_tui.tui.run_watch import RunStatusesChanged
from tests.tui.conftest import cells, shown_error_dialog, wait_for
from tests.tui.helpers_notes import record_notes

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]
REAL_COMMAND = gpu_queue.job_command  # before any test replaces it with the fake


def fake_run_command(config_path: Path | None, runs_dir: Path, run_id: str,
                     resume: bool) -> list[str]:
    assert not resume
    return [sys.executable, "-m", "tests.tui.fake_run_main", str(config_path), "--runs-dir",
            str(runs_dir), "--run-id", run_id, "--json"]


@pytest.fixture
def per_gpu_app(make_app: Callable[..., DensexpApp], tui_environment: Path,
                monkeypatch: pytest.MonkeyPatch) -> Callable[[int], DensexpApp]:
    """An app whose user config turns per_gpu on, on a machine with ``n`` fake GPUs, whose
    jobs run the fake `densexp run`."""
    tui_environment.mkdir(parents=True, exist_ok=True)
    (tui_environment / "config.toml").write_text("[queue]\nper_gpu = true\n")
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the children import tests.tui
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(gpu_queue, "job_command", fake_run_command)

    def factory(n_gpus: int) -> DensexpApp:
        monkeypatch.setattr(app_module, "per_gpu_mode", lambda: per_gpu_mode(lambda: n_gpus))
        return make_app()

    return factory


def _config(name: str, epochs: int = 2) -> RunConfig:
    return apply_overrides(RunConfig(), [f"run.name={name}", f"train.epochs={epochs}"])


def queue_line(app: DensexpApp) -> str:
    return str(app.screen.query_one("#queue-line", Static).render())


def test_the_mode_says_how_many_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    assert QueueMode().capacity == 1 and QueueMode().describe() == ""
    assert QueueMode(per_gpu=True, finding=True).capacity == 0
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    two = per_gpu_mode(lambda: 2)
    assert two.gpus == ("0", "1") and two.capacity == 2
    assert two.describe() == "Up to 2 at once, one per GPU (GPUs 0, 1)"
    assert two.free_gpu({"0"}) == "1" and two.free_gpu({"0", "1"}) is None
    none = per_gpu_mode(lambda: 0)
    assert none.capacity == 1 and none.gpus == ()
    assert none.describe() == "One at a time: per_gpu is on, but TensorFlow sees no GPU here"
    # Started with CUDA_VISIBLE_DEVICES=4,6, slot i is the i-th of those (as sweep --gpus).
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert per_gpu_mode(lambda: 2).gpus == ("4", "6")


async def test_two_gpus_train_two_runs_at_once_each_seeing_only_its_gpu(
        per_gpu_app: Callable[[int], DensexpApp], runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "1.0")
    app = per_gpu_app(2)
    notes = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "Up to 2 at once" in queue_line(app), timeout=30)
        for name in ("first", "second", "third"):
            app.launch_run(_config(name), watch=False)
        await pilot.pause()
        assert [job.gpu for job in app.training.running] == ["0", "1"]
        assert "Queued: 1 (third)" in queue_line(app)
        await wait_for(pilot, lambda: not app.training.busy, timeout=180)
        # The runs screen then sees them leave 'running': they are the app's own runs
        # (though other processes wrote them), so each end is announced once, not twice.
        store = RunStore(runs_dir)
        app.post_message(RunStatusesChanged(store.list_runs()))
        await pilot.pause()
        for name in ("first", "second", "third"):
            assert [n for n in notes if f"{name} completed" in n] == [
                f"{name} completed: best val accuracy 0.562"]
    runs = {summary.name: summary for summary in store.list_runs()}
    assert {name: run.status for name, run in runs.items()} == {
        "first": "completed", "second": "completed", "third": "completed"}
    # Each run was trained by a process of its own that saw only its GPU.
    assert runs["first"].visible_gpus == "0" and runs["second"].visible_gpus == "1"
    assert runs["third"].visible_gpus in ("0", "1")
    assert len({run.pid for run in runs.values()} | {os.getpid()}) == 4
    # The first two overlapped; the third waited for a free GPU.
    first, second, third = runs["first"], runs["second"], runs["third"]
    assert first.finished and second.finished and third.started
    assert max(first.started, second.started) < min(first.finished, second.finished)
    assert third.started >= min(first.finished, second.finished)


async def test_cancel_one_then_quit_cancels_the_other(
        per_gpu_app: Callable[[int], DensexpApp], runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "0.5")
    app = per_gpu_app(2)
    notes = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "Up to 2 at once" in queue_line(app), timeout=30)
        app.launch_run(_config("left", epochs=400), watch=False)
        app.launch_run(_config("right", epochs=400), watch=False)
        await wait_for(pilot, lambda: all(job.run_id for job in app.training.running),
                       timeout=60)
        left, right = app.training.running
        assert app.cancel_run(left.run_id)
        await wait_for(pilot, lambda: left not in app.training.running, timeout=60)
        assert right in app.training.running
        assert "left: cancelled" in " ".join(notes)
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmDialog)
        assert "right is training" in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, timeout=60)
    store = RunStore(runs_dir)
    for job in (left, right):
        assert job.run_id is not None
        summary = store.read_summary(job.run_id)
        assert summary.status == "cancelled" and summary.epochs_done < 400
        assert not process_is_alive(summary.pid, summary.pid_started)


async def test_a_config_the_child_refuses_is_one_error_and_no_run(
        per_gpu_app: Callable[[int], DensexpApp], runs_dir: Path) -> None:
    app = per_gpu_app(1)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "Up to 1 at once" in queue_line(app), timeout=30)
        app.launch_run(_config("refused"), watch=False)
        await wait_for(pilot, lambda: shown_error_dialog(app) is not None, timeout=60)
        dialog = shown_error_dialog(app)
        assert dialog.title_text == "Cannot start refused"
        assert dialog.message == "data.path: /nowhere.csv does not exist"
    assert RunStore(runs_dir).list_runs() == []


def _in_app_job(job: Any, store: Any, active: Any, post: Any) -> None:
    """Stand-in for training in the app's process: ends when cancelled."""
    try:
        active.cancel.wait(timeout=60)
    finally:
        active.done.set()


async def test_without_a_gpu_it_runs_one_at_a_time_and_says_so(
        per_gpu_app: Callable[[int], DensexpApp], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "run_job", _in_app_job)
    app = per_gpu_app(0)
    notes = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "One at a time" in queue_line(app), timeout=30)
        assert "TensorFlow sees no GPU" in " ".join(notes)
        app.launch_run(_config("solo"), watch=False)
        app.launch_run(_config("waits"), watch=False)
        await pilot.pause()
        assert [job.gpu for job in app.training.running] == [None]  # in the app, as before
        assert "Queued: 1 (waits)" in queue_line(app)
        app.training.cancel_all()
        await wait_for(pilot, lambda: not app.training.running, timeout=30)


async def test_a_real_mlp_on_iris_trains_in_its_own_process_on_its_gpu(
        per_gpu_app: Callable[[int], DensexpApp], runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu_queue, "job_command", REAL_COMMAND)  # the real `densexp run`
    cfg = apply_overrides(RunConfig(), [
        "run.name=iris-gpu", "data.name=iris", "model.name=mlp", "train.epochs=2",
        "train.batch_size=16"])
    app = per_gpu_app(1)
    notes = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "Up to 1 at once" in queue_line(app), timeout=30)
        app.launch_run(cfg, watch=False)
        await wait_for(pilot, lambda: any(note.startswith("iris-gpu completed")
                                          for note in notes), timeout=200)
    (summary,) = RunStore(runs_dir).list_runs()
    assert summary.status == "completed" and summary.epochs_done == 2
    assert summary.visible_gpus == "0"  # its process saw only "its" GPU
    assert summary.pid != os.getpid() and summary.best.get("accuracy", 0) > 0



def test_quitting_names_every_run_that_trains_and_what_waits() -> None:
    from densexp_tui.tui.training import TrainingJob, TrainingQueue

    queue = TrainingQueue(QueueMode(per_gpu=True, gpus=("0", "1")))
    for name in ("a", "b", "c"):
        queue.enqueue(TrainingJob(cfg=_config(name)))
    assert [job.gpu for job in iter(queue.start_next, None)] == ["0", "1"]
    assert queue.full and queue.quit_question() == (
        "2 runs are training (1 queued run will not start).\nCancel them and quit?")
    assert "▶ a: starting (loading data, building model) on GPU 0" in queue.describe()
    counting = TrainingQueue(QueueMode(per_gpu=True, finding=True))
    counting.enqueue(TrainingJob(cfg=_config("a")))
    assert counting.start_next() is None  # nothing starts before the GPUs are counted
    assert counting.quit_question() == ("1 run waiting in the queue (the GPUs are being "
                                        "counted).\nQuit anyway?")


def _digits_mlp(name: str, epochs: int) -> RunConfig:
    """An MLP on 300 digits rows, one row per step: about a second an epoch here, so a cancel
    sent after the first epoch lands before the last."""
    return apply_overrides(RunConfig(), [
        f"run.name={name}", "data.name=digits", "data.max_samples=300", "model.name=mlp",
        f"train.epochs={epochs}", "train.batch_size=1"])


def _events_of(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    from densexp_tui.core.events import read_events

    return [event.data for event in read_events(run_dir / "events.jsonl").events
            if event.kind == kind]


@pytest.mark.slow  # two real `densexp run`/`resume` children: about a minute here
@pytest.mark.timeout(180)
async def test_a_per_gpu_run_cancelled_after_epoch_one_resumes_on_another_gpu(
        per_gpu_app: Callable[[int], DensexpApp], runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real `densexp run` child on (fake) GPU 4 is cancelled after its first epoch; in a
    later session whose one GPU is 6, the runs screen's resume key continues it through a
    `densexp resume` child on GPU 6. It ends completed with every epoch once, and records
    both processes' devices: run_started GPU 4, the resumed event and the summary GPU 6."""
    monkeypatch.setattr(gpu_queue, "job_command", REAL_COMMAND)
    epochs = 5
    store = RunStore(runs_dir)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4")  # the app's GPUs: slot 0 is GPU 4
    app = per_gpu_app(1)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "(GPU 4)" in queue_line(app), timeout=30)
        app.launch_run(_digits_mlp("paused", epochs), watch=False)
        await wait_for(pilot, lambda: bool(app.training.running)
                       and app.training.running[0].run_id is not None, timeout=90)
        run_id = app.training.running[0].run_id
        assert run_id is not None
        await wait_for(pilot, lambda: store.read_summary(run_id).epochs_done >= 1, timeout=90)
        assert app.cancel_run(run_id)
        await wait_for(pilot, lambda: not app.training.busy, timeout=60)
    cancelled = store.read_summary(run_id)
    assert cancelled.status == "cancelled" and 1 <= cancelled.epochs_done < epochs
    assert cancelled.visible_gpus == "4"

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "6")  # the next session has GPU 6
    app = per_gpu_app(1)
    notes = record_notes(app)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "(GPU 6)" in queue_line(app), timeout=30)
        await wait_for(pilot, lambda: any("paused" in " ".join(row) for row in cells(app)),
                       timeout=10)
        await pilot.press("R")
        await wait_for(pilot, lambda: any(note.startswith("paused completed")
                                          for note in notes), timeout=120)
        await wait_for(pilot, lambda: not app.training.busy, timeout=30)
    summary = store.read_summary(run_id)
    assert summary.status == "completed" and summary.epochs_done == epochs
    assert [run.run_id for run in store.list_runs()] == [run_id]  # continued in place
    run_dir = store.run_dir(run_id)
    epoch_numbers = [event["epoch"] for event in _events_of(run_dir, "epoch")]
    assert sorted(set(epoch_numbers)) == list(range(1, epochs + 1))
    (resumed,) = [event for event in _events_of(run_dir, "status")
                  if event["status"] == "resumed"]
    assert resumed["from_epoch"] == cancelled.epochs_done
    (started,) = _events_of(run_dir, "run_started")
    assert started["visible_gpus"] == "4" and resumed["visible_gpus"] == "6"
    assert summary.visible_gpus == "6" and summary.replicas == ["cpu:0"]
    assert summary.pid not in (os.getpid(), cancelled.pid)  # a process of its own, again
