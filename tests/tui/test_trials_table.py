"""TrialsTable keeps drawn rows across cursor moves and fills in batches: every line it draws
must be what a DataTable filled row by row draws, and a fill ends with every row in order."""

from __future__ import annotations

from typing import Any

import pytest
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import DataTable

from densexp_tui.tui.widgets import trials_table
from densexp_tui.tui.widgets.trials_table import TrialsTable
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)
HEADER = ("#", "state", "value", "learning_rate", "batch_size", "run", "epochs", "duration",
          "pruned at")


def trial(number: int, state: str = "complete", value: str = "0.8123") -> tuple[str, ...]:
    return (str(number), state, value, f"{1e-4 * (1 + number % 7):.3g}", str(8 + number % 50),
            f"run-{number}", "2", "1m 3s", "")


class TwoTables(App[None]):
    CSS = "DataTable { height: 12; }"

    def compose(self) -> ComposeResult:
        yield DataTable(id="plain", cursor_type="row", zebra_stripes=True)
        yield TrialsTable(id="trials", cursor_type="row", zebra_stripes=True)


def lines(table: DataTable[Any]) -> list[list[Segment]]:
    width, height = table.size
    return [list(strip) for strip in table.render_lines(Region(0, 0, width, height))]


async def test_every_line_is_what_datatable_draws_as_the_cursor_moves_and_cells_change(
) -> None:
    app = TwoTables()
    async with app.run_test(size=(110, 30)) as pilot:
        plain = app.query_one("#plain", DataTable)
        trials = app.query_one("#trials", TrialsTable)
        rows = [trial(n, "running" if n == 7 else "complete") for n in range(60)]
        trials.show_all(HEADER, rows)
        plain.add_columns(*HEADER)
        for cells in rows:
            plain.add_row(*trials._styled(cells), key=cells[0])
        await wait_for(pilot, lambda: trials.filled and trials.row_count == 60)
        app.set_focus(None)
        await pilot.pause()
        for row in (0, 1, 5, 11, 12, 20, 59, 30, 7, 0):
            plain.move_cursor(row=row, animate=False)
            trials.move_cursor(row=row, animate=False)
            await pilot.pause()
            assert trials.scroll_offset == plain.scroll_offset
            assert lines(trials) == lines(plain), f"cursor on row {row}"
        changed = trial(7, "complete", "0.9000")
        trials.apply([changed])
        state, value = HEADER.index("state"), HEADER.index("value")
        styled = trials._styled(changed)
        columns = [column.key for column in plain.ordered_columns]
        plain.update_cell("7", columns[state], styled[state])
        plain.update_cell("7", columns[value], styled[value])
        await pilot.pause()
        assert lines(trials) == lines(plain)
        assert str(trials.get_row("7")[state]) == "complete"


async def test_a_fill_in_slices_ends_with_every_row_in_order_and_the_latest_cells(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trials_table, "FILL_SECONDS", 0.0)  # one batch a slice
    monkeypatch.setattr(trials_table, "FILL_BATCH", 100)
    monkeypatch.setattr(trials_table, "FILL_PAUSE", 0.5)
    app = TwoTables()
    async with app.run_test(size=(110, 30)) as pilot:
        trials = app.query_one("#trials", TrialsTable)
        trials.show_all(HEADER, [trial(n, "running" if n == 250 else "complete")
                                 for n in range(300)])
        assert trials.row_count == 100  # the first slice shows at once, the rest follows
        await pilot.pause()
        # Its height is set once for the whole fill (+ the header), not once a slice.
        assert trials.row_count == 100 and trials.virtual_size.height == 300 + 1
        # Changes while it fills: a row added already, one still waiting, a new trial.
        trials.apply([trial(3, value="0.1111"), trial(250, "complete", "0.9999"), trial(300)])
        await wait_for(pilot, lambda: trials.filled)
        assert trials.row_count == 301
        assert [str(trials.get_row_at(i)[0]) for i in range(301)] == [str(n) for n in
                                                                       range(301)]
        state, value = HEADER.index("state"), HEADER.index("value")
        assert str(trials.get_row("3")[value]) == "0.1111"
        assert (str(trials.get_row("250")[state]), str(trials.get_row("250")[value])) == (
            "complete", "0.9999")
