"""A DataTable that measures and draws one-line text cells without rich's general layout
machinery, and redraws one cell when one changes. The runs screen's table and the Sweeps
screen's trials table are built on it; the measurements that made it worth it are in each
method's docstring."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

CellT = TypeVar("CellT")
# A cell as DataTable draws it: its lines, each a list of segments.
CellLines = list[list[Segment]]


class MeasuredTable(DataTable[CellT]):
    """A DataTable whose one-line text cells are measured and drawn without rich."""

    _widths_drawn: tuple[int, ...] = ()  # the columns' widths at the last _update_dimensions

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """DataTable._update_dimensions, with one-line text cells measured by their length.

        DataTable measures every cell of every added row through rich (wrap, split into
        words) and builds each row's renderables to do so: ~100 ms of UI thread for the
        160 rows a filter's answer or a writer's new run at the top rebuilds on the runs
        screen, ~1 s for a 1,000-trial study on the Sweeps screen. A one-line Text (or a
        plain string without markup) is as wide as its text (rich's own maximum); rows with
        labels, auto height or other cells go through DataTable."""
        others: list[RowKey] = []
        columns = self.ordered_columns
        for row_key in new_rows:
            row = self.rows.get(row_key)
            if row is None or row_key not in self._row_locations:
                continue
            values = self._data.get(row_key, {})
            widths = [one_line_width(values.get(column.key)) for column in columns]
            if row.label is not None or row.auto_height or None in widths:
                others.append(row_key)
                continue
            for column, width in zip(columns, widths, strict=True):
                if width is not None and width > column.content_width:
                    column.content_width = width
        super()._update_dimensions(others)
        self._drop_cells_drawn_narrower()

    def _drop_cells_drawn_narrower(self) -> None:
        """A new update count once a column's width changes. Columns widen here, on the
        table's idle, without one, and the cell caches (DataTable's and ours) are keyed on
        the update count, not the width: a cell painted between a new row and that idle, as
        happens under load, stayed cut (a trial's run as `20261`) until its row changed."""
        widths = tuple(column.content_width for column in self.ordered_columns)
        if widths != self._widths_drawn:
            self._update_count += 1
        self._widths_drawn = widths

    def set_cell(self, row_key: str | RowKey, column_key: str | ColumnKey,
                 value: CellT) -> None:
        """update_cell, but a value that fits its column's width redraws its cell only.

        DataTable.update_cell bumps a counter that every render cache is keyed on, so one
        mark, or a running run's (or trial's) new duration each second, re-rendered all ~40
        visible rows (~150 ms on the runs screen, 200-800 ms on the Sweeps screen's trials
        table under load, which a key press then waits for). Here only the caches of this
        cell and of the lines of its row are dropped. It reads DataTable internals of the pinned
        textual version; tests/tui/test_home.py reads the painted rows, and the home
        snapshots their look."""
        key = row_key if isinstance(row_key, RowKey) else RowKey(row_key)
        column = column_key if isinstance(column_key, ColumnKey) else ColumnKey(column_key)
        known = key in self._row_locations and column in self._column_locations
        width = one_line_width(value)
        if not known or width is None or width > self.columns[column].content_width:
            self.update_cell(row_key, column_key, value, update_width=True)
            return
        self._data[key][column] = value
        index = self._row_locations.get(key)
        for row_cached in [k for k in self._row_render_cache.keys() if k[0] == key]:
            self._row_render_cache.discard(row_cached)
        for cell_cached in [k for k in self._cell_render_cache.keys()
                            if k[0] == key and k[1] == column]:
            self._cell_render_cache.discard(cell_cached)
        for cells_cached in [k for k in self._row_renderable_cache.keys() if k[1] == index]:
            self._row_renderable_cache.discard(cells_cached)
        self._line_cache.clear()  # lines are rebuilt from the rows' caches: cheap
        if index is not None:
            self.refresh_row(index)


    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> CellLines:
        """DataTable._render_cell, with a short path for a one-line Text that fits.

        Drawing a cell through rich (Styled(Padding(Text)) -> render_lines: wrap, justify,
        pad, crop) took ~0.3 ms on the shared box, so every new screenful of rows (a filter
        keystroke's answer, a run added at the top) cost ~35 x 12 cells = 100+ ms of UI
        thread. The short path builds the same three segments (padding, text, padding) with
        the same styles directly; anything else (header, labels, fixed cells, several
        lines, spans, tabs, text wider than its column) goes through DataTable as before.
        tests/tui/test_runs_table.py checks both give equal segments for every cell."""
        fast = self._render_plain_cell(row_index, column_index, base_style, width, cursor,
                                       hover)
        if fast is not None:
            return fast
        return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)

    def _render_plain_cell(self, row_index: int, column_index: int, base_style: Style,
                           width: int, cursor: bool, hover: bool) -> CellLines | None:
        if row_index < max(0, self.fixed_rows) or column_index < max(0, self.fixed_columns):
            return None
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return None
        cache_key = (row_key, column_key, base_style, cursor, hover, self._show_hover_cursor,
                     self._update_count, self._pseudo_class_state)
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        row = self.rows[row_key]
        if row.height != 1:  # auto height or taller rows: DataTable measures and wraps
            return None
        _label, cells = self._get_row_renderables(row_index)
        cell = cells[column_index]
        padding = self.cell_padding
        lines = plain_cell_lines(cell, width - 2 * padding, padding)
        if lines is None:
            return None
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index}) \
            + component_style
        console = self.app.console
        rendered = [[styled_segment(text, console.get_style(own, default=Style.null())
                                    if isinstance(own, str) else own, pre, post_style)
                     for text, own in lines]]
        self._cell_render_cache[cache_key] = rendered
        return rendered


def one_line_width(value: object) -> int | None:
    """A one-line Text's or markup-free string's width (what rich measures as its
    maximum), else None."""
    if isinstance(value, str) and not any(c in value for c in "[\n\t"):
        return cell_len(value)
    if isinstance(value, Text) and "\n" not in value.plain and "\t" not in value.plain:
        return cell_len(value.plain)
    return None


def plain_cell_lines(cell: object, inner: int, padding: int
                     ) -> list[tuple[str, Style | str | None]] | None:
    """The (text, own style) pieces rich gives a one-line Text justified in ``inner``
    columns between ``padding`` spaces, or None when rich has more to do (wrap, crop,
    spans, tabs, centring)."""
    if not isinstance(cell, Text) or cell.spans or inner < 0:
        return None
    plain = cell.plain
    if "\n" in plain or "\t" in plain or cell.justify not in ("left", "right"):
        return None
    length = cell_len(plain)
    if length > inner:
        return None
    if cell.justify == "right":
        if plain != plain.rstrip():
            return None  # rich strips trailing spaces before it right-aligns
        text = " " * (inner - length) + plain
    else:
        text = plain + " " * (inner - length)
    pad = " " * padding
    pieces: list[tuple[str, Style | str | None]] = [(text, cell.style or None)]
    return [(pad, None), *pieces, (pad, None)] if padding else pieces


def styled_segment(text: str, own: Style | None, pre: Style, post: Style) -> Segment:
    """A segment styled as rich's Styled(pre_style, post_style) styles it."""
    style = pre + own
    if post:
        style = style + post if style else post
    return Segment(text, style)
