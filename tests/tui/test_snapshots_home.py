"""Snapshots of the runs screen and the New experiment screen, at 80x24 and 120x40.

Built from the one app factory (``make_app``). The runs are written with fixed times and
metrics (conftest.FIXTURE_RUNS) into ./runs of the test's own working directory, so the
header shows the same short path every time; local time is UTC. Update the baselines with
``pytest tests/tui/test_snapshots_home.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Select, Static

from densexp_tui.tui.screens.new_experiment import NewExperimentScreen
from tests.tui.conftest import FIXTURE_RUNS, wait_for, write_fixture_run

SIZES = [(80, 24), (120, 40)]


def runs_here() -> Path:
    """Fixture runs in ./runs (cwd is the test's own folder): a stable path in the header."""
    runs = Path.cwd() / "runs"
    for index, spec in enumerate(FIXTURE_RUNS):
        write_fixture_run(runs, index, spec)
    return runs


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_new_experiment(pilot: Pilot) -> None:
    """The form as `n` opens it, once the data preview and the model catalog are in."""
    app: Any = pilot.app
    await pilot.press("n")
    screen = app.screen
    assert isinstance(screen, NewExperimentScreen)
    summary = screen.query_one("#preview-summary", Static)
    await wait_for(pilot, lambda: "rows" in str(summary.content), timeout=60)
    catalog = screen.query_one("#model-catalog", Select)
    await wait_for(pilot, lambda: catalog.value == "tiny-bert", timeout=30)
    # The preview's rows are measured on the table's idle and the form is laid out after
    # that, both of which a loaded machine delays: the snapshot once caught the table empty,
    # and once the form's scrollbar sized for a table of no height. So wait until the table
    # has its full height on the screen (header and every row).
    table = screen.query_one("#preview-table", DataTable)
    await wait_for(pilot, lambda: table.row_count > 0
                   and table.size.height > table.row_count, timeout=30)
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home(snap_compare: Any, make_app: Callable[..., Any], size: tuple[int, int]) -> None:
    app = make_app(runs_dir=runs_here())
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home_marked_and_filtered(snap_compare: Any, make_app: Callable[..., Any],
                                  size: tuple[int, int]) -> None:
    app = make_app(runs_dir=runs_here())
    assert snap_compare(app, terminal_size=size,
                        press=["space", "space", "slash", "r", "e", "v", "enter"],
                        run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_new_experiment(snap_compare: Any, make_app: Callable[..., Any],
                        size: tuple[int, int]) -> None:
    app = make_app(runs_dir=runs_here())
    assert snap_compare(app, terminal_size=size, run_before=open_new_experiment)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_new_experiment_with_a_field_error(snap_compare: Any, make_app: Callable[..., Any],
                                           size: tuple[int, int]) -> None:
    async def bad_learning_rate(pilot: Pilot) -> None:
        await open_new_experiment(pilot)
        await pilot.press("ctrl+n", "ctrl+n")
        screen: Any = pilot.app.screen
        screen.config_field("train.learning_rate").editor.focus()
        await pilot.press("end", "ctrl+u", "minus", "1", "tab")
        await settle(pilot)

    app = make_app(runs_dir=runs_here())
    assert snap_compare(app, terminal_size=size, run_before=bad_learning_rate)
