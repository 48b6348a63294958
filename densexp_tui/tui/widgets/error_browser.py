"""Errors view: the misclassified test examples, most confidently wrong first.

A table of (confidence, true, predicted, text), a small test confusion matrix whose
off-diagonal cells filter the table (select a cell; the diagonal or ``a`` shows all again),
``s`` to flip the sort, and a detail pane with the highlighted example's whole text.
The dashboard reads the predictions once, in a worker (core.evaluation_view), and shows them here.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from densexp_tui.core.evaluation_view import EvaluationData, filter_errors
from densexp_tui.core.misclassified import ErrorRow
from densexp_tui.tui.widgets.formatting import shorten

WAITING = "Errors appear once the run has been tested."
TEXT_COLUMN_MAX = 80
# What the other columns, the confusion cells and the table's padding take (3 classes).
OTHER_COLUMNS_WIDTH = 58


class ErrorBrowser(Vertical):
    """Misclassified test examples with a confusion-cell filter and a detail pane."""

    DEFAULT_CSS = """
    ErrorBrowser { height: 1fr; }
    ErrorBrowser #errors-caption { height: 1; }
    ErrorBrowser #errors-row { height: 1fr; }
    ErrorBrowser #errors-table { width: 1fr; height: 1fr; }
    ErrorBrowser #errors-cells { width: auto; height: auto; margin-left: 1; }
    ErrorBrowser #errors-detail { height: 4; border-top: solid $primary-muted; }
    """

    BINDINGS = [
        Binding("s", "flip_sort", "Sort", id="errors.flip_sort",
                tooltip="Most confidently wrong first, or least confident first"),
        Binding("a", "show_all", "All errors", id="errors.show_all",
                tooltip="Clear the confusion-cell filter"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="evaluation-view")
        self.data = EvaluationData(problem=WAITING)
        self.cell: tuple[str, str] | None = None  # (true, predicted) filter
        self.most_confident_first = True
        self.shown: list[ErrorRow] = []

    def compose(self) -> ComposeResult:
        yield Static(WAITING, id="errors-caption", markup=False)
        with Horizontal(id="errors-row"):
            yield DataTable(id="errors-table", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="errors-cells", cursor_type="cell")
        with VerticalScroll(id="errors-detail"):
            yield Static("", id="errors-text", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#errors-table", DataTable)
        table.add_columns("conf", "true", "predicted", "text")

    # -- data in --------------------------------------------------------------------------
    def show(self, data: EvaluationData) -> None:
        self.data = data
        self._fill_cells()
        self._fill_table()

    # -- drawing ----------------------------------------------------------------------------
    def _fill_cells(self) -> None:
        cells = self.query_one("#errors-cells", DataTable)
        cells.clear(columns=True)
        labels = self.data.labels
        if not labels:
            cells.display = False
            return
        cells.display = True
        cells.add_column("t\\p", key="true")
        for label in labels:
            cells.add_column(shorten(label, 5), key=label)
        for label, row in zip(labels, self.data.confusion, strict=True):
            cells.add_row(shorten(label, 8), *(str(v) for v in row), key=label)

    def _fill_table(self) -> None:
        table = self.query_one("#errors-table", DataTable)
        table.clear()
        true, pred = self.cell or (None, None)
        self.shown = filter_errors(self.data.errors, true, pred, self.most_confident_first)
        text_width = max(12, min(TEXT_COLUMN_MAX, self.size.width - OTHER_COLUMNS_WIDTH))
        for index, row in enumerate(self.shown):
            text = " ".join((row.text or "").split())
            table.add_row(f"{row.confidence:.0%}", shorten(row.true, 10),
                          shorten(row.pred, 10), shorten(text, text_width), key=str(index))
        self.query_one("#errors-caption", Static).update(self.caption())
        self._show_detail(self.shown[0] if self.shown else None)

    def caption(self) -> str:
        if self.data.problem:
            return self.data.problem
        order = "most confident first" if self.most_confident_first else "least confident first"
        where = f" · true {self.cell[0]}, predicted {self.cell[1]}" if self.cell else ""
        return (f"{len(self.shown)} of {len(self.data.errors)} errors in {self.data.total} "
                f"test examples{where} · {order} (s) · pick a cell to filter")

    def _show_detail(self, row: ErrorRow | None) -> None:
        detail = self.query_one("#errors-text", Static)
        if row is None:
            detail.update("")
            return
        detail.update(f"row {row.row} · true {row.true} · predicted {row.pred} "
                      f"({row.confidence:.1%})\n{row.text or '(tabular row: no text)'}")

    # -- interaction ------------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#errors-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.shown):
            self._show_detail(self.shown[event.cursor_row])

    @on(DataTable.CellSelected, "#errors-cells")
    def _cell_selected(self, event: DataTable.CellSelected) -> None:
        labels = self.data.labels
        row, column = event.coordinate.row, event.coordinate.column - 1
        if column < 0 or row == column:  # the label column or the diagonal: every error
            self.select_cell(None)
        else:
            self.select_cell((labels[row], labels[column]))

    def select_cell(self, cell: tuple[str, str] | None) -> None:
        """Show only the errors of one (true, predicted) cell, or all of them (None)."""
        self.cell = cell
        self._fill_table()

    def action_flip_sort(self) -> None:
        self.most_confident_first = not self.most_confident_first
        self._fill_table()

    def action_show_all(self) -> None:
        self.select_cell(None)
