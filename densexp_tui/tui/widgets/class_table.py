"""Per-class precision, recall and F1 of one epoch, with an F1 bar per class."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from densexp_tui.tui.widgets.formatting import format_metric, shorten
from densexp_tui.tui.widgets.palette import fg, muted_color, series_color, status_color

BAR_CELLS = "▏▎▍▌▋▊▉█"
METRIC_COLUMNS = (("precision", "prec"), ("recall", "recall"), ("f1", "F1"))


def bar(fraction: float, width: int) -> str:
    """A horizontal bar ``width`` cells long at full scale, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (BAR_CELLS[rest - 1] if rest else "")


class PerClassTable(Widget):
    """Rows: class, precision, recall, F1 (with a bar), support; the weakest F1 is marked."""

    DEFAULT_CSS = """
    PerClassTable {
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
        self.per_class: dict[str, dict[str, Any]] = {}
        self.macro: dict[str, Any] = {}
        self.caption = "Per class (val)"

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def set_metrics(self, per_class: dict[str, dict[str, Any]], macro: dict[str, Any],
                    caption: str) -> None:
        if (per_class, macro, caption) != (self.per_class, self.macro, self.caption):
            self.per_class, self.macro, self.caption = per_class, macro, caption
            self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 3 + max(1, len(self.per_class))

    def render(self) -> Text:
        width = self.content_size.width or 60
        lines = [Text(self.caption, style="bold", no_wrap=True)]
        if not self.per_class:
            lines.append(Text("no validation results yet", style=fg(muted_color(self.app))))
            return Text("\n").join(lines)
        name_width = min(14, max(5, max(len(name) for name in self.per_class)))
        bar_width = max(0, min(20, width - name_width - 32))
        lines.append(self._header(name_width, bar_width))
        weakest = min(self.per_class, key=lambda n: self.per_class[n].get("f1") or 0.0)
        for name, values in self.per_class.items():
            lines.append(self._row(name, values, name_width, bar_width, name == weakest))
        lines.append(self._row("macro", {**self.macro, "support": None}, name_width, 0, False))
        return Text("\n").join(lines)

    def _header(self, name_width: int, bar_width: int) -> Text:
        text = "class".ljust(name_width) + "".join(f"{short:>7}" for _, short in METRIC_COLUMNS)
        text += "  " + "support".rjust(7)
        return Text(text, style=fg(muted_color(self.app)), no_wrap=True)

    def _row(self, name: str, values: dict[str, Any], name_width: int, bar_width: int,
             weakest: bool) -> Text:
        line = Text(shorten(name, name_width).ljust(name_width),
                    style=fg(status_color(self.app, "failed")) if weakest else "bold",
                    no_wrap=True)
        for key, _ in METRIC_COLUMNS:
            line.append(f"{format_metric(values.get(key)):>7}")
        support = values.get("support")
        line.append("  " + (f"{support:>7}" if support is not None else " " * 7))
        f1 = values.get("f1")
        if bar_width and isinstance(f1, (int, float)):
            line.append("  " + bar(f1, bar_width), style=fg(series_color(self.app, 0)))
        return line
