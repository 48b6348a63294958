"""The runs screen's table: its enter named "Open" in the footer, and cells redrawn in place."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


class RunsTable(DataTable[Text]):
    """The runs table; its enter shows in the footer as "Open" (DataTable hides its own)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="runs.open",
                tooltip="Watch the selected run live, or replay it when it has ended"),
    ]

    def set_cell(self, row_key: str, column_key: str, value: Text) -> None:
        """update_cell, but a value that fits its column's width redraws its row only.

        DataTable.update_cell bumps a counter that every render cache is keyed on, so one
        mark, or a running run's new duration each second, re-rendered all ~40 visible rows
        (~150 ms, which a key press then waits for). Here only the caches of this row are
        dropped. It reads DataTable internals of the pinned textual version;
        tests/tui/test_home.py reads the painted rows, and the home snapshots their look."""
        key, column = RowKey(row_key), ColumnKey(column_key)
        known = key in self._row_locations and column in self._column_locations
        if not known or value.cell_len > self.columns[column].content_width:
            self.update_cell(row_key, column_key, value, update_width=True)
            return
        self._data[key][column] = value
        index = self._row_locations.get(key)
        for row_cached in [k for k in self._row_render_cache.keys() if k[0] == key]:
            self._row_render_cache.discard(row_cached)
        for cell_cached in [k for k in self._cell_render_cache.keys() if k[0] == key]:
            self._cell_render_cache.discard(cell_cached)
        for cells_cached in [k for k in self._row_renderable_cache.keys() if k[1] == index]:
            self._row_renderable_cache.discard(cells_cached)
        self._line_cache.clear()  # lines are rebuilt from the rows' caches: cheap
        if index is not None:
            self.refresh_row(index)
