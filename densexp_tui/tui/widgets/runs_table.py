"""The runs screen's table: its columns, what each row says, and redrawing only what changed.

The screen (tui/screens/home.py) decides which rows to show (core/runlisting.py) and hands
them over as plain texts (``run_cells``/``group_cells``); the table compares them with what it
drew and touches only the cells that differ, styled with the theme's status colours. Its
enter is named "Open" in the footer.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import JustifyMethod
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


class RunsTable(DataTable[Text]):
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
