"""Ask for a file path, completing it as you type; confirm before overwriting."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from densexp_tui.tui.dialogs.confirm import ConfirmDialog


class PathSuggester(Suggester):
    """Completes the last path component from what exists on disk (right arrow accepts)."""

    def __init__(self, suffix: str = "") -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.suffix = suffix

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        folder, _, stem = value.rpartition("/")
        directory = Path(folder or ".").expanduser()
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return None
        for name in names:
            if name.startswith(stem) and name != stem and not name.startswith("."):
                is_dir = (directory / name).is_dir()
                if is_dir or not self.suffix or name.endswith(self.suffix):
                    completed = f"{folder}/{name}" if folder else name
                    return completed + "/" if is_dir else completed  # ready for the next part
        return None


class PathPrompt(ModalScreen[Path | None]):
    """Dismisses with the chosen path, or None on escape."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="path.cancel", tooltip="Close without a path"),
    ]

    def __init__(self, title: str, *, default: str = "", must_exist: bool = False,
                 confirm_overwrite: bool = False, suffix: str = ".toml") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.default = default
        self.must_exist = must_exist
        self.confirm_overwrite = confirm_overwrite
        self.suffix = suffix

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(self.title_text, classes="dialog-title")
            yield Input(self.default, id="path-input", placeholder="path/to/file" + self.suffix,
                        suggester=PathSuggester(self.suffix))
            yield Static("enter: accept · right arrow: complete · esc: cancel",
                         id="path-message", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self._complain("type a path first")
            return
        path = Path(text).expanduser()
        if self.must_exist and not path.is_file():
            self._complain(f"{path}: no such file")
        elif path.is_dir():
            self._complain(f"{path}: is a folder; allowed: a file path")
        elif self.confirm_overwrite and path.exists():
            self.app.push_screen(
                ConfirmDialog(f"{path} exists. Replace it?", title="Overwrite file?",
                              yes="Overwrite"),
                lambda yes: self._overwrite_answered(path, bool(yes)),
            )
        else:
            self.dismiss(path)

    def _overwrite_answered(self, path: Path, yes: bool) -> None:
        # A callback's return value is awaited: dismiss() must not be returned from here.
        if yes:
            self.dismiss(path)

    def _complain(self, message: str) -> None:
        note = self.query_one("#path-message", Static)
        note.update(message)
        note.add_class("-error")

    def action_cancel(self) -> None:
        self.dismiss(None)
