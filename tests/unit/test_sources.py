"""core.sources.ReplaySource: pace, idle-gap capping, pause, seeking (no Textual needed)."""

from __future__ import annotations

import pytest

from densexp_tui.core.events import Event
from densexp_tui.core.sources import ReplaySource, compressed_times
from tests.tui.helpers_dashboard import DATA_RUNS, QUICKSTART

pytestmark = pytest.mark.timeout(60)
EVENTS = DATA_RUNS / QUICKSTART.run_id / "events.jsonl"


def drain(source: ReplaySource, limit: int = 100) -> list[Event]:
    events: list[Event] = []
    for _ in range(limit):
        events.extend(source.poll())
        if source.finished:
            return events
    raise AssertionError("replay did not finish")


# -- ReplaySource ------------------------------------------------------------------------------
def test_max_speed_hands_out_every_event_in_order() -> None:
    events = drain(ReplaySource(EVENTS, speed=None))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].kind == "run_finished"


def test_recorded_pace_waits_for_event_times() -> None:
    source = ReplaySource(EVENTS, speed=1.0)
    first = source.poll()
    # Only the events written at t=0 are due (run_started and the trainer's "running"
    # status); the first step comes 1 s (recorded) later.
    assert [e.kind for e in first] == ["run_started", "status"]
    assert not source.finished


def test_idle_gaps_are_capped_per_line() -> None:
    def at(seq: int, time: float) -> tuple[int, Event]:
        return seq, Event(seq=seq, time=time, kind="step", data={})

    times = compressed_times([at(1, 0.0), at(2, 1.0), at(3, 3601.0), at(10, 3700.0)])
    # 1 s kept; an hour of idle becomes 2 s; a 99 s gap over 7 thinned lines becomes 14 s.
    assert times == [0.0, 1.0, 3.0, 17.0]


def test_pause_holds_and_resume_continues() -> None:
    source = ReplaySource(EVENTS, speed=None)
    source.poll()
    source.pause()
    assert source.poll() == []
    source.resume()
    assert source.poll() != [] or source.finished


def test_seek_to_epoch_restarts_from_the_beginning_up_to_that_epoch() -> None:
    source = ReplaySource(EVENTS, speed=None)
    drain(source)
    source.seek_to_epoch(2)
    events = source.poll()
    assert source.last_poll_reset
    assert events[0].kind == "run_started"
    assert events[-1].kind == "epoch" and events[-1].data["epoch"] == 2
    assert source.position_epoch == 2 and not source.finished
    source.poll()
    assert not source.last_poll_reset
    source.jump_to_end()
    assert source.poll()[-1].kind == "run_finished" and source.finished
