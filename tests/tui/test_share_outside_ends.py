"""Runs launched elsewhere (another terminal's ``densexp run``, a sweep worker) that end while
the app is open are announced as the app's own: a toast, bell and OSC unless off.

The test process plays the other terminal: it writes a run folder as ``running`` (owned by
a live ``sleep`` process, so the store keeps it running), waits until the runs screen shows
it, then rewrites its summary as ``completed``/``failed``, as a finishing trainer does.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import psutil
import pytest
from textual.widgets import DataTable

from densexp_tui.core.runstore import RunSummary
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.run_watch import ended_since, launched_elsewhere
from densexp_tui.tui.screens import home
from densexp_tui.tui.screens.dashboard import DashboardScreen
from densexp_tui.tui.screens.help import HelpScreen
from tests.tui.conftest import FIXTURE_RUNS, cells, wait_for, write_fixture_run

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(autouse=True)
def desktop_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENSEXP_DESKTOP_NOTIFY", "1")
    monkeypatch.delenv("TMUX", raising=False)


@pytest.fixture()
def other_process() -> Iterator[psutil.Process]:
    """A live process standing for the other terminal's trainer."""
    proc = subprocess.Popen(["sleep", "300"])
    try:
        yield psutil.Process(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def _write_running(runs_dir: Path, index: int, name: str, owner: psutil.Process) -> Path:
    run_id = write_fixture_run(runs_dir, index, (name, *FIXTURE_RUNS[0][1:]))
    path = runs_dir / run_id / "summary.json"
    summary = json.loads(path.read_text())
    summary.update(status="running", pid=owner.pid, pid_started=owner.create_time(),
                   host=socket.gethostname(), finished=None, duration=None, best={})
    path.write_text(json.dumps(summary))
    return path


def _finish(path: Path, status: str, **fields: Any) -> None:
    """Rewrite the summary as the finishing trainer does (temp file, then rename)."""
    summary = {**json.loads(path.read_text()), "status": status, **fields}
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(summary))
    os.replace(temp, path)


