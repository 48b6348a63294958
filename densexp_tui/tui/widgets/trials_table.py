"""The Sweeps screen's trials table: rows added a slice at a time, changed cells redrawn in
place, and the lines of rows the cursor is not on kept across cursor moves.

Measured on a 1,000-trial study (bench/many_runs.py, cProfile of the UI thread while keys
moved the cursor): most of a key's time went to drawing the table's lines again. DataTable keys
every cached line and row on the cursor's position, so once the cursor moved, a scroll by one
row drew every visible line anew, each paying for its styles (``rich_style`` of the table and
of its row component, several milliseconds a line under load). Here a row's drawing is keyed
on whether the cursor (and the hover) is on that row, which is all a row cursor changes in it;
the table's own style is computed once per drawing pass rather than once per line.

Filling the table with a study's 1,000 rows in one step took 0.2-0.5 s of UI thread. Rows are
added from ``pending`` in batches (one DataTable update each, not one a row), in slices of
about FILL_SECONDS with a pause between, so keys are answered while a big study fills; later
changes to rows not added yet just replace them in ``pending``. The screen hands over plain
texts (sweep.trialcache cells); this table styles the state column in the theme's status
colours.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets.data_table import ColumnKey, Row, RowKey

from densexp_tui.tui.widgets.measured_table import CellLines, MeasuredTable
from densexp_tui.tui.widgets.palette import fg, status_color

Cells = tuple[str, ...]  # a trial's texts in sweep.trialcache.trial_header order
# Trial states painted with the run statuses' theme colours.
STATE_STATUS = {"running": "running", "complete": "completed", "pruned": "cancelled",
                "failed": "failed", "waiting": "waiting"}
FILL_SECONDS = 0.02  # UI-thread time one slice of added rows may take
FILL_BATCH = 50  # rows added at once within a slice
FILL_PAUSE = 0.005  # seconds between slices: keys and frames go in between
ROWS_DRAWN_SIZE = 4000  # drawn rows kept (screenfuls, with and without the cursor)
# The cursor (or hover) position a row the cursor is not on is drawn with: no row has it.
ELSEWHERE = Coordinate(-2, -2)


class TrialsTable(MeasuredTable[str | Text]):
    """A study's trials, one row per trial keyed by its number."""

    def __init__(self, **kwargs: object) -> None:
        self._setup_caches()
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.header: tuple[str, ...] = ()
        self.drawn: dict[str, Cells] = {}  # each added row's texts, by key
        self._filling = False
        self._restore_row: int | None = None
        self._pass_style: Style | None = None
        self._in_pass = False

    def _setup_caches(self) -> None:
        """Before DataTable's own set-up, which may already clear caches."""
        self._versions: dict[RowKey, int] = {}  # a row's version: its cells changed
        self._rows_drawn: dict[tuple[object, ...], tuple[CellLines, CellLines]] = {}
        self.pending: dict[str, Cells] = {}  # rows still to add, in order

    # -- what the screen calls --------------------------------------------------------------
    def show_all(self, header: tuple[str, ...], rows: Iterable[Cells]) -> None:
        """Show exactly ``rows`` (a new study, or other columns): the cursor keeps its row."""
        cursor = self.cursor_row
        same_columns = header == self.header
        self.clear(columns=not same_columns)
        if not same_columns:
            self.add_columns(*header)
            self.header = header
        self.drawn = {}
        self._versions.clear()
        self.pending = {cells[0]: cells for cells in rows}
        self._restore_row = cursor if cursor > 0 else None
        self._fill()

    def apply(self, changed: Iterable[Cells]) -> None:
        """Redraw the changed cells of rows shown, queue rows not shown yet (new trials)."""
        columns = [column.key for column in self.ordered_columns]
        for cells in changed:
            key = cells[0]
            old = self.drawn.get(key)
            if old is None:
                self.pending[key] = cells
                continue
            if old == cells:
                continue
            styled = self._styled(cells)
            for column, before, after, value in zip(columns, old, cells, styled, strict=True):
                if before != after:
                    self.set_cell(key, column, value)
            self.drawn[key] = cells
        self._fill()

    @property
    def filled(self) -> bool:
        """Every row handed over is in the table."""
        return not self.pending

    # -- filling ----------------------------------------------------------------------------
    def _fill(self) -> None:
        if not self._filling and self.pending:
            self._filling = True
            self._fill_slice()  # the first screenful shows in this very frame

    def _fill_slice(self) -> None:
        deadline = time.perf_counter() + FILL_SECONDS
        styles: dict[str, Style] = {}
        while self.pending:
            batch = list(itertools.islice(self.pending.items(), FILL_BATCH))
            for key, _cells in batch:
                del self.pending[key]
            self._append_rows(batch, styles)
            if time.perf_counter() > deadline:
                break
        if self._restore_row is not None and self.row_count > self._restore_row:
            self.move_cursor(row=self._restore_row, animate=False)
            self._restore_row = None
        if self.pending:
            self.set_timer(FILL_PAUSE, self._fill_slice)
        else:
            self._filling = False

    def _append_rows(self, batch: list[tuple[str, Cells]], styles: dict[str, Style]) -> None:
        """DataTable.add_row for a batch of rows (keys not in the table yet).

        add_row validates the cursor, counts an update (which every render cache is keyed
        on) and checks for idle once per row: about 0.2 ms a row here, so a study's 1,000
        rows took 0.2-0.5 s of UI thread. This sets the same DataTable state (of the pinned
        textual version) once per batch; tests/tui/test_trials_table.py compares the rows
        and every drawn line with a DataTable filled by add_row."""
        columns = [column.key for column in self.ordered_columns]
        first = self.row_count
        for key, cells in batch:
            row_key = RowKey(key)
            if row_key in self.rows:
                continue
            self._row_locations[row_key] = self.row_count
            self._data[row_key] = dict(zip(columns, self._styled(cells, styles), strict=False))
            self.rows[row_key] = Row(row_key, 1)
            self._new_rows.add(row_key)
            self.drawn[key] = cells
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if first == 0 and self.row_count and self.columns and self.show_cursor and \
                self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        self.check_idle()

    def _styled(self, cells: Cells, styles: dict[str, Style] | None = None
                ) -> list[str | Text]:
        """Every cell a one-line Text (which the short drawing path takes), the state in its
        status colour (``styles``: the colours looked up so far, by state)."""
        styled: list[str | Text] = [Text(cell, justify="left") for cell in cells]
        column = self.header.index("state") if "state" in self.header else -1
        if 0 <= column < len(cells):
            state = cells[column].split(" ")[0]
            known = styles if styles is not None else {}
            if state not in known:
                known[state] = fg(status_color(self.app, STATE_STATUS.get(state, state)))
            styled[column] = Text(cells[column], style=known[state])
        return styled

    # -- drawing ----------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        self._in_pass, self._pass_style = True, None
        try:
            return super().render_lines(crop)
        finally:
            self._in_pass, self._pass_style = False, None

    @property
    def rich_style(self) -> Style:
        """The table's style, computed once per drawing pass (DataTable asks once a line)."""
        if not self._in_pass:
            return super().rich_style
        if self._pass_style is None:
            self._pass_style = super().rich_style
        return self._pass_style

    def _render_line_in_row(self, row_key: RowKey, line_no: int, base_style: Style,
                            cursor_location: Coordinate, hover_location: Coordinate
                            ) -> tuple[CellLines, CellLines]:
        """DataTable's, cached by what the line shows rather than by the table's update
        count and the cursor's position: DataTable drops every cached row when a row is added
        (a new trial, a slice of a fill) and when the cursor moves. A row cursor changes only
        the row it is on, so the other rows are drawn with the cursor "elsewhere"; a row's
        version changes with its cells (tests/tui/test_trials_table.py checks every line
        against DataTable's)."""
        index = self._row_locations.get(row_key)
        if self.cursor_type != "row" or self.fixed_columns or self._labelled_row_exists:
            return super()._render_line_in_row(row_key, line_no, base_style,
                                               cursor_location, hover_location)
        if index is None:  # the header (row -1): DataTable's cache, with the cursor elsewhere
            return super()._render_line_in_row(
                row_key, line_no, base_style, ELSEWHERE,
                hover_location if hover_location.row == -1 else ELSEWHERE)
        on_cursor, on_hover = cursor_location.row == index, hover_location.row == index
        widths = tuple([column.get_render_width(self) for column in self.ordered_columns])
        key = (row_key, self._versions.get(row_key, 0), line_no, index, base_style, on_cursor,
               on_hover, self.show_cursor, self._show_hover_cursor, self._pseudo_class_state,
               self.size.width, widths)
        drawn = self._rows_drawn.get(key)
        if drawn is None:
            drawn = super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location if on_cursor else ELSEWHERE,
                hover_location if on_hover else ELSEWHERE)
            if len(self._rows_drawn) >= ROWS_DRAWN_SIZE:
                self._rows_drawn.clear()
            self._rows_drawn[key] = drawn
        return drawn

    def set_cell(self, row_key: str | RowKey, column_key: str | ColumnKey,
                 value: str | Text) -> None:
        super().set_cell(row_key, column_key, value)
        self._bump(row_key)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str,
                    value: str | Text, *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        self._bump(row_key)

    def _bump(self, row_key: str | RowKey) -> None:
        key = row_key if isinstance(row_key, RowKey) else RowKey(row_key)
        self._versions[key] = self._versions.get(key, 0) + 1

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._rows_drawn.clear()

    def notify_style_update(self) -> None:
        self._rows_drawn.clear()  # the theme or a pseudo-class changed: every style with it
        super().notify_style_update()

    @property
    def _total_row_height(self) -> int:
        """The rows' height, counting the rows still to add: the table's virtual size (a
        layout of the whole screen each time it changes) is set once for a fill, not once
        a slice."""
        return len(self._y_offsets) + len(self.pending)
