"""Tails a run's log.txt (everything TensorFlow and friends printed) into a Log widget."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Log

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
        self._offset: int | None = None
        self._partial = ""

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
        """Append the complete lines written since the last read (small, local reads)."""
        try:
            size = self.log_path.stat().st_size
            if self._offset is None or size < self._offset:  # first read, or rotated/truncated
                self._offset = max(0, size - INITIAL_TAIL_BYTES)
            if size == self._offset:
                return
            with open(self.log_path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(MAX_READ_BYTES)
        except OSError:
            if self._offset is None:
                self._offset = 0
                self.write_line(f"(no log yet: {self.log_path.name})")
            return
        self._offset += len(chunk)
        text = self._partial + chunk.decode("utf-8", errors="replace")
        lines = text.split("\n")
        self._partial = lines.pop()
        if lines:
            self.write_lines(lines)