def _capture_driver(app: DensexpApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    written: list[str] = []
    monkeypatch.setattr(app._driver, "write", written.append)
    return written


def _alerts(written: list[str]) -> list[str]:
    """What the driver wrote that is a bell or a desktop notification escape."""
    return [w for w in written if w.startswith("\a") or
            any(osc in w for osc in ("\x1b]9;", "\x1b]99;", "\x1b]777;"))]


def _messages(app: DensexpApp) -> list[str]:
    return [n.message for n in app._notifications]


def _row_status(app: DensexpApp, name: str) -> str:
    return next((row[2] for row in cells(app) if row[1] == name), "")


@pytest.mark.parametrize("listing", ["sync", "worker"])
async def test_a_run_from_another_terminal_ending_is_announced(
        make_app: Callable[..., DensexpApp], runs_dir: Path, other_process: psutil.Process,
        monkeypatch: pytest.MonkeyPatch, listing: str) -> None:
    if listing == "worker":  # as for a big runs dir: the listing runs in a thread worker
        monkeypatch.setattr(home, "few_runs", lambda root, limit: False)
    path = _write_running(runs_dir, 1, "elsewhere", other_process)
    app = make_app()
    async with app.run_test() as pilot:
        written = _capture_driver(app, monkeypatch)
        await wait_for(pilot, lambda: "running" in _row_status(app, "elsewhere"), timeout=20)
        _finish(path, "completed", best={"loss": 0.3, "accuracy": 0.912, "f1": 0.9})
        await wait_for(pilot, lambda: any("elsewhere completed" in m for m in _messages(app)),
                       timeout=20)
        assert "elsewhere completed (best val accuracy 0.912)" in _messages(app)
        assert any(w.startswith("\a") and
                   "\x1b]777;notify;densexp: run completed;elsewhere completed" in w
                   for w in written), written


async def test_announced_while_the_user_looks_at_another_screen(
        make_app: Callable[..., DensexpApp], runs_dir: Path, other_process: psutil.Process,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_running(runs_dir, 1, "far-sweep-t3", other_process)
    app = make_app()
    async with app.run_test() as pilot:
        written = _capture_driver(app, monkeypatch)
        await wait_for(pilot, lambda: "running" in _row_status(app, "far-sweep-t3"),
                       timeout=20)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=10)
        _finish(path, "failed", message="ResourceExhaustedError: out of memory")
        await wait_for(pilot, lambda: any("far-sweep-t3 failed" in m for m in _messages(app)),
                       timeout=20)
        assert isinstance(app.screen, HelpScreen)  # the user never left the help screen
        assert "far-sweep-t3 failed (ResourceExhaustedError: out of memory)" in _messages(app)
        assert any("\x1b]9;densexp: run failed: far-sweep-t3 failed" in w for w in written)


async def test_own_runs_and_own_sweeps_are_not_announced_twice(
        make_app: Callable[..., DensexpApp], runs_dir: Path, other_process: psutil.Process,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The app announces its own runs when their worker ends, its sweeps when they end."""
    mine = _write_running(runs_dir, 1, "mine", psutil.Process(os.getpid()))
    trial = _write_running(runs_dir, 2, "my-trial", other_process)
    _finish(trial, "running", sweep="my-search")
    other = _write_running(runs_dir, 3, "theirs", other_process)
    app = make_app()
    async with app.run_test() as pilot:
        app._own_sweeps.add("my-search")  # what SweepStarted records when the app launches it
        await wait_for(pilot, lambda: all("running" in _row_status(app, name)
                                          for name in ("mine", "my-trial", "theirs")), 20)
        for path in (mine, trial, other):
            _finish(path, "completed")
        await wait_for(pilot, lambda: all("✓" in _row_status(app, name)
                                          for name in ("mine", "my-trial", "theirs")), 20)
        await pilot.pause()
        assert [m for m in _messages(app) if "completed" in m] == ["theirs completed"]


async def test_notifications_off_keeps_the_toast_only(
        make_app: Callable[..., DensexpApp], runs_dir: Path, other_process: psutil.Process,
        monkeypatch: pytest.MonkeyPatch, tui_environment: Path) -> None:
    tui_environment.mkdir(parents=True, exist_ok=True)
    (tui_environment / "config.toml").write_text("notifications = false\n")
    path = _write_running(runs_dir, 1, "quiet", other_process)
    app = make_app()
    async with app.run_test() as pilot:
        written = _capture_driver(app, monkeypatch)
        await wait_for(pilot, lambda: "running" in _row_status(app, "quiet"), timeout=20)
        _finish(path, "diverged", message="loss became NaN")
        await wait_for(pilot, lambda: any("quiet diverged" in m for m in _messages(app)), 20)
        assert not _alerts(written), written


async def test_a_run_started_elsewhere_under_another_screen_is_announced(
        make_app: Callable[..., DensexpApp], runs_dir: Path, other_process: psutil.Process,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Under another screen the runs screen still lists now and then: it finds new runs."""
    monkeypatch.setattr(home, "HIDDEN_LIST_SECONDS", 1.0)
    app = make_app()
    async with app.run_test() as pilot:
        runs_screen = app.screen
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=10)
        path = _write_running(runs_dir, 1, "late-start", other_process)
        table = runs_screen.query_one("#runs-table", DataTable)
        await wait_for(pilot, lambda: any("late-start" in str(row) for row in (
            table.get_row_at(i) for i in range(table.row_count))), timeout=20)
        _finish(path, "completed")
        await wait_for(pilot, lambda: "late-start completed" in _messages(app), timeout=20)
        assert isinstance(app.screen, HelpScreen)


async def test_watching_that_run_gives_the_toast_without_the_bell(
        make_app: Callable[..., DensexpApp], runs_dir: Path, other_process: psutil.Process,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_running(runs_dir, 1, "followed", other_process)
    app = make_app()
    async with app.run_test() as pilot:
        written = _capture_driver(app, monkeypatch)
        await wait_for(pilot, lambda: "running" in _row_status(app, "followed"), timeout=20)
        app.open_run(path.parent.name, live=True)
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), timeout=20)
        _finish(path, "completed")
        await wait_for(pilot, lambda: "followed completed" in _messages(app), timeout=20)
        assert not _alerts(written), written


def test_ended_since_keeps_the_runs_that_left_running() -> None:
    now = [RunSummary("a", status="completed"), RunSummary("b", status="running"),
           RunSummary("c", status="failed")]
    assert [s.run_id for s in ended_since(["a", "b"], now)] == ["a"]
    assert ended_since([], now) == []  # the first look announces nothing


def test_launched_elsewhere() -> None:
    assert launched_elsewhere(RunSummary("a", pid=os.getpid() + 1), set())
    assert not launched_elsewhere(RunSummary("a", pid=os.getpid()), set())
    assert not launched_elsewhere(RunSummary("a", pid=1, sweep="s"), {"s"})
    assert launched_elsewhere(RunSummary("a", pid=1, sweep="s"), {"t"})
