"""The palette's "Run queue" entry: how the app's queue trains (one run at a time, or one
per GPU), how many GPUs were found, and a switch for ``[queue] per_gpu``.

Renders and routes only: the app counts the GPUs, writes the user config file and changes
the queue (``tui.services.QueueSettings``, handed in by the app); the lines are
``engine.gpu_queue.QueueSetting``'s.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, Switch

from densexp_tui.engine.gpu_queue import QueueSetting
from densexp_tui.tui.messages import QueueChanged
from densexp_tui.tui.services import QueueSettings

WHEN = "A change takes effect when the queue next starts a run; runs training now keep going."


class RunQueueDialog(ModalScreen[None]):
    """Shows the queue's mode and switches per_gpu (saved in the user config file)."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="run_queue.close",
                tooltip="Close the Run queue dialog"),
    ]

    def __init__(self, queue: QueueSettings) -> None:
        super().__init__(classes="dialog")
        self.queue = queue
        self._drawn: bool | None = None  # a value the dialog set on the switch, not the user

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static("Run queue", classes="dialog-title")
            # markup=False: the lines hold paths, errors and "[queue]", never markup.
            yield Static(id="queue-mode", markup=False)
            yield Static(id="queue-gpus", classes="dialog-body", markup=False)
            with Horizontal(id="per-gpu-row"):
                yield Switch(id="per-gpu")
                yield Static("One run per GPU at a time ([queue] per_gpu)",
                             id="per-gpu-label", markup=False)
            yield Static(WHEN, classes="dialog-hint")
            yield Static(id="queue-saved", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.queue.find_gpus()  # once per app: a child process asks TensorFlow
        setting = self._show()
        if setting.path is not None:
            self._say(f"Saved in {setting.path} · space: switch · esc: close")
        self.query_one(Switch).focus()

    @on(QueueChanged)
    def _queue_changed(self) -> None:
        self._show()  # the GPUs were counted, or the mode changed

    def _show(self) -> QueueSetting:
        setting = self.queue.queue_setting()
        self.query_one("#queue-mode", Static).update(setting.mode_line())
        self.query_one("#queue-gpus", Static).update(setting.gpus_line())
        switch = self.query_one(Switch)
        if switch.value != setting.per_gpu:
            self._drawn = setting.per_gpu
            switch.value = setting.per_gpu  # posts Switch.Changed, which _switched skips
        return setting

    @on(Switch.Changed)
    def _switched(self, event: Switch.Changed) -> None:
        event.stop()
        if self._drawn is not None and event.value == self._drawn:
            self._drawn = None
            return
        problem = self.queue.set_queue_per_gpu(event.value)
        setting = self._show()
        if problem is None:
            value = "true" if setting.per_gpu else "false"
            self._say(f"Saved: per_gpu = {value} in {setting.path}")
        else:
            self._say(f"Not saved: {problem}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        saved = self.query_one("#queue-saved", Static)
        saved.update(text)
        saved.set_class(error, "-error")

    def action_close(self) -> None:
        self.dismiss(None)
