"""Rows shifting under a writer: new runs at the top and deleted ones move every row, and the
runs table reorders its rows in place and reuses each line drawn for the same run
(widgets/runs_table.py). What the user sees must still be right: every row the run it says,
in order, the cursor on the run it was on, marks on their runs, and every painted line (text,
colours and the row number clicks hit) what a table drawing from nothing paints.

Both listing paths: a few dozen runs (listed on the UI thread) and past SYNC_LIMIT (windows
from the index in workers, as at 100,000 runs)."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Static

from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.home import SYNC_LIMIT, HomeScreen
from densexp_tui.tui.widgets.runs_table import COLUMNS, Cells, RunsTable
from tests.runs_factory import generate_runs
from tests.tui.conftest import cells, wait_for

pytestmark = pytest.mark.timeout(240)


def table_of(app: DensexpApp) -> RunsTable:
    return app.screen.query_one("#runs-table", RunsTable)


def home(app: DensexpApp) -> HomeScreen:
    assert isinstance(app.screen, HomeScreen)
    return app.screen


def row_keys(table: RunsTable) -> list[str]:
    return [table.coordinate_to_cell_key((row, 0))[0].value or ""  # type: ignore[arg-type]
            for row in range(table.row_count)]


def painted(table: RunsTable) -> list[Strip]:
    """The table's lines as the terminal has them (the line caches as they stand)."""
    return table.render_lines(Region(0, 0, table.size.width, table.size.height))


def painted_from_nothing(table: RunsTable) -> list[Strip]:
    """The same lines with every cache dropped, each drawn by DataTable itself."""
    if hasattr(table, "_lines"):  # RunsTable's own line cache and line drawing
        table._lines.clear()
        table.short_lines = False
    table._clear_caches()
    try:
        return painted(table)
    finally:
        table._clear_caches()  # nothing DataTable drew stays in RunsTable's line cache
        table.short_lines = True


def newest_first(root: Path) -> list[str]:
    return sorted((p.name for p in root.iterdir() if not p.name.startswith(".")),
                  reverse=True)


def train_a_little(root: Path, run_id: str, epochs_done: int) -> None:
    """Rewrite ``run_id``'s summary as a trainer does: running (this process), N epochs."""
    path = root / run_id / "summary.json"
    summary = json.loads(path.read_text())
    summary.update(status="running", pid=os.getpid(), host=os.uname().nodename,
                   pid_started=None, epochs_done=epochs_done)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(summary))
    os.replace(temporary, path)


def count_line(app: DensexpApp) -> str:
    return str(app.screen.query_one("#queue-line", Static).content)


def assert_shows_right(app: DensexpApp, root: Path, cursor_run: str, marked: set[str]) -> None:
    table = table_of(app)
    keys = row_keys(table)
    assert keys == newest_first(root)[:len(keys)]  # every row, in order, no stale one
    for key, row in zip(keys, cells(app), strict=True):
        summary = json.loads((root / key / "summary.json").read_text())
        assert row[1] == summary["name"], key
        assert row[8] == f"{summary['epochs_done']}/{summary['epochs']}", key
        assert row[0] == ("●" if key in marked else " "), key
    assert home(app).selected_run_id() == cursor_run
    assert home(app).marked == marked
    warm = painted(table)
    assert warm == painted_from_nothing(table)
    on_screen = [strip.text for strip in warm]
    cursor_line = table.cursor_row + 1 - int(table.scroll_y)  # line 0 is the header
    assert 0 < cursor_line < len(on_screen)
    cursor_name = cells(app)[table.cursor_row][1]
    assert cursor_name in on_screen[cursor_line]


