"""The palette's "Run queue" entry: it shows how the queue trains and how many GPUs were found,
and its switch writes ``[queue] per_gpu`` into the user config file (the user's other
settings and comments kept), which the queue uses from its next run. GPU counts are fake."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Static, Switch

import densexp_tui.engine.gpu_queue as gpu_queue
import densexp_tui.tui.app as app_module
from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.userconfig import load_user_config
from densexp_tui.engine.gpu_queue import QueueMode, per_gpu_mode
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.dialogs.run_queue import RunQueueDialog
from densexp_tui.tui.training import TrainingJob, TrainingQueue
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
USERS_FILE = ('# mine\ntheme = "nord"  # my theme\nnotifications = false\n\n'
              '[keymap]\n"home.new" = "ctrl+n"\n')


@pytest.fixture
def app_with_gpus(make_app: Callable[..., DensexpApp], tui_environment: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Callable[[int], DensexpApp]:
    """An app whose user config has settings of the user's, on a machine with ``n`` GPUs."""
    tui_environment.mkdir(parents=True, exist_ok=True)
    (tui_environment / "config.toml").write_text(USERS_FILE)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def factory(n_gpus: int) -> DensexpApp:
        monkeypatch.setattr(app_module, "per_gpu_mode", lambda: per_gpu_mode(lambda: n_gpus))
        return make_app()

    return factory


def dialog_text(app: DensexpApp) -> str:
    dialog = app.screen
    assert isinstance(dialog, RunQueueDialog)
    return " ".join(str(widget.render()) for widget in dialog.query(Static))


async def open_run_queue(app: DensexpApp, pilot: object) -> RunQueueDialog:
    """ctrl+p, type the entry's name, enter: what a user does."""
    await pilot.press("ctrl+p")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), timeout=10)
    await pilot.press(*"Run queue")  # type: ignore[attr-defined]

    def offered() -> bool:
        found = app.screen.query_one(CommandList)
        highlighted = found.highlighted
        return highlighted is not None and "Run queue" in str(
            found.get_option_at_index(highlighted).prompt)

    await wait_for(pilot, offered, timeout=10)
    found = app.screen.query_one(CommandList)
    prompt = found.get_option_at_index(found.highlighted or 0).prompt
    # The help line names the setting whole (as markup, "[queue]" once vanished as a tag).
    assert "one per GPU (queue.per_gpu)" in getattr(prompt, "plain", str(prompt))
    await pilot.press("enter")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, RunQueueDialog), timeout=10)
    assert isinstance(app.screen, RunQueueDialog)
    return app.screen


async def test_switching_per_gpu_on_without_a_gpu_saves_it_and_says_one_at_a_time(
        app_with_gpus: Callable[[int], DensexpApp], tui_environment: Path) -> None:
    app = app_with_gpus(0)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.screen.query("#queue-line"), timeout=10)
        dialog = await open_run_queue(app, pilot)
        await wait_for(pilot, lambda: "GPUs found: none, so the queue runs one at a time"
                       in dialog_text(app), timeout=30)
        assert "One run at a time (per_gpu is off)" in dialog_text(app)
        assert dialog.query_one(Switch).value is False
        await pilot.press("space")  # the switch has focus
        await wait_for(pilot, lambda: "Saved: per_gpu = true" in dialog_text(app),
                       timeout=10)
        assert "per_gpu is on, but no GPU was found" in dialog_text(app)
        assert "takes effect when the queue next starts a run" in dialog_text(app)
        assert dialog.query_one(Switch).value is True
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunQueueDialog), timeout=10)
        line = str(app.screen.query_one("#queue-line", Static).render())
        assert "One at a time: per_gpu is on, but TensorFlow sees no GPU here" in line
    text = (tui_environment / "config.toml").read_text()
    assert text == USERS_FILE + "\n[queue]\nper_gpu = true\n"  # comments and keys kept
    saved = load_user_config(tui_environment / "config.toml")
    assert saved.queue_per_gpu is True
    assert (saved.theme, saved.notifications, saved.keymap) == (
        "nord", False, {"home.new": "ctrl+n"})


def _fake_child(config_path: Path | None, runs_dir: Path, run_id: str,
                resume: bool) -> list[str]:
    return [sys.executable, "-m", "tests.tui.fake_run_main", str(config_path), "--runs-dir",
            str(runs_dir), "--run-id", run_id, "--json"]


async def test_with_two_gpus_the_next_queued_runs_train_one_per_gpu(
        app_with_gpus: Callable[[int], DensexpApp], tui_environment: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the children import tests.tui
    monkeypatch.setattr(gpu_queue, "job_command", _fake_child)
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "0.5")  # 40 epochs: still training when asked
    app = app_with_gpus(2)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.screen.query("#queue-line"), timeout=10)
        dialog = await open_run_queue(app, pilot)
        await wait_for(pilot, lambda: "GPUs found: 2 (GPUs 0, 1)" in dialog_text(app),
                       timeout=30)
        await pilot.click("#per-gpu")
        await wait_for(pilot, lambda: "up to 2 at once" in dialog_text(app), timeout=10)
        assert dialog.query_one(Switch).value is True
        await pilot.press("escape")
        for name in ("a", "b"):
            cfg: RunConfig = apply_overrides(RunConfig(), [f"run.name={name}",
                                                          "train.epochs=40"])
            app.launch_run(cfg, watch=False)
        await pilot.pause()
        assert [job.gpu for job in app.training.running] == ["0", "1"]  # both at once
        # Off again: the file says so, and the runs training now keep going.
        await open_run_queue(app, pilot)
        await pilot.press("space")
        await wait_for(pilot, lambda: "One run at a time (per_gpu is off)" in dialog_text(app),
                       timeout=10)
        assert len(app.training.running) == 2
        assert load_user_config(tui_environment / "config.toml").queue_per_gpu is False
        app.training.cancel_all()
        await wait_for(pilot, lambda: not app.training.running, timeout=60)


def test_switched_on_while_a_run_trains_in_the_app_gpu_jobs_wait_for_it() -> None:
    """That run sees every GPU: a per-GPU job next to it would share its GPU."""
    queue = TrainingQueue()
    for name in ("in-app", "next"):
        queue.enqueue(TrainingJob(cfg=apply_overrides(RunConfig(), [f"run.name={name}"])))
    in_app = queue.start_next()
    assert in_app is not None and not in_app.own_process
    queue.mode = QueueMode(per_gpu=True, gpus=("0", "1"))
    assert queue.full and queue.start_next() is None
    queue.finish()
    started = queue.start_next()
    assert started is not None and started.gpu == "0" and started.own_process
