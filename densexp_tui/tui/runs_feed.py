"""What the runs screen lists and when, past SYNC_LIMIT runs: the listing that the once-a-second
tick runs in a thread worker, the window queries (typing, folding, sorting, the cursor near
the end), and the bookkeeping of their answers on the UI thread: which runs run (to announce
their ends), whether the index has checked every run once (and how far that first check
is), when the next full check of every summary is due, and which answer is current.

The work itself is core's (core/runlisting.py, core/runwindow.py, core/namesync.py); the
screen (tui/screens/home.py) owns one RunsFeed, starts its workers and draws what they
bring; here is what lies between.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.message import Message

from densexp_tui.core.namesync import NamesSync
from densexp_tui.core.runlisting import read_listing, update_index
from densexp_tui.core.runstore import RunStore, RunSummary
from densexp_tui.core.runwindow import Window, WindowRequest, fetch_window
from densexp_tui.tui.check_progress import RunsChecked, posting_progress
from densexp_tui.tui.run_watch import ended_since

# A full check of every summary waits at least this many times its own last duration (at
# 100,000 runs it stats every summary); in between new and gone folders and running runs.
FULL_LIST_SPACING = 5.0
# ... and at least this long: it only catches summaries rewritten by other processes of
# runs that do not run (new, gone and running runs are seen every tick), and at 100,000
# runs it takes a core for seconds that the UI's repaints compete for.
FULL_CHECK_SECONDS = 30.0


class RunsListed(Message):
    """A worker fetched the window of rows; the handler redraws the visible rows."""

    def __init__(self, window: Window | None, generation: int, ticked: bool = False,
                 checked_in: float | None = None, ended: list[RunSummary] | None = None,
                 running: list[str] | None = None) -> None:
        super().__init__()
        self.window = window  # None: a tick under another screen that only watched
        self.generation = generation
        self.ticked = ticked  # from the periodic refresh (the next one may start)
        self.checked_in = checked_in  # seconds a full check of every summary took
        self.ended = ended or []  # runs that were running at the last tick and are not now
        self.running = running or []  # runs running now


class RunsFeed:
    """The listing's state between ticks (read and written on the UI thread; a worker
    reads ``running_ids`` and ``checked``, which the UI thread only replaces whole)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.ticking = False  # a tick's listing is in a worker: the next tick waits
        self.running_ids: list[str] = []
        self.checked = False  # the index has checked every run once
        self.check_read: tuple[int, int] | None = None  # how far that first check is
        self.generation = 0  # of the latest request: older answers are not shown
        self.last_full = 0.0
        self.last_full_seconds = 0.0
        self.last_hidden = 0.0
        self._names: NamesSync | None = None  # the names update's child process

    def names_sync(self) -> NamesSync:
        """The child process that keeps the index's names current (core/namesync.py)."""
        if self._names is None:
            self._names = NamesSync(self.store)
        return self._names

    def close(self) -> None:
        if self._names is not None:
            self._names.close()

    def full_due(self) -> bool:
        """Whether this tick checks every summary (the first time, then spaced out)."""
        return not self.checked or time.monotonic() - self.last_full >= max(
            FULL_CHECK_SECONDS, FULL_LIST_SPACING * self.last_full_seconds)

    def list_again_soon(self) -> None:
        """A run started, ended or was deleted: the next tick checks every summary."""
        self.last_full = 0.0

    def newer_request(self) -> int:
        """A new request (typing, folding, sorting): answers to the ones before are stale."""
        self.generation += 1
        return self.generation

    # -- in the workers ---------------------------------------------------------------------
    def tick(self, request: WindowRequest | None, full: bool, generation: int,
             previous: list[str], names: NamesSync, post: Callable[[Message], object]
             ) -> RunsListed:
        """The tick's listing: the index brought up to date (every summary when ``full``),
        the window of rows when ``request``, and the runs that ended since ``previous``."""
        progress = None if self.checked else posting_progress(post)
        checked_in = update_index(self.store, full, names, progress)
        # The runs known as running now, not when the tick began: the first rows may have
        # shown one meanwhile (a plain list, read once; the UI thread replaces it whole).
        previous = list(dict.fromkeys([*previous, *self.running_ids]))
        listing = read_listing(self.store, request, previous)
        return RunsListed(listing.window, generation, ticked=True, checked_in=checked_in,
                          ended=ended_since(previous, listing.summaries),
                          running=listing.running)

    def query(self, request: WindowRequest, generation: int, from_folders: bool
              ) -> RunsListed:
        """One window of rows (``from_folders``: the newest straight from their folders,
        before the index has checked every run)."""
        return RunsListed(fetch_window(self.store.index, request, from_folders), generation)

    # -- on the UI thread -------------------------------------------------------------------
    def listed(self, message: RunsListed) -> tuple[list[RunSummary], bool]:
        """Take in a worker's answer: the runs whose end to announce, and whether its
        window is the current one (to be shown)."""
        ended: list[RunSummary] = []
        if message.ticked:
            self.ticking = False
            # Only runs still known as running: a listing on the UI thread meanwhile may
            # have reported them already.
            ended = ended_since(self.running_ids, message.ended)
            self.running_ids = message.running
        if message.checked_in is not None:
            self.checked = True
            self.last_full = time.monotonic()
            self.last_full_seconds = message.checked_in
        if message.window is None:
            return ended, False
        if not message.ticked:  # the first rows may show a run running before any tick
            shown = [row.run_id for row in message.window.rows
                     if isinstance(row, RunSummary) and row.status == "running"]
            self.running_ids = list(dict.fromkeys([*self.running_ids, *shown]))
        # Overtaken by newer typing, folding or sorting: its own answer follows.
        return ended, message.generation == self.generation

    def checked_so_far(self, message: RunsChecked) -> None:
        self.check_read = (message.read, message.to_read)
