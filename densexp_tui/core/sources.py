"""Event sources for every view of a run: one interface, ``poll() -> list[Event]`` and ``finished``.

``FollowSource`` tails a run's events.jsonl (a run of this app, or one started by
``densexp run`` in another terminal: the trainer flushes every line, so following the file is
the single path). ``ReplaySource`` plays a recorded log back at its recorded pace, 10x, or as
fast as possible, with pause and seeking to an epoch.

Both are polled from a worker thread (the dashboard's, the compare loader's) and never touch
widgets. They live in core (no Textual, no TensorFlow), so the CLI, tests and benchmarks use
the same code.

Both read the log through core's ``EventFollower``, which thins step lines while it
catches up a large backlog, so a million-event log opens in about a second.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Protocol

from densexp_tui.core.events import CATCH_UP_STEP_EVENTS, Event, EventFollower
from densexp_tui.core.runstore import RunSummary, with_live_status

# Replays compress idle time: no gap between two events lasts longer than this at 1x.
MAX_REPLAY_GAP_SECONDS = 2.0
# As-fast-as-possible replays hand out this many events per poll, so the UI stays responsive.
MAX_SPEED_BATCH = 5_000
# How often a follower looks at summary.json to notice a run that died without run_finished.
SUMMARY_CHECK_SECONDS = 2.0


class EventSource(Protocol):
    """What the dashboard's worker polls."""

    @property
    def finished(self) -> bool: ...

    # True when the latest poll's events replace everything before (a replay's seek).
    last_poll_reset: bool

    def poll(self) -> list[Event]: ...


class FollowSource:
    """Tails a live events.jsonl. Finished once run_finished arrived, or once the run's
    summary says it is no longer running and the whole log has been read."""

    last_poll_reset = False  # a live log never starts over

    def __init__(self, events_path: Path, catch_up_steps: int = CATCH_UP_STEP_EVENTS) -> None:
        self.events_path = Path(events_path)
        self.summary_path = self.events_path.parent / "summary.json"
        self._tail = EventFollower(self.events_path, catch_up_steps)
        self._saw_run_finished = False
        self._summary_final = False
        self._next_summary_check = 0.0

    @property
    def finished(self) -> bool:
        return self._saw_run_finished or (
            self._summary_final and self._tail.backlog_bytes() == 0
        )

    @property
    def skipped(self) -> int:
        return self._tail.skipped

    def poll(self) -> list[Event]:
        events = [event for _, event in self._tail.read()]
        if any(event.kind == "run_finished" for event in events):
            self._saw_run_finished = True
        self._check_summary()
        return events

    def _check_summary(self) -> None:
        """A process killed mid-run writes no run_finished; its summary (pid gone) tells."""
        now = time.monotonic()
        if self._summary_final or now < self._next_summary_check:
            return
        self._next_summary_check = now + SUMMARY_CHECK_SECONDS
        status = read_live_status(self.summary_path)
        self._summary_final = status is not None and status != "running"


def read_live_status(summary_path: Path) -> str | None:
    """The run's status from summary.json ('interrupted' when its process is gone)."""
    try:
        record = json.loads(summary_path.read_text(encoding="utf-8"))
        summary = RunSummary.from_dict(record)
    except (OSError, ValueError, TypeError):
        return None
    return with_live_status(summary, summary_path.parent).status


