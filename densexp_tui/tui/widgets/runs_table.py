"""The runs screen's table: its columns, what each row says, and redrawing only what changed.

The screen (tui/screens/home.py) decides which rows to show (core/runlisting.py) and hands
them over as plain texts (``run_cells``/``group_cells``); the table compares them with what it
drew and touches only the cells that differ, styled with the theme's status colours. Its
enter is named "Open" in the footer. One-line text cells are measured and drawn without
rich's general layout machinery (tui/widgets/measured_table.py, which also
serves the Sweeps screen's trials table).

Rows that move (a writer's new runs at the top shift every row down; a filter's answer
keeps many of the rows it had) are reordered in place: same row keys, only new rows added
and gone ones dropped, the cursor on the same run. Each drawn line is cached by what it
shows (its run, that row's cells, stripe, cursor, widths), not by its position or the
cursor's, so a shift or a scroll redraws only the lines whose run or look changed; the
others get their row number (mouse hit-testing metadata) rewritten.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, NamedTuple

from rich.console import JustifyMethod
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widgets.data_table import CellKey, ColumnKey, Row, RowKey

from densexp_tui.core.rungroups import GroupSummary
from densexp_tui.core.runstore import RunSummary
from densexp_tui.core.statuses import STATUS_MARKS
from densexp_tui.tui.widgets.formatting import format_duration, format_metric
from densexp_tui.tui.widgets.line_reuse import ContentKeyedStylesCache, SteadyScrollBar
from densexp_tui.tui.widgets.measured_table import (
    MeasuredTable,
    plain_cell_lines,
    styled_segment,
)
from densexp_tui.tui.widgets.palette import theme_variables

# DataTable's SegmentLines: the lines of one rendered cell.
# (key, label): the order people scan in, most telling first.
COLUMNS = (
    ("mark", " "),
    ("name", "Name"),
    ("status", "Status"),
    ("acc", "Val acc"),
    ("f1", "F1"),
    ("dataset", "Dataset"),
    ("model", "Model"),
    ("mode", "Mode"),
    ("epochs", "Epochs"),
    ("duration", "Duration"),
    ("started", "Started"),
    ("trainable", "Trainable %"),
)
RIGHT_ALIGNED = {"acc", "f1", "epochs", "duration", "trainable"}
# Lines kept drawn (a few screenfuls of rows, each with and without the cursor, both
# stripes); past it the cache starts again (cheap: a screenful is redrawn once).
LINE_CACHE_SIZE = 2000
CELL_STYLE_CACHE_SIZE = 20000
# A row's plain texts, in COLUMNS order (compared with the drawn ones to skip redraws).
Cells = tuple[str, ...]


def format_trainable(run: RunSummary) -> str:
    """Share of weights that train: 100% for full fine-tuning, small for LoRA/head."""
    fraction = run.trainable_fraction
    if fraction is None:
        return "-"
    percent = fraction * 100
    return f"{percent:.0f}%" if percent >= 10 else f"{percent:.2g}%"


def run_duration(run: RunSummary, now: float) -> float | None:
    if run.duration is not None:
        return run.duration
    if run.status == "running" and run.started:
        return now - run.started  # live: the clock keeps going while it trains
    return None


def _started(started: float | None) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(started)) if started else "-"


def run_cells(run: RunSummary, marked: bool, now: float) -> Cells:
    """The row's plain texts, in COLUMNS order."""
    glyph = STATUS_MARKS.get(run.status, "?")
    return (
        "●" if marked else " ",
        run.name or run.run_id,
        f"{glyph} {run.status}",
        format_metric(run.best.get("accuracy")),
        format_metric(run.best.get("f1")),
        run.dataset or "-",
        run.model or "-",
        run.finetune or "-",
        f"{run.epochs_done}/{run.epochs}" if run.epochs else "-",
        format_duration(run_duration(run, now)),
        _started(run.started),
        format_trainable(run),
    )


def group_cells(group: GroupSummary, marked: bool) -> Cells:
    """A folded seed group's row: mean ± std over its members, and how many seeds."""
    glyph = STATUS_MARKS.get(group.status, "?")

    def stats(metric: str) -> str:
        value = group.metrics.get(metric)
        return value.format() if value else "-"

    return (
        "●" if marked else " ",
        f"{group.group} ({group.size} seeds)",
        f"{glyph} {group.status}",
        stats("best.accuracy"),
        stats("best.f1"),
        group.dataset or "-",
        group.model or "-",
        group.finetune or "-",
        f"{group.size} seeds",
        format_duration(group.duration),
        _started(group.started),
        "-",
    )


