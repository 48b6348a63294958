"""Best epoch, early-stopping patience, best validation and test metrics, final status."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from densexp_tui.core.runview import EarlyStopping, RunView
from densexp_tui.tui.widgets.formatting import format_metric
from densexp_tui.tui.widgets.palette import fg, muted_color, status_color, theme_color

ROW_LABEL_WIDTH = 9
COLUMNS = (("loss", "loss"), ("accuracy", "acc"), ("f1", "F1"))


class EarlyStoppingPanel(Widget):
    """A small table (best epoch's val metrics, test metrics), patience, final status:
    the answer to "how good is it so far, and will it stop early?" in 29 columns."""

    DEFAULT_CSS = """
    EarlyStoppingPanel {
        height: auto;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.view: RunView | None = None
        self._height: int | None = None  # the height laid out last

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def show(self, view: RunView) -> None:
        self.view = view
        # A new layout only when the height changes (the "Finished" line): the dashboard
        # calls this on every redraw, and a layout redraws the whole screen.
        height = self._content_height()
        self.refresh(layout=height != self._height)
        self._height = height

    def _content_height(self) -> int:
        return 5 if (self.view and self.view.finished) else 4

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._content_height()

    def render(self) -> Text:
        view = self.view or RunView()
        stopping = view.early_stopping
        muted = fg(muted_color(self.app))
        header = Text(" " * ROW_LABEL_WIDTH, no_wrap=True)
        header.append("".join(f"{short:>7}" for _, short in COLUMNS), style=muted)
        best_label = f"best e{stopping.best_epoch}" if stopping.best_epoch else "best"
        lines = [header, self._metrics_row(best_label, stopping.best),
                 self._metrics_row("test", view.test), self._patience_line(stopping)]
        if view.finished:
            final = Text(f"Finished: {view.status}",
                         style=fg(status_color(self.app, view.status), bold=True), no_wrap=True)
            lines.append(final)
        return Text("\n").join(lines)

    def _metrics_row(self, label: str, metrics: dict[str, Any] | None) -> Text:
        row = Text(label.ljust(ROW_LABEL_WIDTH), style="bold", no_wrap=True)
        if not metrics:
            row.append("      -" * len(COLUMNS), style=fg(muted_color(self.app)))
            return row
        row.append("".join(f"{format_metric(metrics.get(key)):>7}" for key, _ in COLUMNS))
        return row

    def _patience_line(self, stopping: EarlyStopping) -> Text:
        line = Text("Early stop ", style="bold", no_wrap=True)
        if not stopping.enabled:
            line.append("off", style=fg(muted_color(self.app)))
            return line
        left = stopping.patience_left
        # Out of patience: the run stops (or stopped) early; say so in the warning colour.
        line.append(f"patience left {left}",
                    style=fg(theme_color(self.app, "warning"), bold=True) if left == 0 else "")
        return line
