"""A braille line chart: several series, y labels, x ticks and a legend, coloured by theme.

Drawn with Unicode braille (2x4 dots per cell), which every SSH terminal with a UTF-8 font
shows. Points are binned per dot column (min..max span, joined to the next column), so a
redraw costs O(points + cells) however noisy the series: 2,000 points redraw in about a
millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from densexp_tui.tui.widgets.palette import fg, muted_color, series_color

BRAILLE_BASE = 0x2800
# Bit of each dot in a braille cell, indexed [row][column] inside the 2x4 cell.
BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


@dataclass
class ChartSeries:
    """One line: its legend label, points in x order, and which theme series colour it uses."""

    label: str
    points: Sequence[tuple[float, float]]
    color_index: int = 0
    markers: bool = False  # sparse series (one point per epoch) get a visible dot per point
    value_note: str = ""  # shown after the label in the legend, e.g. the latest value


@dataclass
class BrailleCanvas:
    """Dots on a grid of braille cells; each cell remembers the series that drew last."""

    width: int
    height: int
    bits: list[list[int]] = field(init=False)
    owner: list[list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.bits = [[0] * self.width for _ in range(self.height)]
        self.owner = [[-1] * self.width for _ in range(self.height)]

    @property
    def dots_wide(self) -> int:
        return self.width * 2

    @property
    def dots_high(self) -> int:
        return self.height * 4

    def dot(self, x: int, y: int, series: int) -> None:
        if 0 <= x < self.dots_wide and 0 <= y < self.dots_high:
            row, col = y // 4, x // 2
            self.bits[row][col] |= BRAILLE_BITS[y % 4][x % 2]
            self.owner[row][col] = series

    def vertical(self, x: int, y0: int, y1: int, series: int) -> None:
        for y in range(min(y0, y1), max(y0, y1) + 1):
            self.dot(x, y, series)

    def line(self, x0: int, y0: int, x1: int, y1: int, series: int) -> None:
        """Bresenham between two dots."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        error = dx + dy
        while True:
            self.dot(x0, y0, series)
            if x0 == x1 and y0 == y1:
                return
            doubled = 2 * error
            if doubled >= dy:
                error += dy
                x0 += sx
            if doubled <= dx:
                error += dx
                y0 += sy

    def marker(self, x: int, y: int, series: int) -> None:
        for dx in (0, 1):
            for dy in (-1, 0, 1):
                self.dot(x + dx, y + dy, series)

    def char(self, row: int, col: int) -> str:
        bits = self.bits[row][col]
        return chr(BRAILLE_BASE + bits) if bits else " "


@dataclass
class Bounds:
    x_min: float
    x_max: float
    y_min: float
    y_max: float

    def to_dots(self, x: float, y: float, canvas: BrailleCanvas) -> tuple[int, int]:
        x_span = (self.x_max - self.x_min) or 1.0
        y_span = (self.y_max - self.y_min) or 1.0
        dot_x = round((x - self.x_min) / x_span * (canvas.dots_wide - 1))
        dot_y = round((self.y_max - y) / y_span * (canvas.dots_high - 1))
        return dot_x, dot_y


def compact_number(value: float) -> str:
    """A tick label in at most ~6 characters: 0.312, 12.5, 1.2k, 3.4M, 5e-05."""
    magnitude = abs(value)
    if value == int(value) and magnitude < 1e4:
        return str(int(value))  # steps and epochs: 45, not 45.0
    if magnitude >= 1e6:
        return f"{value / 1e6:.1f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.0f}k"
    if magnitude >= 1e3:
        return f"{value / 1e3:.1f}k"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.01 or value == 0:
        return f"{value:.3g}"
    return f"{value:.0e}"


def tick_labels(values: Sequence[float]) -> list[str]:
    """Labels for ``values`` that tell them apart: a loss flat at 1.0986 must not read
    1.1, 1.1, 1.1 down the axis, so digits are added until different values differ."""
    labels = [compact_number(value) for value in values]
    wanted = len(set(values))
    digits = 4
    while len(set(labels)) < wanted and digits <= 7:
        labels = [f"{value:.{digits}g}" for value in values]
        digits += 1
    return labels


def data_bounds(series: Sequence[ChartSeries], x_range: tuple[float, float] | None,
                y_floor: float | None) -> Bounds | None:
    """The box every series fits in, padded a little so lines never sit on the frame."""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    if not xs:
        return None
    x_min, x_max = min(xs), max(xs)
    if x_range is not None:
        x_min, x_max = min(x_min, x_range[0]), max(x_max, x_range[1])
    y_min, y_max = min(ys), max(ys)
    pad = (y_max - y_min) * 0.06 or abs(y_max) * 0.05 or 0.5
    y_min, y_max = y_min - pad, y_max + pad
    if y_floor is not None:
        y_min = max(y_floor, y_min)
    return Bounds(x_min, x_max if x_max > x_min else x_min + 1, y_min, y_max)