class ReplaySource:
    """Plays a recorded log back: speed 1 (recorded pace), 10, or None (as fast as possible).

    Recorded time is compressed: no gap between two events counts for more than
    ``MAX_REPLAY_GAP_SECONDS`` (per raw line the gap spans, so thinned logs keep their pace).
    ``seek_to_epoch`` and ``jump_to_end`` move the position; after a seek the next ``poll``
    returns every event from the start up to the new position and sets ``last_poll_reset``,
    so the consumer rebuilds its view from scratch (this is also how scrubbing backwards
    works). Controls may be called from the UI thread while a worker polls.
    """

    def __init__(self, events_path: Path, speed: float | None = 10.0,
                 catch_up_steps: int = CATCH_UP_STEP_EVENTS) -> None:
        self.events_path = Path(events_path)
        self._catch_up_steps = catch_up_steps
        self._lock = threading.Lock()
        self._events: list[Event] | None = None  # loaded on the first poll, in the worker
        self._replay_times: list[float] = []
        self._epoch_ends: dict[int, int] = {}  # epoch -> index just after its epoch event
        self._cursor = 0
        self._speed = speed
        self._paused = False
        self._clock_base_real = 0.0
        self._clock_base_replay = 0.0
        self._reset_pending = False
        # Whether the latest poll started over from the first event (set by poll, atomically).
        self.last_poll_reset = False
        self.skipped = 0

    # -- loading --------------------------------------------------------------------------------
    def _ensure_loaded(self) -> list[Event]:
        if self._events is None:
            self._load()
        assert self._events is not None
        return self._events

    def _load(self) -> None:
        tail = EventFollower(self.events_path, self._catch_up_steps)
        numbered: list[tuple[int, Event]] = []
        while batch := tail.read():
            numbered.extend(batch)
        self.skipped = tail.skipped
        self._events = [event for _, event in numbered]
        self._replay_times = compressed_times(numbered)
        self._epoch_ends = {
            int(event.data.get("epoch", 0)): index + 1
            for index, event in enumerate(self._events)
            if event.kind == "epoch"
        }
        self._restart_clock()

    # -- state ------------------------------------------------------------------------------------
    @property
    def speed(self) -> float | None:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def loaded(self) -> bool:
        return self._events is not None

    @property
    def finished(self) -> bool:
        return self._events is not None and self._cursor >= len(self._events)

    @property
    def epochs(self) -> list[int]:
        """Epochs the log has (known once loaded)."""
        return sorted(self._epoch_ends)

    @property
    def position_epoch(self) -> int:
        """The last epoch whose epoch event has been handed out."""
        done = [e for e, end in self._epoch_ends.items() if end <= self._cursor]
        return max(done, default=0)

    # -- controls (UI thread) ------------------------------------------------------------------
    def set_speed(self, speed: float | None) -> None:
        with self._lock:
            self._rebase_clock()
            self._speed = speed

    def pause(self) -> None:
        with self._lock:
            self._rebase_clock()
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._clock_base_real = time.monotonic()
            self._paused = False

    def toggle_pause(self) -> bool:
        """Pause or resume; returns True when now paused."""
        if self._paused:
            self.resume()
        else:
            self.pause()
        return self._paused

    def seek_to_epoch(self, epoch: int) -> None:
        """Position just after ``epoch``'s epoch event (0: the very start)."""
        with self._lock:
            self._ensure_loaded()
            if epoch <= 0:
                self._move_to(0)
            elif epoch in self._epoch_ends:
                self._move_to(self._epoch_ends[epoch])

    def jump_to_end(self) -> None:
        with self._lock:
            self._move_to(len(self._ensure_loaded()))

    def _move_to(self, cursor: int) -> None:
        self._cursor = cursor
        self._reset_pending = True
        self._clock_base_replay = self._replay_times[cursor - 1] if cursor else 0.0
        self._clock_base_real = time.monotonic()

    # -- polling (worker thread) ---------------------------------------------------------------
    def poll(self) -> list[Event]:
        with self._lock:
            events = self._ensure_loaded()
            self.last_poll_reset = self._reset_pending
            self._reset_pending = False
            if self.last_poll_reset:
                return events[: self._cursor]
            end = self._due_index(len(events))
            batch = events[self._cursor:end]
            self._cursor = end
            return batch

    def _due_index(self, count: int) -> int:
        """Index just after the last event whose replay time has come."""
        if self._paused:
            return self._cursor
        if self._speed is None:
            return min(count, self._cursor + MAX_SPEED_BATCH)
        now = self._now_replay()
        end = self._cursor
        times = self._replay_times
        while end < count and times[end] <= now:
            end += 1
        return end

    def _now_replay(self) -> float:
        if self._paused or self._speed is None:
            return self._clock_base_replay
        return self._clock_base_replay + (time.monotonic() - self._clock_base_real) * self._speed

    def _rebase_clock(self) -> None:
        """Freeze the replay clock at now, so a speed change or pause never jumps."""
        if self._speed is None and self._events is not None:
            self._clock_base_replay = self._replay_times[self._cursor - 1] if self._cursor else 0.0
        else:
            self._clock_base_replay = self._now_replay()
        self._clock_base_real = time.monotonic()

    def _restart_clock(self) -> None:
        self._clock_base_real = time.monotonic()
        self._clock_base_replay = 0.0


def compressed_times(numbered: list[tuple[int, Event]]) -> list[float]:
    """Replay time of each event: recorded gaps, each capped at the idle limit per raw line."""
    times: list[float] = []
    clock = 0.0
    previous: tuple[int, float] | None = None
    for number, event in numbered:
        if previous is not None:
            lines_spanned = max(1, number - previous[0])
            gap = max(0.0, event.time - previous[1])
            clock += min(gap, MAX_REPLAY_GAP_SECONDS * lines_spanned)
        times.append(clock)
        previous = (number, event.time)
    return times
