"""Where a run is: epoch and step with a bar, throughput, learning rate, elapsed and ETA."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widget import Widget

from densexp_tui.core.runview import RunView
from densexp_tui.core.tokens import format_padding_efficiency
from densexp_tui.tui.widgets.formatting import format_duration
from densexp_tui.tui.widgets.palette import fg, muted_color, status_color, theme_color


class ProgressPanel(Widget):
    """Two lines under the header. Live runs tick elapsed/ETA by the wall clock."""

    DEFAULT_CSS = """
    ProgressPanel {
        height: 2;
        width: 1fr;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.view: RunView | None = None
        self.live = False
        self.note = ""  # e.g. the replay state

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def show(self, view: RunView, *, live: bool, note: str = "") -> None:
        self.view, self.live, self.note = view, live, note
        self.refresh()

    def render(self) -> Text:
        view = self.view or RunView()
        progress = view.progress(time.time() if self.live else None)
        width = self.content_size.width or 78
        epochs = f"/{progress.epochs}" if progress.epochs else ""
        head = Text(f"Epoch {progress.epoch}{epochs} ", style="bold", no_wrap=True)
        step = (f"  step {progress.step_in_epoch}/{progress.steps_per_epoch}"
                if progress.steps_per_epoch else f"  step {progress.global_step}")
        percent = f" {progress.fraction * 100:3.0f}%"
        # The note (the replay's state, and which key plays it again) ends the first line and
        # the bar makes room for it: at the end of the details it was cut at 80 columns.
        note = Text(f"  {self.note}", style="bold", no_wrap=True) if self.note else Text()
        bar_width = max(4, width - len(head) - len(step) - len(percent) - note.cell_len)
        head.append_text(self._bar(progress.fraction, bar_width, view.status))
        head.append(percent + step)
        head.append_text(note)
        return Text("\n").join([head, self._details(view, progress)])

    def _bar(self, fraction: float, width: int, status: str) -> Text:
        done = round(fraction * width)
        color = theme_color(self.app, "primary") if status == "running" else status_color(
            self.app, status)
        bar = Text("━" * done, style=fg(color))
        bar.append("━" * (width - done), style=fg(muted_color(self.app)))
        return bar

    def _details(self, view: RunView, progress) -> Text:
        parts = []
        if progress.samples_per_sec is not None:
            parts.append(f"{progress.samples_per_sec:,.0f} samples/s")
        if progress.padding_efficiency is not None:
            parts.append(format_padding_efficiency(progress.padding_efficiency))
        if progress.learning_rate is not None:
            parts.append(f"lr {progress.learning_rate:.2e}")
        parts.append(f"elapsed {format_duration(progress.elapsed)}")
        if not view.finished:
            parts.append(f"ETA {format_duration(progress.eta)}")
        return Text(" · ".join(parts), style=fg(muted_color(self.app)), no_wrap=True)
