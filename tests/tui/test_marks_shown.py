"""Marks as the user sees them: the ● on each marked run, the "N marked" count line, the
footer's keys, and compare of the marked runs, also after a writer's new runs have moved
every row. A mark redraws only its row and the count line (HomeScreen._redraw_marks), so
nothing else may fall behind; both listing paths (on the UI thread and, past SYNC_LIMIT,
windows from the index in workers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static

from densexp_tui.core.statuses import RESUMABLE_STATUSES
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.home import SYNC_LIMIT, HomeScreen
from densexp_tui.tui.widgets.runs_table import RunsTable
from tests.runs_factory import generate_runs
from tests.tui.conftest import wait_for
from tests.tui.test_footers import shown

pytestmark = pytest.mark.timeout(180)


def home(app: DensexpApp) -> HomeScreen:
    assert isinstance(app.screen, HomeScreen)
    return app.screen


def count_line(app: DensexpApp) -> str:
    return str(app.screen.query_one("#queue-line", Static).content)


def marks_drawn(app: DensexpApp) -> dict[str, str]:
    """Each row's run and the mark cell the table paints for it."""
    table = app.screen.query_one("#runs-table", RunsTable)
    out = {}
    for row in range(table.row_count):
        key = table.coordinate_to_cell_key((row, 0))[0].value or ""  # type: ignore[arg-type]
        out[key] = table.get_cell(key, "mark").plain
    return out


def footer_for_selection(app: DensexpApp, first: list[str]) -> list[str]:
    """The footer the screen offers for the selected run: the keys it showed at the start,
    with Resume in the Re-run slot for a run that can continue (and Re-run otherwise)."""
    run = home(app).selected_run()
    turn = "Resume" if run is not None and run.status in RESUMABLE_STATUSES else "Re-run"
    return [turn if key in ("Resume", "Re-run") else key for key in first]


@pytest.mark.parametrize("count", [60, SYNC_LIMIT * 3 // 2], ids=["in-memory", "windowed"])
async def test_marks_count_line_footer_and_compare_survive_a_writer(
        make_app: Callable[..., DensexpApp], tmp_path: Path, count: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "runs"
    generate_runs(root, count)
    app = make_app(runs_dir=root)
    compared: list[list[str]] = []
    monkeypatch.setattr(app, "open_compare", compared.append)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: count_line(app) == f"{count} runs", timeout=60)
        screen = home(app)
        await wait_for(pilot, lambda: "Resume" in shown(app) or "Re-run" in shown(app),
                       timeout=10)
        first = shown(app)
        assert {"Open", "Mark", "Compare"} <= set(first)

        newest = list(marks_drawn(app))
        await pilot.press("space", "space", "space")  # the cursor moves on after each
        marked = newest[:3]
        await wait_for(pilot, lambda: shown(app) == footer_for_selection(app, first),
                       timeout=10)
        assert count_line(app) == f"{count} runs · 3 marked"
        drawn = marks_drawn(app)
        assert [drawn[run] for run in newest[:5]] == ["●", "●", "●", " ", " "]
        assert screen.selected_run_id() == newest[3]

        added = generate_runs(root, 3, start_index=count)  # newer: every row moves down
        await wait_for(pilot, lambda: list(marks_drawn(app))[0] == added[-1]
                       and count_line(app).startswith(f"{count + 3} runs"), timeout=30)
        assert count_line(app) == f"{count + 3} runs · 3 marked"
        drawn = marks_drawn(app)
        assert [run for run, mark in drawn.items() if mark == "●"] == marked
        assert screen.selected_run_id() == newest[3]  # the cursor stayed on its run
        assert shown(app) == footer_for_selection(app, first)

        await pilot.press("up", "space")  # unmark the third: the cursor moves back down
        assert count_line(app) == f"{count + 3} runs · 2 marked"
        assert marks_drawn(app)[marked[2]] == " "
        await wait_for(pilot, lambda: shown(app) == footer_for_selection(app, first),
                       timeout=10)
        await pilot.press("c")
        assert compared == [marked[:2]]  # the marked runs, in table order

        await pilot.press("up", "up", "up", "space", "space")
        assert count_line(app) == f"{count + 3} runs"  # no marks: no "marked"
        assert "●" not in marks_drawn(app).values()
