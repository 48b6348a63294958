"""Calibration view: a reliability diagram drawn in text, with ECE, and a confidence histogram
of right vs wrong test predictions.

One line per confidence bin that holds examples (15 equal-width bins of the top-label
confidence): the bar is the bin's accuracy, ``│`` marks its mean confidence (a perfectly
calibrated model has the bar end on the mark), then the bin's count as a histogram split
into right (█) and wrong (░). The dashboard reads the predictions once, in a worker
(core.evaluation_view), and gives the result to this view and the errors view.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from densexp_tui.core.evaluation_view import CalibrationData, EvaluationData
from densexp_tui.tui.widgets.palette import fg, muted_color, series_color

WAITING = "Calibration appears once the run has been tested."


class CalibrationView(Widget, can_focus=True):
    """Reliability diagram and right/wrong confidence histogram of the test split."""

    DEFAULT_CSS = "CalibrationView { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="evaluation-view")
        self.data: CalibrationData | None = None
        self.problem = WAITING

    def show(self, data: EvaluationData) -> None:
        self.data = data.calibration
        self.problem = data.problem
        self.refresh()

    def render(self) -> Text:
        muted = fg(muted_color(self.app))
        if self.data is None:
            return Text(self.problem or WAITING, style=muted)
        styles = BarStyles(fg(series_color(self.app, 0)), fg(series_color(self.app, 1)),
                           muted)
        return reliability_text(self.data, self.size.width, styles)


@dataclass(frozen=True)
class BarStyles:
    right: Style  # accuracy bars and right predictions
    wrong: Style
    muted: Style


def reliability_text(data: CalibrationData, width: int, styles: BarStyles) -> Text:
    """The whole view as rich Text, fitted to ``width`` columns."""
    width = max(width, 40)
    bar_width = max(10, (width - 34) * 3 // 5)
    hist_width = max(6, width - 34 - bar_width)
    text = Text()
    text.append(f"Reliability · test · {data.n} examples · ", style=styles.muted)
    text.append(f"ECE {data.ece:.3f}", style=styles.right + Style(bold=True))
    text.append("\n")
    text.append(f"{'confidence':<10} {'accuracy, │ mean confidence':<{bar_width}} "
                f"{'acc conf':>9} {'n':>6} ", style=styles.muted)
    text.append("█ right", style=styles.right)
    text.append(" ░ wrong\n", style=styles.wrong)
    most = max((r + w for r, w in zip(data.right_counts, data.wrong_counts, strict=True)),
               default=1) or 1
    for index, bin_ in enumerate(data.bins):
        count = int(bin_["count"] or 0)
        if not count:
            continue
        accuracy, confidence = float(bin_["accuracy"] or 0), float(bin_["confidence"] or 0)
        text.append(f"{float(bin_['lo'] or 0):.2f}–{float(bin_['hi'] or 0):.2f} ",
                    style=styles.muted)
        text.append_text(accuracy_bar(accuracy, confidence, bar_width, styles))
        text.append(f" {accuracy:4.2f} {confidence:4.2f} {count:>6} ")
        right, wrong = data.right_counts[index], data.wrong_counts[index]
        text.append("█" * round(right / most * hist_width), style=styles.right)
        text.append("░" * round(wrong / most * hist_width), style=styles.wrong)
        text.append("\n")
    return text


def accuracy_bar(accuracy: float, confidence: float, width: int, styles: BarStyles) -> Text:
    """``width`` cells: filled up to the accuracy, a │ where the mean confidence is."""
    filled = round(accuracy * width)
    mark = min(width - 1, max(0, round(confidence * width) - 1))
    bar = Text()
    for cell in range(width):
        if cell == mark:
            bar.append("│", style=Style(bold=True))
        elif cell < filled:
            bar.append("█", style=styles.right)
        else:
            bar.append("·", style=styles.muted)
    return bar
