"""Announcing run and sweep ends in the app: a toast, the bell and a desktop notification.

Only when the user is not already looking at what ended (its dashboard, or the Sweeps
screen, which reports its own sweeps) and the user config has notifications on. The
escapes go through Textual's driver, in order with the frames it writes, so the screen is
never corrupted (the same path Textual uses for the bell and the clipboard).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from densexp_tui.share.notify import alert_sequence, end_message

if TYPE_CHECKING:
    from textual.app import App
    from textual.notifications import SeverityLevel


class SweepStarted(Message):
    """A screen started a sweep process; the app watches it to the end."""

    def __init__(self, name: str, process: subprocess.Popen[bytes]) -> None:
        super().__init__()
        self.name = name
        self.process = process


class SweepEnded(Message):
    def __init__(self, name: str, exit_code: int, detail: str = "") -> None:
        super().__init__()
        self.name = name
        self.exit_code = exit_code
        self.detail = detail  # sweep_end_detail: how it ended, read off the UI thread


def sweep_status(exit_code: int) -> str:
    return "completed" if exit_code == 0 else "failed"


def sweep_end_detail(runs_dir: Path, name: str, exit_code: int) -> str:
    """How a sweep started from the app ended: "exit 0", or the exit code and the line its
    output ended on (a refusal, a failure), so no one must open .sweeps/<name>.out for it."""
    from densexp_tui.core.logtail import last_said_line
    from densexp_tui.sweep.launch import sweep_output_path

    said = "" if exit_code == 0 else last_said_line(sweep_output_path(runs_dir, name))
    return f"exit {exit_code}: {said.removeprefix('densexp: ')}" if said else \
        f"exit {exit_code}; see .sweeps/{name}.out"


def alert(app: App[Any], kind: str, name: str, status: str, detail: str = "",
          *, toast: bool = True, ring: bool = True) -> None:
    """Toast (unless the caller already showed one), bell and desktop escape (if ``ring``)."""
    title, body = end_message(kind, name, status, detail)
    if toast:
        severity: SeverityLevel = "information" if status == "completed" else "warning"
        app.notify(body, title=title.removeprefix("densexp: ").capitalize(), severity=severity)
    if ring:
        write_escape(app, alert_sequence(title, body))


def write_escape(app: App[Any], sequence: str) -> None:
    driver = app._driver  # Textual's own bell and clipboard use this same writer
    if driver is not None and sequence:
        driver.write(sequence)
