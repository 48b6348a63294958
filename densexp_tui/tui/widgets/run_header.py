"""The dashboard's top lines: run name, status, device, parameters, dataset and model."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from densexp_tui.core.runview import RunView, describe_replicas
from densexp_tui.tui.widgets.formatting import format_count, format_percent
from densexp_tui.tui.widgets.palette import fg, muted_color, status_color

STATUS_ICONS = {
    "running": "●", "completed": "✔", "failed": "✘", "diverged": "✘",
    "cancelled": "■", "interrupted": "!", "waiting": "…",
}


class RunHeader(Widget):
    """Two lines: who the run is and how it stands; the second carries its id and message."""

    DEFAULT_CSS = """
    RunHeader {
        height: 2;
        width: 1fr;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, run_id: str, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.run_id = run_id
        self.view: RunView | None = None
        self.mode_note = ""

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def show(self, view: RunView, mode_note: str = "") -> None:
        self.view, self.mode_note = view, mode_note
        self.refresh()

    def render(self) -> Text:
        view = self.view or RunView()
        header = view.header
        status = view.status
        line = Text(no_wrap=True)
        line.append(header.name or self.run_id, style="bold")
        line.append(f"  {STATUS_ICONS.get(status, '?')} {status}",
                    style=fg(status_color(self.app, status), bold=True))
        muted = fg(muted_color(self.app))
        if header.device:
            line.append(f"  {header.device}")
        replicas = describe_replicas(header.replicas, header.visible_gpus)
        if replicas:
            line.append(f" · {replicas}", style=muted)
        if header.total_params:
            line.append(f"  params {format_count(header.trainable_params)} trainable of "
                        f"{format_count(header.total_params)} "
                        f"({format_percent(header.trainable_fraction)})")
        model = header.model.rstrip("/").rsplit("/", 1)[-1]  # a local model folder: its name
        described = " · ".join(p for p in (header.dataset, model, header.finetune) if p)
        second = Text(described + "  " if described else "", no_wrap=True)
        second.append(self.run_id, style=muted)
        if self.mode_note:
            second.append(f"  {self.mode_note}", style=muted)
        if view.message:
            second.append(f"  {view.message}", style=fg(status_color(self.app, status)))
        return Text("\n").join([line, second])