def draw_series(canvas: BrailleCanvas, bounds: Bounds, series: ChartSeries, index: int) -> None:
    """Each dot column spans the min..max of its points and joins the next column."""
    previous: tuple[int, int] | None = None  # (column, last y) of the finished column
    column: int | None = None
    first = low = high = last = 0
    for x, y in series.points:
        dot_x, dot_y = bounds.to_dots(x, y, canvas)
        if series.markers:
            canvas.marker(dot_x, dot_y, index)
        if dot_x != column:
            if column is not None:
                previous = _close_column(canvas, previous, column, first, low, high, last, index)
            column, first, low, high = dot_x, dot_y, dot_y, dot_y
        low, high, last = min(low, dot_y), max(high, dot_y), dot_y
    if column is not None:
        _close_column(canvas, previous, column, first, low, high, last, index)


def _close_column(canvas: BrailleCanvas, previous: tuple[int, int] | None, column: int,
                  first: int, low: int, high: int, last: int, index: int) -> tuple[int, int]:
    if previous is not None:
        canvas.line(previous[0], previous[1], column, first, index)
    canvas.vertical(column, low, high, index)
    return column, last


class LineChart(Widget):
    """Series over a shared x axis (steps or epochs), with a legend line on top."""

    DEFAULT_CSS = """
    LineChart {
        width: 1fr;
        height: 1fr;
        min-height: 5;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(self, title: str, x_label: str = "step", *, empty_text: str = "no data yet",
                 y_floor: float | None = None, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.x_label = x_label
        self.empty_text = empty_text
        self.y_floor = y_floor  # e.g. 0 for losses and accuracies: no axis below zero
        self.series: list[ChartSeries] = []
        self.x_range: tuple[float, float] | None = None

    def on_mount(self) -> None:
        # Colours come from the theme at render time; a theme switch must redraw.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def set_series(self, series: list[ChartSeries], *, title: str | None = None,
                   x_label: str | None = None,
                   x_range: tuple[float, float] | None = None) -> None:
        """Replace what is drawn; ``x_range`` widens the x axis (e.g. to the planned steps)."""
        self.series = series
        self.x_range = x_range
        if title is not None:
            self.title = title
        if x_label is not None:
            self.x_label = x_label
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size
        if width < 12 or height < 3:
            return Text(self.title)
        lines = [self._legend(width)]
        bounds = data_bounds(self.series, self.x_range, self.y_floor)
        if bounds is None:
            lines.append(Text(self.empty_text, style=fg(muted_color(self.app))))
            return Text("\n").join(lines)
        rows, label_width = self._plot_rows(bounds, width, height - 2)
        lines.extend(rows)
        lines.append(self._x_axis(bounds, width, label_width + 1))
        return Text("\n").join(lines)

    def _legend(self, width: int) -> Text:
        legend = Text(self.title, style="bold", no_wrap=True, overflow="crop")
        for series in self.series:
            if not series.points:
                continue
            legend.append("  ━ ", style=fg(series_color(self.app, series.color_index)))
            legend.append(series.label)
            if series.value_note:
                legend.append(f" {series.value_note}", style=fg(muted_color(self.app)))
        legend.truncate(width)
        return legend

    def _y_labels(self, bounds: Bounds, rows: int) -> list[str]:
        ticks = {0: bounds.y_max, rows - 1: bounds.y_min}  # row -> value
        if rows >= 5:
            ticks[rows // 2] = (bounds.y_max + bounds.y_min) / 2
        labels = [""] * rows
        for row, label in zip(ticks, tick_labels(list(ticks.values())), strict=True):
            labels[row] = label
        return labels

    def _plot_rows(self, bounds: Bounds, width: int, rows: int) -> tuple[list[Text], int]:
        labels = self._y_labels(bounds, rows)
        label_width = max(len(label) for label in labels)
        canvas = BrailleCanvas(max(1, width - label_width - 1), rows)
        for index, series in enumerate(self.series):
            draw_series(canvas, bounds, series, index)
        axis_style = fg(muted_color(self.app))
        styles = [fg(series_color(self.app, s.color_index)) for s in self.series]
        out = []
        for row in range(rows):
            line = Text(labels[row].rjust(label_width) + "┤" if labels[row] else
                        " " * label_width + "│", style=axis_style, no_wrap=True)
            self._append_cells(line, canvas, row, styles)
            out.append(line)
        return out, label_width

    @staticmethod
    def _append_cells(line: Text, canvas: BrailleCanvas, row: int, styles: list[Style]) -> None:
        """One row of cells, merging neighbours of the same series into one styled run."""
        run_owner, run_chars = -1, list[str]()
        for col in range(canvas.width):
            owner = canvas.owner[row][col]
            if owner != run_owner and run_chars:
                line.append("".join(run_chars), style=styles[run_owner] if run_owner >= 0 else "")
                run_chars = []
            run_owner = owner
            run_chars.append(canvas.char(row, col))
        if run_chars:
            line.append("".join(run_chars), style=styles[run_owner] if run_owner >= 0 else "")

    def _x_axis(self, bounds: Bounds, width: int, offset: int) -> Text:
        """Tick labels under the plot: first, middle and last x, then the axis name."""
        span = width - offset
        left = compact_number(bounds.x_min)
        middle = compact_number((bounds.x_min + bounds.x_max) / 2)
        right = f"{compact_number(bounds.x_max)} {self.x_label}"
        gap = span - len(left) - len(middle) - len(right)
        if gap < 2:
            text = left + right.rjust(span - len(left))
        else:
            text = left + middle.center(gap + len(middle)) + right
        return Text((" " * offset + text)[:width], style=fg(muted_color(self.app)), no_wrap=True)