class RunsTable(MeasuredTable[Text]):
    """The runs table; its enter shows in the footer as "Open" (DataTable hides its own)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="runs.open",
                tooltip="Watch the selected run live, or replay it when it has ended"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        # Before DataTable's own set-up, which may already clear caches and style.
        # A row's cells change: its version does (lines are cached by it, not by position).
        self._versions: dict[RowKey, int] = {}
        self._next_version = itertools.count()
        self._lines: dict[tuple[object, ...], DrawnLine] = {}
        self._frame: FrameLook | None = None  # see render_lines
        self.short_lines = True  # body lines drawn by _draw_line (False: all by DataTable)
        self._cell_style_cache: dict[tuple[object, ...], tuple[Style, Style]] = {}
        super().__init__(**kwargs)
        # A scroll restyles only the lines whose content changed (widgets/line_reuse.py).
        self._styles_cache = ContentKeyedStylesCache()
        for key, label in COLUMNS:
            self.add_column(label, key=key)
        self.drawn: dict[str, Cells] = {}  # each drawn row's texts, by row key
        self.drawn_order: list[str] = []  # the drawn rows' keys, top to bottom

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """Widget.vertical_scrollbar of the pinned textual version, made a SteadyScrollBar:
        a one-line scroll (each mark or move at the bottom edge) does not redraw it whole
        (widgets/line_reuse.py)."""
        if self._vertical_scrollbar is None:
            bar = SteadyScrollBar(vertical=True, name="vertical",
                                  thickness=self.scrollbar_size_vertical)
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    # -- which row ----------------------------------------------------------------------------
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, or None when there is none."""
        if self.row_count == 0:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0))
        except Exception:  # cursor outside the rows while the table is rebuilt
            return None
        return key.value

    # -- drawing ------------------------------------------------------------------------------
    def show_rows(self, rows: dict[str, Cells]) -> None:
        """Show exactly ``rows`` in this order, touching only what differs from the drawn."""
        order = list(rows)
        drawn_order = self.drawn_order
        if not self.drawn or not rows:
            self._rebuild(rows)
        elif order == drawn_order or (len(order) > len(drawn_order) and
                                      order[:len(drawn_order)] == drawn_order):
            self.update_rows(rows)  # the same rows (maybe more after them): cells only
        else:
            self._reorder(rows)
        self.drawn, self.drawn_order = rows, order

    def append_rows(self, rows: dict[str, Cells]) -> None:
        """Add rows after the drawn ones (the cursor nears the end: cheap)."""
        for key, cells in rows.items():
            self.add_row(*self._styled(cells), key=key)
            self.drawn[key] = cells
            self.drawn_order.append(key)

    def update_rows(self, rows: dict[str, Cells]) -> None:
        """Redraw the cells of ``rows`` that changed (a new key is added at the end)."""
        for key, cells in rows.items():
            old = self.drawn.get(key)
            if old == cells:
                continue
            styled = self._styled(cells)
            if old is None and key not in self.rows:
                self.add_row(*styled, key=key)
                self.drawn[key] = cells
                continue
            for index, (column, _label) in enumerate(COLUMNS):
                if old is None or old[index] != cells[index]:
                    self.set_cell(key, column, styled[index])
            self.drawn[key] = cells

    def forget_drawn(self) -> None:
        """Redraw every row next time (the theme changed: every style with it)."""
        self.drawn = {}

    def _rebuild(self, rows: dict[str, Cells]) -> None:
        selected = self.cursor_key()
        self.clear()
        for key, cells in rows.items():
            self.add_row(*self._styled(cells), key=key)
        if selected in rows:
            self.move_cursor(row=list(rows).index(selected), animate=False)

    def _reorder(self, rows: dict[str, Cells]) -> None:
        """Show ``rows`` in their order without clearing the table: rows whose key was
        drawn keep it (and their cached lines, unless their cells changed), new keys are
        added, gone ones dropped, and the cursor stays on its run when it is still shown
        (else it goes to the top, as after a rebuild).

        DataTable has no insert or move, and clear() + add_row drops every render cache,
        so a writer's run at the top redrew every visible line each second. This sets
        the table's row order (DataTable._row_locations, as its sort() does) directly; it
        reads DataTable internals of the pinned textual version. tests/tui/test_runs_shift.py
        checks the rows, the cursor and every painted line against a table drawing from
        nothing, after random shifts, edits and scrolls."""
        selected = self.cursor_key()
        drawn = self.drawn
        columns = [ColumnKey(column) for column, _label in COLUMNS]
        for row_key in [RowKey(key) for key in drawn if key not in rows]:  # gone
            self.rows.pop(row_key, None)
            self._data.pop(row_key, None)
            self._versions.pop(row_key, None)
            self._new_rows.discard(row_key)
            for column in columns:
                self._updated_cells.discard(CellKey(row_key, column))
        for key, cells in rows.items():
            old = drawn.get(key)
            if old == cells:
                continue
            row_key = RowKey(key)
            styled = self._styled(cells)
            if old is None:
                self.rows[row_key] = Row(row_key, 1)
            self._new_rows.add(row_key)  # new or changed: its widths are measured below
            self._data[row_key] = dict(zip(columns, styled, strict=True))
            self._versions[row_key] = next(self._next_version)
        self._row_locations = TwoWayDict({RowKey(key): index
                                          for index, key in enumerate(rows)})
        self._update_count += 1  # DataTable's row offsets and caches follow the new order
        # Measured now, not on idle (cheap: MeasuredTable), so that the cursor is scrolled
        # into view in this frame rather than after one drawn with it off the screen.
        measure, self._new_rows = self._new_rows, set()
        self._require_update_dimensions = False
        self._update_dimensions(measure)  # also the virtual height, for the scroll
        # A run gone from the view (filtered out, deleted): the top, as after clear().
        target = list(rows).index(selected) if selected in rows else 0
        # Its watcher redraws both rows, scrolls the cursor into view and posts
        # RowHighlighted when the cursor's row number changed.
        self.cursor_coordinate = Coordinate(max(0, min(target, len(rows) - 1)),
                                            self.cursor_column)
        self.refresh()

    # -- lines, cached by what they show ----------------------------------------------------------
    def add_row(self, *cells: Text, height: int | None = 1, key: str | None = None,
                label: Text | str | None = None) -> RowKey:
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        self._versions[row_key] = next(self._next_version)
        return row_key

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Text,
                    *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        key = row_key if isinstance(row_key, RowKey) else RowKey(row_key)
        self._versions[key] = next(self._next_version)

    def set_cell(self, row_key: str | RowKey, column_key: str | ColumnKey,
                 value: Text) -> None:
        super().set_cell(row_key, column_key, value)
        key = row_key if isinstance(row_key, RowKey) else RowKey(row_key)
        self._versions[key] = next(self._next_version)

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._lines.clear()
        self._cell_style_cache.clear()

    def notify_style_update(self) -> None:
        self._lines.clear()  # the theme or a pseudo-class changed: every style with it
        self._cell_style_cache.clear()
        super().notify_style_update()

    def render_lines(self, crop: Region) -> list[Strip]:
        """DataTable.render_lines, with what every line of this frame shares looked up once
        (FrameLook): DataTable.render_line asks for the widget's rich style (a walk up the
        DOM) and size for each line, and a cached line's key needs the cursor, the hover,
        the stripes and the column widths, each a reactive read: together most of a cached
        line's cost, and a scroll by one line asks for all ~36."""
        # What DataTable.render_lines sets first: the line keys below include it.
        self._pseudo_class_state = self.get_pseudo_class_state()
        self._frame = self._frame_look()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def _frame_look(self) -> FrameLook:
        width, _height = self.size
        scroll_x, scroll_y = self.scroll_offset
        show = self.show_cursor
        widths = tuple([column.content_width if column.auto_width else column.width
                        for column in self.columns.values()])
        return FrameLook(
            base_style=self.rich_style, width=width, scroll_x=scroll_x, scroll_y=scroll_y,
            header=self.header_height if self.show_header else 0,
            y_offsets=self._y_offsets,
            cursor_row=self.cursor_coordinate.row if show else -1,
            hover_row=self.hover_coordinate.row if show and self._show_hover_cursor else -1,
            stripes=self.zebra_stripes,
            look=(width, self._pseudo_class_state, self.cell_padding, widths),
            header_look=(self.hover_coordinate, show, self._show_hover_cursor,
                         tuple([(column.label.plain, str(column.label.style))
                                for column in self.ordered_columns])),
            by_run=self.cursor_type == "row" and not self.fixed_rows and
            not self.fixed_columns and not self._labelled_row_exists)

    def render_line(self, y: int) -> Strip:
        frame = self._frame
        if frame is None or self.fixed_rows:  # outside a frame (tests), or fixed rows
            return super().render_line(y)
        if y >= frame.header:
            y += frame.scroll_y
        return self._render_line(y, frame.scroll_x, frame.scroll_x + frame.width,
                                 frame.base_style)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """DataTable._render_line, cached by the row's key and cells rather than by
        the line's position and the cursor's.

        DataTable keys its line and row caches on the cursor's coordinate and the table's
        update count, so a cursor move that scrolls by one line (the cursor at the bottom
        edge: every mark and move while a writer pushes rows down) or any reorder redrew
        every visible line, ~1 ms each under load. A line's look depends only on its row's
        cells, stripe, whether the cursor or hover is on it, the widths and the styles;
        its row number is also in its segments' meta (what a click hits), which is
        rewritten when only that changed. The same look gives back the same Strip object,
        so Textual's styling of it is reused too (widgets/line_reuse.py)."""
        frame = self._frame or self._frame_look()
        line = y - frame.header
        if not frame.by_run or line >= len(frame.y_offsets):
            return super()._render_line(y, x1, x2, base_style)
        if line < 0:
            return self._header_line(y, x1, x2, base_style, frame)
        row_key, line_no = frame.y_offsets[line]
        row_index = self._row_locations.get(row_key)
        if row_index is None:
            return super()._render_line(y, x1, x2, base_style)
        cursor = row_index == frame.cursor_row
        hover = row_index == frame.hover_row
        key = (row_key, self._versions.get(row_key), line_no,
               row_index % 2 if frame.stripes else 0, cursor, hover, x1, x2, base_style,
               frame.look)
        cached = self._lines.get(key)
        if cached is not None:
            if cached.row_index != row_index:
                cached = cached.moved_to(row_index)
                self._lines[key] = cached
            return cached.strip
        strip = (self._draw_line(row_key, row_index, base_style, cursor, hover, x1, x2)
                 if self.short_lines else None) or super()._render_line(y, x1, x2, base_style)
        if len(self._lines) >= LINE_CACHE_SIZE:
            self._lines.clear()
        self._lines[key] = DrawnLine(strip, row_index)
        return strip

    def _header_line(self, y: int, x1: int, x2: int, base_style: Style,
                     frame: FrameLook) -> Strip:
        """The header's line, cached by what DataTable draws it from apart from the cursor
        (a row cursor never highlights the header: the labels, widths, hover and styles):
        it keys its own cache on the cursor's coordinate and the update count, so every
        mark, move and writer's refresh drew the header again through rich (~3 ms)."""
        key = (self._header_row_key, y, x1, x2, base_style, frame.look, frame.header_look)
        cached = self._lines.get(key)
        if cached is None:
            cached = DrawnLine(super()._render_line(y, x1, x2, base_style), -1)
            if len(self._lines) >= LINE_CACHE_SIZE:
                self._lines.clear()
            self._lines[key] = cached
        return cached.strip

    def _draw_line(self, row_key: RowKey, row_index: int, base_style: Style, cursor: bool,
                   hover: bool, x1: int, x2: int) -> Strip | None:
        """A body line of one-line text cells drawn directly, as DataTable._render_line
        and _render_line_in_row draw it for a row cursor without fixed columns or labels
        (None: DataTable draws it). Their per-cell cache keys, highlight checks and width
        lookups were ~1.5 ms a line under load: the lines a filter's answer or a writer's
        new runs bring, ~36 a screenful. tests/tui/test_runs_shift.py compares every line
        with DataTable's own (``short_lines`` off)."""
        data = self._data.get(row_key)
        row = self.rows.get(row_key)
        if data is None or row is None or row.height != 1:
            return None
        row_style = self._get_row_style(row_index, base_style)
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        padding = self.cell_padding
        console = self.app.console
        segments: list[Segment] = []
        table_width = 0
        for column_index, column in enumerate(self.ordered_columns):
            cell = data.get(column.key)
            render_width = column.get_render_width(self)
            table_width += render_width
            lines = plain_cell_lines(cell, render_width - 2 * padding, padding) \
                if isinstance(cell, Text) and cell.plain else None
            if lines is None:
                return None
            pre, plain = self._cell_styles(row_index, column_index, row_style,
                                           component_style, post_style)
            for text, own in lines:
                if own is None:
                    segments.append(Segment(text, plain))
                else:
                    segments.append(styled_segment(
                        text, console.get_style(own, default=Style.null())
                        if isinstance(own, str) else own, pre, post_style))
        # The rest of the widget's width, styled as DataTable extends a row's.
        extend_style, _post = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            False, False)
        extend_style = row_style + extend_style + Style.from_meta(
            {"row": row_index, "column": 0, "out_of_bounds": True})
        width = self.size.width
        remaining = max(0, width - table_width - self._row_label_column_width)
        segments.append(Segment(" " * remaining, extend_style))
        return Strip(line_crop(segments, x1, x2, width)).adjust_cell_length(
            width, base_style).simplify()

    def _cell_styles(self, row_index: int, column_index: int, row_style: Style,
                     component_style: Style, post_style: Style) -> tuple[Style, Style]:
        """A cell's style before its text's own (row, meta, cursor) and that with the
        post style (what its padding and unstyled text get): a few thousand distinct
        ones at most, each otherwise built per cell of every line drawn."""
        key = (row_index, column_index, row_style, component_style, post_style)
        styles = self._cell_style_cache.get(key)
        if styles is None:
            if len(self._cell_style_cache) >= CELL_STYLE_CACHE_SIZE:
                self._cell_style_cache.clear()
            pre = row_style + Style.from_meta({"row": row_index, "column": column_index}) \
                + component_style
            styles = (pre, styled_segment("", None, pre, post_style).style or pre)
            self._cell_style_cache[key] = styles
        return styles

    def _styled(self, cells: Cells) -> list[Text]:
        """Cells as rich Text: status and marks in theme colours, numbers right-aligned."""
        variables = theme_variables(self.app)
        status = cells[2].split(" ", 1)[-1]
        styled = []
        for (column, _label), value in zip(COLUMNS, cells, strict=True):
            style = ""
            if column == "status":
                style = f"bold {variables.get(f'status-{status}', '')}"
            elif column == "mark":
                style = f"bold {variables.get('mark', '')}"
            justify: JustifyMethod = "right" if column in RIGHT_ALIGNED else "left"
            styled.append(Text(value, style=style.strip(), justify=justify))
        return styled


