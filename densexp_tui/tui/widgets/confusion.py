"""Confusion matrix: numbers in a heat-shaded grid with the label names on both axes.

Rows are true labels, columns predicted ones, in the label order of the event. Counts or
row-normalised fractions (recall on the diagonal); the shading blends the theme's background
towards its primary colour, so it follows every theme. Cells shrink and names are shortened
so the grid fits the width it gets (ten classes still fit in 36 columns).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from densexp_tui.tui.widgets.formatting import shorten
from densexp_tui.tui.widgets.palette import cell, fg, heat_color, muted_color

MAX_LABEL_WIDTH = 12
MAX_CELL_WIDTH = 10
CORNER = "true\\pred"


@dataclass
class MatrixLayout:
    label_width: int
    cell_width: int


def row_normalised(matrix: list[list[int]]) -> list[list[float]]:
    """Each row divided by its total (a row without examples stays all zero)."""
    return [[value / total if (total := sum(row)) else 0.0 for value in row] for row in matrix]


def format_cell(value: float, normalised: bool, width: int) -> str:
    """A count, or a fraction as .93 / 0.93 / 1.00 depending on the room."""
    if not normalised:
        text = str(int(value))
        if len(text) > width:
            text = f"{value / 1000:.0f}k" if value < 1e6 else f"{value / 1e6:.0f}M"
        return text
    text = f"{value:.2f}"
    if len(text) > width and text.startswith("0"):
        text = text[1:]  # .93
    return text


def fit_layout(labels: list[str], width: int, needed_cell: int) -> MatrixLayout:
    """Label column and cell widths that fit ``width`` (or the smallest readable ones)."""
    count = max(1, len(labels))
    label_width = min(MAX_LABEL_WIDTH, max((len(label) for label in labels), default=4))
    label_width = max(label_width, 4)
    if label_width + 1 + count * (needed_cell + 1) <= width:
        label_width = max(label_width, len(CORNER))  # room for the whole corner caption
    cell_width = min(MAX_CELL_WIDTH, max(needed_cell, (width - label_width - 1) // count))
    if label_width + 1 + count * cell_width > width:
        label_width = max(3, width - 1 - count * cell_width)
    return MatrixLayout(label_width=label_width, cell_width=cell_width)


class ConfusionMatrix(Widget):
    """Renders one matrix; the screen decides which epoch and whether it is normalised."""

    DEFAULT_CSS = """
    ConfusionMatrix {
        width: 1fr;
        height: auto;
        min-height: 3;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(self, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.matrix: list[list[int]] = []
        self.labels: list[str] = []
        self.normalised = False
        self.caption = "Confusion (val)"

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def set_matrix(self, matrix: list[list[int]], labels: list[str], *, normalised: bool,
                   caption: str) -> None:
        changed = (matrix, labels, normalised, caption) != (
            self.matrix, self.labels, self.normalised, self.caption)
        self.matrix, self.labels = matrix, labels
        self.normalised, self.caption = normalised, caption
        if changed:
            self.refresh(layout=True)

    def values(self) -> list[list[float]]:
        """What the cells show: counts, or fractions of each true label's row."""
        if self.normalised:
            return row_normalised(self.matrix)
        return [[float(v) for v in row] for row in self.matrix]

    def cell_texts(self, width: int = 80) -> list[list[str]]:
        """The text of every cell as drawn at ``width`` (tests read the numbers here)."""
        values = self.values()
        layout = self._layout(width, values)
        return [[format_cell(v, self.normalised, layout.cell_width - 1) for v in row]
                for row in values]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 2 + max(1, len(self.matrix))

    def _layout(self, width: int, values: list[list[float]]) -> MatrixLayout:
        widest = max((len(format_cell(v, self.normalised, 8)) for row in values for v in row),
                     default=1)
        needed = (3 if self.normalised else widest) + 1
        return fit_layout(self.labels, width, needed)

    def render(self) -> Text:
        width = self.content_size.width or 40
        title = Text(self.caption, style="bold", no_wrap=True)
        if not self.matrix:
            return Text("\n").join([title, Text("no validation results yet",
                                                style=fg(muted_color(self.app)))])
        values = self.values()
        layout = self._layout(width, values)
        scale = max((v for row in values for v in row), default=1.0) or 1.0
        lines = [title, self._column_header(layout)]
        lines.extend(self._row(index, row, layout, scale) for index, row in enumerate(values))
        return Text("\n").join(lines)

    def _column_header(self, layout: MatrixLayout) -> Text:
        header = Text(shorten(CORNER, layout.label_width).ljust(layout.label_width) + " ",
                      style=fg(muted_color(self.app)), no_wrap=True)
        for label in self.labels:
            header.append(shorten(label, layout.cell_width - 1).rjust(layout.cell_width - 1)
                          + " ", style="bold")
        return header

    def _row(self, index: int, row: list[float], layout: MatrixLayout, scale: float) -> Text:
        label = self.labels[index] if index < len(self.labels) else str(index)
        line = Text(shorten(label, layout.label_width).ljust(layout.label_width) + " ",
                    style="bold", no_wrap=True)
        for column, value in enumerate(row):
            shade = value if self.normalised else value / scale
            text = format_cell(value, self.normalised, layout.cell_width - 1)
            line.append(text.rjust(layout.cell_width - 1) + " ",
                        style=cell(heat_color(self.app, shade), bold=index == column))
        return line
