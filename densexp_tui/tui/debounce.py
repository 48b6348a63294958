"""Call something once a burst of calls pauses (filter-as-you-type past SYNC_LIMIT runs).

Each key of a filter typed fast used to start a query worker at once; a thread worker that
Textual "cancels" still runs to its end, so at 100,000 runs several SQLite queries held the
GIL against the frames of the next keys (wall p95 80-130 ms per key for 4-7 ms of UI CPU).
Waiting until the keys pause runs one query for the text the user stopped at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.message_pump import MessagePump
    from textual.timer import Timer

# The filter's query runs once typing pauses this long: longer than the gap between keys
# typed fast, short enough not to feel like a wait.
FILTER_PAUSE_SECONDS = 0.12


class Debounced:
    """``call()`` (re)starts a one-shot timer on ``owner``; ``callback`` runs once ``seconds``
    (default FILTER_PAUSE_SECONDS, read at each call) have passed since the last call."""

    def __init__(self, owner: MessagePump, callback: Callable[[], None],
                 seconds: float | None = None) -> None:
        self.owner = owner
        self.seconds = seconds
        self.callback = callback
        self._timer: Timer | None = None

    def __call__(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.owner.set_timer(
            FILTER_PAUSE_SECONDS if self.seconds is None else self.seconds, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.callback()