class FrameLook(NamedTuple):
    """What every line of one frame of the runs table shares (RunsTable.render_lines)."""

    base_style: Style
    width: int
    scroll_x: int
    scroll_y: int
    header: int  # lines above the rows
    y_offsets: list[tuple[RowKey, int]]  # each line's row and line within it
    cursor_row: int  # -1: none shown
    hover_row: int
    stripes: bool
    look: tuple[object, ...]  # widths, padding, pseudo-classes: part of each line's key
    header_look: tuple[object, ...]  # what else the header is drawn from: hover, labels
    by_run: bool  # lines may be cached by their run (a row cursor, no fixed rows/columns)


class DrawnLine:
    """A drawn line and the row number its segments' meta names (DataTable puts
    ``{"row": i, "column": j}`` on every cell's segments for clicks and hover)."""

    __slots__ = ("strip", "row_index")

    def __init__(self, strip: Strip, row_index: int) -> None:
        self.strip = strip
        self.row_index = row_index

    def moved_to(self, row_index: int) -> DrawnLine:
        """The same line drawn for row ``row_index``: segments whose meta names a row get
        the new one (rich merges meta dicts, later keys win; the order stays DataTable's)."""
        new_meta = Style.from_meta({"row": row_index})
        segments = []
        for segment in self.strip:
            style = segment.style
            if style is not None and style._meta is not None and "row" in style.meta:
                segment = Segment(segment.text, style + new_meta, segment.control)
            segments.append(segment)
        return DrawnLine(Strip(segments, self.strip.cell_length), row_index)
