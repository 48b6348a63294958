"""The runs screen: listing, live refresh, filter, marks and compare, delete, re-run, queue."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Callable

import psutil
import pytest
from textual.widgets import Input, Static

from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.tui import app as app_module
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.dialogs import ConfirmDialog
from densexp_tui.tui.screens.home import HomeScreen
from densexp_tui.tui.screens.new_experiment import NewExperimentScreen
from densexp_tui.tui.training import ActiveJob
from tests.tui.conftest import FIXTURE_RUNS, cells, shown_error_dialog, wait_for, write_fixture_run

NEWEST_FIRST = [spec[0] for spec in reversed(FIXTURE_RUNS)]


def home(app: DensexpApp) -> HomeScreen:
    assert isinstance(app.screen, HomeScreen), app.screen
    return app.screen


def queue_line(app: DensexpApp) -> str:
    return str(app.screen.query_one("#queue-line", Static).content)


async def test_lists_runs_newest_first_with_their_status(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)):
        rows = cells(app)
        assert [row[1] for row in rows] == NEWEST_FIRST
        by_name = {row[1]: row for row in rows}
        assert by_name["quickstart"][2] == "✓ completed"
        assert by_name["quickstart"][3:5] == ["0.873", "0.869"]
        assert by_name["lr-too-high"][2] == "↯ diverged"
        assert by_name["imdb-bitfit"][2] == "! interrupted"
        assert by_name["lora-r8"][11] == "4.1%"  # trainable share: LoRA trains few weights
        assert by_name["quickstart"][10] == "03-01 09:00"
        assert "7 runs" in queue_line(app)


async def test_status_colour_comes_from_the_theme(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        table = app.screen.query_one("#runs-table")
        failed_row = NEWEST_FIRST.index("big-batch")
        status = table.get_row_at(failed_row)[2]
        assert app.theme_variables["status-failed"].lower() in str(status.style).lower()
        app.theme = "densexp-light"
        await pilot.pause()
        status = table.get_row_at(failed_row)[2]
        assert app.theme_variables["status-failed"].lower() in str(status.style).lower()


async def test_new_runs_appear_while_the_app_is_open(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        write_fixture_run(fixture_runs, 99, ("late-arrival", *FIXTURE_RUNS[0][1:]))
        await wait_for(pilot, lambda: any(row[1] == "late-arrival" for row in cells(app)),
                       timeout=10)


async def test_filter_by_typing(make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("slash")
        assert isinstance(app.focused, Input) and app.focused.id == "filter"
        await pilot.press(*"mlp")
        assert sorted(row[1] for row in cells(app)) == ["iris-mlp", "wine-long"]
        await pilot.press("space", *"wine")
        assert [row[1] for row in cells(app)] == ["wine-long"]
        await pilot.press("enter")
        assert app.focused.id == "runs-table"
        await pilot.press("escape")
        assert len(cells(app)) == len(FIXTURE_RUNS)


async def test_delete_asks_first(make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        first = sorted(fixture_runs.iterdir())[-1]  # newest: the selected row
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert first.exists()
        await pilot.press("d", "y")
        assert not first.exists()
        assert [row[1] for row in cells(app)] == NEWEST_FIRST[1:]


async def test_delete_is_refused_for_a_running_run(
        make_app: Callable[..., DensexpApp], runs_dir: Path) -> None:
    run_id = write_fixture_run(runs_dir, 0, FIXTURE_RUNS[0])
    summary_path = runs_dir / run_id / "summary.json"
    summary = json.loads(summary_path.read_text())
    me = psutil.Process(os.getpid())  # alive: the store keeps it 'running'
    summary.update(status="running", pid=me.pid, pid_started=me.create_time(),
                   host=__import__("socket").gethostname(), duration=None)
    summary_path.write_text(json.dumps(summary))
    app = make_app()
    async with app.run_test() as pilot:
        assert cells(app)[0][2] == "▶ running"
        await pilot.press("d")
        assert isinstance(app.screen, HomeScreen)  # no question: refused outright
        assert any("still running" in n.message for n in app._notifications)
        assert (runs_dir / run_id).exists()


async def test_marks_pick_runs_to_compare(make_app: Callable[..., DensexpApp],
                                          fixture_runs: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[list[str]] = []
    app = make_app()
    monkeypatch.setattr(app, "open_compare", compared.append)
    async with app.run_test() as pilot:
        await pilot.press("c")
        assert compared == []  # nothing marked: a hint, not a compare
        await pilot.press("space", "space")  # marks the first two rows (cursor moves down)
        assert [row[0] for row in cells(app)[:3]] == ["●", "●", " "]
        await pilot.press("c")
        ids = sorted(fixture_runs.iterdir(), reverse=True)
        assert compared == [[ids[0].name, ids[1].name]]


async def test_a_mark_is_drawn_on_its_row_and_unmarking_clears_it(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    """The mark is redrawn in place (RunsTable.set_cell drops only that row's render
    caches): what the terminal shows must follow, row by row."""
    from textual.widgets import DataTable

    def drawn(table: DataTable, row: int) -> str:  # the row as painted, header is line 0
        return table.render_line(row + 1).text

    app = make_app()
    async with app.run_test() as pilot:
        table = app.screen.query_one("#runs-table", DataTable)
        before = [drawn(table, row) for row in range(3)]
        assert all("●" not in line for line in before)
        await pilot.press("space", "space")
        assert ["●" in drawn(table, row) for row in range(3)] == [True, True, False]
        await pilot.press("up", "up", "space")  # unmark the first; the second stays
        assert ["●" in drawn(table, row) for row in range(3)] == [False, True, False]
        assert drawn(table, 2) == before[2]


async def test_rerun_opens_the_form_with_the_runs_settings(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, NewExperimentScreen)
        newest = sorted(fixture_runs.iterdir())[-1].name
        assert screen.parent_id == newest
        assert screen.config_field("run.name").raw_text() == "imdb-bitfit"
        assert screen.config_field("model.finetune").raw_text() == "bitfit"
        cfg, problems = screen.collect()
        assert problems == [] and cfg is not None and cfg.run.parent == newest


def _blocking_job(job: Any, store: Any, active: ActiveJob, post: Any) -> None:
    """A stand-in trainer: trains nothing, ends when cancelled (the queue is under test)."""
    try:
        active.cancel.wait(timeout=60)
    finally:
        active.done.set()


def _config(name: str) -> RunConfig:
    return apply_overrides(RunConfig(), [f"run.name={name}"])


async def test_queue_shows_the_runs_waiting(make_app: Callable[..., DensexpApp],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "run_job", _blocking_job)
    app = make_app()
    async with app.run_test() as pilot:
        app.launch_run(_config("first"), watch=False)
        app.launch_run(_config("second"), watch=False)
        app.launch_run(_config("third"), watch=False)
        await pilot.pause()
        line = queue_line(app)
        assert "▶ first" in line and "Queued: 2 (second, third)" in line
        first = app.training.active
        assert first is not None and first.job.name == "first"
        app.cancel_run()  # the first ends: the next one in line starts
        await wait_for(pilot, lambda: app.training.active is not None
                       and app.training.active.job.name == "second", timeout=10)
        assert "Queued: 1 (third)" in queue_line(app)
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmDialog)
        assert "1 queued run will not start" in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, timeout=10)
    assert not app.training.pending


async def test_quit_without_training_does_not_ask(make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, timeout=5)
    assert app.return_value == 0


async def test_footer_offers_resume_only_for_a_run_that_can_continue(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = home(app)

        def offered() -> set[str]:
            return {active.binding.action for active in screen.active_bindings.values()}

        await wait_for(pilot, lambda: screen.selected_run() is not None, timeout=10)
        assert screen.selected_run().status == "interrupted"  # newest first
        await wait_for(pilot, lambda: "resume_run" in offered(), timeout=10)
        assert "rerun" not in offered()
        while screen.selected_run().status != "completed":
            await pilot.press("down")
        await wait_for(pilot, lambda: "rerun" in offered(), timeout=10)
        assert "resume_run" not in offered()


def test_blocking_job_stops_on_cancel() -> None:
    """The stand-in above really ends when cancelled (else the queue test would hang)."""
    active = ActiveJob(job=None)  # type: ignore[arg-type]
    thread = threading.Thread(target=_blocking_job, args=(None, None, active, None))
    thread.start()
    active.cancel.set()
    thread.join(timeout=5)
    assert active.done.is_set()


def _crashing_job(job: Any, store: Any, active: ActiveJob, post: Any) -> None:
    """A stand-in trainer that creates its run, prints to its log, then crashes."""
    from densexp_tui.tui.training import TrainingStarted

    try:
        handle = store.create_run(job.cfg)
        handle.log_path.write_text("loading…\nTraceback (most recent call last):\n"
                                   "RuntimeError: the GPU caught fire\n")
        post(TrainingStarted(handle.run_id))
        raise RuntimeError("the GPU caught fire")
    finally:
        active.done.set()


def _bad_input_job(job: Any, store: Any, active: ActiveJob, post: Any) -> None:
    from densexp_tui.core.errors import DataError

    active.done.set()
    raise DataError("not found; allowed: an existing csv file", file="x.csv", key="data.path")


async def test_a_crashing_worker_shows_the_log_and_the_run_is_not_left_running(
        make_app: Callable[..., DensexpApp], runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.core.runstore import RunStore

    monkeypatch.setattr(app_module, "run_job", _crashing_job)
    app = make_app()
    async with app.run_test() as pilot:
        app.launch_run(_config("doomed"), watch=False)
        await wait_for(pilot, lambda: shown_error_dialog(app) is not None, timeout=10)
        dialog = app.screen
        assert "the GPU caught fire" in dialog.message
        assert dialog.log_path is not None and dialog.log_path.name == "log.txt"
        log = dialog.query_one("#error-log")
        await wait_for(pilot, lambda: "RuntimeError: the GPU caught fire" in log.lines,
                       timeout=10)
        await pilot.press("escape")
        assert app.is_running and not app.training.busy
        assert RunStore(runs_dir).list_runs()[0].status == "failed"


async def test_bad_input_before_the_run_is_one_line(
        make_app: Callable[..., DensexpApp], runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "run_job", _bad_input_job)
    app = make_app()
    async with app.run_test() as pilot:
        app.launch_run(_config("typo"), watch=False)
        await wait_for(pilot, lambda: shown_error_dialog(app) is not None, timeout=10)
        assert app.screen.message == "x.csv: data.path: not found; allowed: an existing csv file"
        assert app.screen.log_path is None
        assert not runs_dir.exists() or not any(runs_dir.iterdir())
