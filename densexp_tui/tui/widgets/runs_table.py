"""The runs screen's table: its columns, what each row says, and redrawing only what changed.

The screen (tui/screens/home.py) decides which rows to show (core/runlisting.py) and hands
them over as plain texts (``run_cells``/``group_cells``); the table compares them with what it
drew and touches only the cells that differ, styled with the theme's status colours. Its
enter is named "Open" in the footer. One-line text cells are measured and drawn without
rich's general layout machinery (MeasuredTable, the measuring and in-place cell part, also
serves the Sweeps screen's trials table).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, TypeVar

from rich.cells import cell_len
from rich.console import JustifyMethod
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from densexp_tui.core.rungroups import GroupSummary
from densexp_tui.core.runstore import RunSummary
from densexp_tui.core.statuses import STATUS_MARKS
from densexp_tui.tui.widgets.formatting import format_duration, format_metric
from densexp_tui.tui.widgets.palette import theme_variables

CellT = TypeVar("CellT")
# DataTable's SegmentLines: the lines of one rendered cell.
CellLines = list[list[Segment]]
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
    ("trainable", "Train %"),
)
RIGHT_ALIGNED = {"acc", "f1", "epochs", "duration", "trainable"}
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


class MeasuredTable(DataTable[CellT]):
    """A DataTable whose added rows of one-line text are measured without rich."""

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


class RunsTable(MeasuredTable[Text]):
    """The runs table; its enter shows in the footer as "Open" (DataTable hides its own)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="runs.open",
                tooltip="Watch the selected run live, or replay it when it has ended"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for key, label in COLUMNS:
            self.add_column(label, key=key)
        self.drawn: dict[str, Cells] = {}  # each drawn row's texts, by row key
        self.drawn_order: list[str] = []  # the drawn rows' keys, top to bottom

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
        if self.drawn and len(order) > len(drawn_order) and \
                order[:len(drawn_order)] == drawn_order:
            self.update_rows(rows)  # more rows after the same ones: append them
        elif order != drawn_order or not self.drawn:
            self._rebuild(rows)
        else:
            self.update_rows(rows)
        self.drawn, self.drawn_order = rows, list(rows)

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
