"""RunsTable draws one-line text cells itself (rich's general path cost ~0.3 ms a cell):
every cell it draws must be, segment for segment and style for style, what DataTable draws,
with and without the cursor, on both zebra stripes, in both themes."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from rich.text import Text
from textual.widgets import DataTable

from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.widgets.runs_table import RunsTable, plain_cell_lines

pytestmark = pytest.mark.timeout(60)


def both_ways(table: RunsTable, row: int, column: int, cursor: bool, hover: bool
              ) -> tuple[object, object]:
    base = table.rich_style
    width = table.ordered_columns[column].get_render_width(table)
    table._cell_render_cache.clear()
    short = table._render_plain_cell(row, column, base, width, cursor, hover)
    table._cell_render_cache.clear()
    rich_way = DataTable._render_cell(table, row, column, base, width, cursor, hover)
    return short, rich_way


async def test_short_path_draws_every_cell_as_datatable_does(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")  # a mark cell with its own style
        table = app.screen.query_one("#runs-table", RunsTable)
        for theme in ("densexp-light", app.theme):
            app.theme = theme
            await pilot.pause()
            drawn = 0
            for row in range(table.row_count):
                for column in range(len(table.ordered_columns)):
                    for cursor, hover in ((False, False), (True, False), (False, True)):
                        short, rich_way = both_ways(table, row, column, cursor, hover)
                        assert short is not None, (row, column)
                        assert short == rich_way, (row, column, cursor, hover)
                        drawn += 1
            assert drawn == table.row_count * 12 * 3


def test_cells_rich_must_lay_out_go_the_long_way() -> None:
    assert plain_cell_lines(Text("two\nlines", justify="left"), 20, 1) is None
    assert plain_cell_lines(Text("much too wide for it", justify="left"), 5, 1) is None
    assert plain_cell_lines(Text("centred", justify="center"), 20, 1) is None
    assert plain_cell_lines(Text("trailing  ", justify="right"), 20, 1) is None
    assert plain_cell_lines(Text.from_markup("[b]bold[/b] part", justify="left"), 20, 1) \
        is None
    assert plain_cell_lines(Text("0.873", justify="right"), 7, 1) == [
        (" ", None), ("  0.873", None), (" ", None)]


async def test_columns_are_as_wide_as_datatable_measures_them(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    from textual.render import measure

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#runs-table", RunsTable)
        console = app.console
        assert table.row_count > 3
        for index, column in enumerate(table.ordered_columns):
            cells = [measure(console, table.get_row_at(row)[index], 1)
                     for row in range(table.row_count)]
            assert column.content_width == max(*cells, column.label.cell_len), column.key
