"""An error as a modal: the one-line reason and, for a run, the tail of its log."""

from __future__ import annotations

from collections import deque
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Log, Static

LOG_TAIL_LINES = 200


def read_log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a log (decoding leniently: libraries write anything)."""
    if path is None:
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]
    except OSError:
        return []


class ErrorDialog(ModalScreen[None]):
    """Shows what went wrong without taking the app down; escape or enter closes it."""

    BINDINGS = [
        Binding("escape,enter,q", "close", "Close", id="error.close",
                tooltip="Close this message and go back"),
    ]

    def __init__(self, title: str, message: str, log_path: Path | None = None) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.message = message
        self.log_path = log_path

    def compose(self) -> ComposeResult:
        self._tail = read_log_tail(self.log_path)
        tail = self._tail
        with Vertical(classes="dialog-box error-box"):
            yield Static(self.title_text, classes="dialog-title error-title")
            yield Static(self.message, classes="dialog-body", markup=False)
            if tail:
                yield Static(f"Last lines of {self.log_path}:", classes="dialog-hint",
                             markup=False)
                yield Log(id="error-log", max_lines=LOG_TAIL_LINES, auto_scroll=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close (esc)", id="close", variant="primary")

    def on_mount(self) -> None:
        if self._tail:  # a Log can only be written once it is mounted
            self.query_one("#error-log", Log).write_lines(self._tail)
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