@pytest.mark.parametrize("count", [60, SYNC_LIMIT * 3 // 2], ids=["in-memory", "windowed"])
async def test_runs_added_and_deleted_above_keep_cursor_marks_and_rows_right(
        make_app: Callable[..., DensexpApp], tmp_path: Path, count: int) -> None:
    root = tmp_path / "runs"
    generate_runs(root, count)
    app = make_app(runs_dir=root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: count_line(app).startswith(f"{count} runs")
                       and "checking" not in count_line(app), timeout=60)
        table = table_of(app)
        await pilot.press(*["down"] * 5, "space", "space")  # mark rows 5 and 6
        keys = row_keys(table)
        marked = {keys[5], keys[6]}
        await pilot.press(*["down"] * 40)  # past the bottom: the table has scrolled
        assert table.scroll_y > 0
        cursor_run = row_keys(table)[table.cursor_row]
        assert_shows_right(app, root, cursor_run, marked)

        added = generate_runs(root, 3, start_index=count)  # newer: at the top
        train_a_little(root, added[0], 1)
        await wait_for(pilot, lambda: row_keys(table)[0] == added[-1]
                       and cells(app)[2][8] == "1/3", timeout=30)
        assert_shows_right(app, root, cursor_run, marked)

        # A new run and a running run's new epoch in the same refresh: the rows move and
        # a moved row's cells change at once.
        added += generate_runs(root, 1, start_index=count + 3)
        train_a_little(root, added[0], 2)
        await wait_for(pilot, lambda: row_keys(table)[0] == added[-1], timeout=30)
        await wait_for(pilot, lambda: cells(app)[3][8] == "2/3", timeout=30)
        assert_shows_right(app, root, cursor_run, marked)

        await pilot.press("space")  # the mark lands on the run under the cursor
        marked.add(cursor_run)
        cursor_run = row_keys(table)[table.cursor_row]
        assert_shows_right(app, root, cursor_run, marked)

        gone = [added[-1], row_keys(table)[3]]  # rm -rf of two runs above the cursor
        for run_id in gone:
            shutil.rmtree(root / run_id)
        await wait_for(pilot, lambda: not set(gone) & set(row_keys(table)), timeout=30)
        assert_shows_right(app, root, cursor_run, marked)

        await pilot.press(*["up"] * 60)  # back to the top: the lines drawn there follow
        assert table.scroll_y == 0
        assert_shows_right(app, root, row_keys(table)[table.cursor_row], marked)


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield RunsTable(id="runs-table", cursor_type="row", zebra_stripes=True)


def made_up_row(number: int, version: int = 0) -> Cells:
    """A row's texts; ``version`` changes what it says (a running run's new epoch)."""
    texts = [" ", f"run-{number}", "✓ completed", f"0.{number % 1000:03d}", "-", "iris",
             "mlp", "full", f"{version}/9", f"0:{version:02d}", "03-01 09:00", "100%"]
    assert len(texts) == len(COLUMNS)
    return tuple(texts)


async def test_random_shifts_edits_and_scrolls_paint_as_a_table_drawn_from_nothing() -> None:
    """Many refreshes of a made-up list: runs added at the top and in between, some gone
    (sometimes the cursor's), some rows' texts changed, the cursor moved and scrolled
    between them. After each, the rows, the cursor's run and every painted line must be
    right."""
    rng = random.Random(7)
    shown = list(range(200, 140, -1))  # newest first, like the runs list
    versions = {number: 0 for number in shown}
    next_number = 201
    cursor_gone = 0
    app = OneTable()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(RunsTable)
        table.show_rows({f"r{n}": made_up_row(n) for n in shown})
        await pilot.pause()
        for _step in range(25):
            cursor_run = table.cursor_key()
            added = list(range(next_number, next_number + rng.randint(0, 4)))
            next_number += len(added)
            kept = [n for n in shown
                    if rng.random() > (0.2 if f"r{n}" == cursor_run else 0.05)]
            inserted_at = rng.randint(0, len(kept))
            shown = added[::-1] + kept[:inserted_at] + ([next_number] if rng.random() < .3
                                                        else []) + kept[inserted_at:]
            next_number += 1
            for number in rng.sample(shown, 3):  # new epochs
                versions[number] = versions.get(number, 0) + 1
            rows = {f"r{n}": made_up_row(n, versions.get(n, 0)) for n in shown}
            table.show_rows(rows)
            await pilot.pause()
            assert row_keys(table) == list(rows)
            assert [tuple(cell.plain for cell in table.get_row_at(i))
                    for i in range(table.row_count)] == list(rows.values())
            if cursor_run in rows:
                assert table.cursor_key() == cursor_run
            else:  # its run is gone (filtered out, deleted): back to the top
                assert table.cursor_row == 0 and table.scroll_y == 0
                cursor_gone += 1
            assert painted(table) == painted_from_nothing(table)
            lines = [strip.text for strip in painted(table)]
            top = int(table.scroll_y)
            for line, key in zip(lines[1:], list(rows)[top:], strict=False):
                assert f" {rows[key][1]} " in line and f" {rows[key][8]} " in line, key
            await pilot.press(*rng.choice([["down"] * rng.randint(1, 30),
                                           ["up"] * rng.randint(1, 30), []]))
        assert cursor_gone > 0  # the seed does take the cursor's run away, sometimes
