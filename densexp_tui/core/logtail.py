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
