"""How far the runs screen's first check of every run is, as messages from its worker.

A cold index build (no ``.densexp-index/`` yet) at 100,000 runs reads every summary for
20-40 s; the worker's ``progress(read, to_read)`` (core/runcheck.py) becomes ``RunsChecked``
messages, throttled (core/runlisting.py ``ThrottledProgress``), so the UI thread gets a few
per second whatever the number of runs, and only the worker's thread calls it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from densexp_tui.core.runlisting import ThrottledProgress

if TYPE_CHECKING:
    from collections.abc import Callable

# Seconds between two reports at least (the first and the last always go).
REPORT_SECONDS = 0.3


class RunsChecked(Message):
    """How far the worker's check of every run is: ``read`` of ``to_read`` summaries."""

    def __init__(self, read: int, to_read: int) -> None:
        super().__init__()
        self.read, self.to_read = read, to_read


def posting_progress(post: Callable[[Message], object]) -> ThrottledProgress:
    """A ``progress(read, to_read)`` that posts ``RunsChecked`` through ``post``."""
    def report(read: int, to_read: int) -> None:
        post(RunsChecked(read, to_read))

    return ThrottledProgress(report, REPORT_SECONDS)
