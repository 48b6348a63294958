"""Tails a run's log.txt (everything TensorFlow and friends printed) into a Log widget."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Log

from densexp_tui.core.logtail import LogFollower

# On open, show only the end of a long log; older lines stay in the file.
INITIAL_TAIL_BYTES = 64 * 1024
MAX_READ_BYTES = 256 * 1024
POLL_SECONDS = 0.5


class LogPane(Log):
    """Shows the last lines of the log and, when following, what gets appended."""

    DEFAULT_CSS = """
    LogPane {
        height: 1fr;
        border: none;
    }
    """

    def __init__(self, log_path: Path, *, follow: bool, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(max_lines=2000, auto_scroll=True, name=name, id=id, classes=classes)
        self.log_path = log_path
        self.follow = follow
        self._follower = LogFollower(log_path, INITIAL_TAIL_BYTES, MAX_READ_BYTES)
        self._said_missing = False

    def on_mount(self) -> None:
        self.read_new_lines()
        if self.follow:
            self.set_interval(POLL_SECONDS, self.read_new_lines)

    def on_show(self) -> None:
        # Lines written while the Log tab was hidden could not scroll it (no size yet):
        # coming into view, it shows the newest lines, as a tail should.
        if self.auto_scroll:
            self.call_after_refresh(self.scroll_end, animate=False)

    def read_new_lines(self) -> None:
        """Append the complete lines written since the last read (small, bounded reads)."""
        lines = self._follower.read_new_lines()
        if lines is None:
            if not self._said_missing:
                self._said_missing = True
                self.write_line(f"(no log yet: {self.log_path.name})")
            return
        if lines:
            self.write_lines(lines)
