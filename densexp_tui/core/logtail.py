"""The end of a text log (log.txt, a detached run's .out), read from the end of the file.

Libraries write anything into these logs, so bytes decode leniently; only the last
``max_bytes`` are read, so a log of any size costs the same.
"""

from __future__ import annotations

import os
from pathlib import Path

TAIL_BYTES = 256 * 1024


def tail_lines(path: Path | None, lines: int, max_bytes: int = TAIL_BYTES) -> list[str]:
    """The last ``lines`` lines of ``path`` ([] when it is missing or unreadable).

    A line cut by the ``max_bytes`` window is dropped rather than shown half."""
    if path is None or lines <= 0:
        return []
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - max_bytes)
            handle.seek(start)
            chunk = handle.read()
    except OSError:
        return []
    text = chunk.decode("utf-8", errors="replace")
    found = text.splitlines()
    if start > 0 and found:
        found = found[1:]  # began mid-line
    return found[-lines:]


def last_said_line(path: Path | None, max_bytes: int = 16 * 1024) -> str:
    """What a densexp child's output ended on: its last "densexp: ..." line (the one-line
    refusal or failure), else its last non-empty line; "" for no output."""
    lines = [line for line in tail_lines(path, 40, max_bytes) if line.strip()]
    said = [line for line in lines if line.startswith("densexp: ")]
    return (said or lines or [""])[-1]


class LogFollower:
    """Reads what is appended to a growing log, in complete lines (the dashboard's Log tab).

    The first read starts ``initial_bytes`` from the end (a long log shows only its end);
    a file that shrank (truncated or rotated) starts over the same way. A line still being
    written is held back until its newline arrives. Each read is at most ``max_bytes``, so
    a burst of output costs a bounded amount per poll. A line cut by the first window is
    dropped, as tail_lines does."""

    def __init__(self, path: Path, initial_bytes: int = 64 * 1024,
                 max_bytes: int = TAIL_BYTES) -> None:
        self.path = path
        self.initial_bytes = initial_bytes
        self.max_bytes = max_bytes
        self._offset: int | None = None
        self._partial = ""
        self._mid_line = False  # started inside a line: its cut-off start is not shown

    def read_new_lines(self) -> list[str] | None:
        """The complete lines written since the last call; None while the file is missing."""
        try:
            size = self.path.stat().st_size
            if self._offset is None or size < self._offset:
                self._offset, self._partial = max(0, size - self.initial_bytes), ""
                self._mid_line = self._offset > 0
            if size == self._offset:
                return []
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(self.max_bytes)
        except OSError:
            return None
        self._offset += len(chunk)
        lines = (self._partial + chunk.decode("utf-8", errors="replace")).split("\n")
        self._partial = lines.pop()
        if self._mid_line and lines:
            self._mid_line, lines = False, lines[1:]
        return lines
