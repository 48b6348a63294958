"""Run ends announced in the app: bell and OSC through the driver, unless watched or off."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest

from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.tui import app as app_module
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.end_notice import SweepEnded
from densexp_tui.tui.screens.dashboard import DashboardScreen
from densexp_tui.tui.training import ActiveJob, TrainingStarted
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)


def _diverging_job(job: Any, store: Any, active: ActiveJob, post: Any) -> Any:
    """A stand-in trainer: creates its run, announces it, ends diverged."""
    try:
        handle = store.create_run(job.cfg)
        post(TrainingStarted(handle.run_id))
        active.cancel.wait(timeout=0.5)  # the dashboard (if watched) opens meanwhile
        return SimpleNamespace(status="diverged", message="loss is nan", run_id=handle.run_id,
                               best={})
    finally:
        active.done.set()


def _config(name: str) -> RunConfig:
    return apply_overrides(RunConfig(), [f"run.name={name}"])


@pytest.fixture(autouse=True)
def desktop_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENSEXP_DESKTOP_NOTIFY", "1")
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.setattr(app_module, "run_job", _diverging_job)


def _capture_driver(app: DensexpApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    written: list[str] = []
    monkeypatch.setattr(app._driver, "write", written.append)
    return written


async def test_a_run_ending_elsewhere_rings_and_notifies(
        make_app: Callable[..., DensexpApp], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        written = _capture_driver(app, monkeypatch)
        app.launch_run(_config("far-away"), watch=False)  # the user stays on the runs screen
        await wait_for(pilot, lambda: app.training.active is None and
                       any("\x1b]777" in w for w in written), timeout=60)
        alert = next(w for w in written if "\x1b]777" in w)
        assert alert.startswith("\a")
        assert "\x1b]9;densexp: run diverged: far-away diverged\a" in alert
        assert "\x1b]777;notify;densexp: run diverged;far-away diverged\a" in alert
        assert any("far-away" in n.message for n in app._notifications)


async def test_no_alert_while_watching_the_run(
        make_app: Callable[..., DensexpApp], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        written = _capture_driver(app, monkeypatch)
        app.launch_run(_config("watched"), watch=True)
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), timeout=30)
        await wait_for(pilot, lambda: app.training.active is None and not app.training.busy,
                       timeout=60)
        await pilot.pause()
        assert not [w for w in written if "\x1b]9" in w or "\x1b]777" in w or w == "\a"], written


async def test_notifications_off_in_the_user_config(
        make_app: Callable[..., DensexpApp], monkeypatch: pytest.MonkeyPatch,
        tui_environment: Path) -> None:
    tui_environment.mkdir(parents=True, exist_ok=True)
    (tui_environment / "config.toml").write_text("notifications = false\n")
    app = make_app()
    async with app.run_test() as pilot:
        written = _capture_driver(app, monkeypatch)
        app.launch_run(_config("quiet"), watch=False)
        await wait_for(pilot, lambda: app.training.active is None and not app.training.busy,
                       timeout=60)
        app.post_message(SweepEnded("search", 1))
        await pilot.pause()
        assert not [w for w in written if "\x1b]9" in w or "\x1b]777" in w or w == "\a"], written


async def test_a_sweep_ending_is_announced(make_app: Callable[..., DensexpApp],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        written = _capture_driver(app, monkeypatch)
        app.post_message(SweepEnded("lr-search", 0))
        await wait_for(pilot, lambda: any("lr-search" in w for w in written), timeout=10)
        assert any("densexp: sweep completed;lr-search completed (exit 0)" in w
                   for w in written)
