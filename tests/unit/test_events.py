"""The event log: tolerant reading, following a live file, and run ids unique across processes."""

from __future__ import annotations

import math
import multiprocessing as mp
from pathlib import Path

from densexp_tui.core.events import EventFollower, EventWriter, read_events
from densexp_tui.core.runstore import new_run_id


def _write_events(path: Path, n: int) -> None:
    with EventWriter(path) as writer:
        for step in range(1, n + 1):
            writer.append("step", epoch=1, step=step, loss=1.0 / step)


def test_events_round_trip_with_increasing_seq(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_events(path, 3)
    log = read_events(path)
    assert log.skipped == 0
    assert [e.seq for e in log.events] == [1, 2, 3]
    assert log.events[1].data == {"epoch": 1, "step": 2, "loss": 0.5}
    assert all(e.kind == "step" and e.time > 0 for e in log.events)


def test_a_reopened_log_continues_seq(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_events(path, 2)
    with EventWriter(path) as writer:
        event = writer.append("status", status="running", message="")
    assert event.seq == 3


def test_nan_and_inf_are_stored_as_null(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as writer:
        writer.append("step", loss=math.nan, nested={"f1": math.inf})
    event = read_events(path).events[0]
    assert event.data == {"loss": None, "nested": {"f1": None}}


def test_truncated_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_events(path, 3)
    with open(path, "ab") as handle:
        handle.write(b'{"v": 1, "seq": 4, "time": 1.0, "kind": "st')  # writer died mid-line
    log = read_events(path)
    assert [e.seq for e in log.events] == [1, 2, 3]
    assert log.skipped == 1


def test_corrupt_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    _write_events(path, 2)
    with open(path, "ab") as handle:
        handle.write(b"not json at all\n")
        handle.write(b"[1, 2, 3]\n")  # JSON, but not an event
        handle.write(b'{"kind": "step"}\n')  # no seq
        handle.write(b"\xff\xfe\x00garbage\n")
        handle.write(b"\n")  # blank lines are not corrupt
        handle.write(b'{"v": 1, "seq": 3, "time": 2.0, "kind": "epoch", "epoch": 1}\n')
    log = read_events(path)
    assert [e.seq for e in log.events] == [1, 2, 3]
    assert log.skipped == 4


def test_missing_log_reads_as_empty(tmp_path: Path) -> None:
    log = read_events(tmp_path / "nope.jsonl")
    assert log.events == [] and log.skipped == 0


def test_follower_returns_only_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    follower = EventFollower(path)
    assert follower.poll() == []  # no file yet
    line = b'{"v": 1, "seq": 1, "time": 1.0, "kind": "step", "step": 1}\n'
    with open(path, "ab") as handle:
        handle.write(line[:20])
        handle.flush()
        assert follower.poll() == []  # half a line: nothing yet
        handle.write(line[20:])
        handle.write(line.replace(b'"seq": 1', b'"seq": 2')[:-10])
        handle.flush()
        first = follower.poll()
        assert [e.seq for e in first] == [1]
        handle.write(line.replace(b'"seq": 1', b'"seq": 2')[-10:])
        handle.flush()
        assert [e.seq for e in follower.poll()] == [2]
    assert follower.poll() == [] and follower.skipped == 0


def test_follower_counts_corrupt_lines_and_keeps_going(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    follower = EventFollower(path)
    with EventWriter(path) as writer:
        writer.append("step", step=1)
        writer._handle.write("garbage\n")
        writer._handle.flush()
        writer.append("step", step=2)
    assert [e.get("step") for e in follower.poll()] == [1, 2]
    assert follower.skipped == 1


def test_follower_sees_events_as_a_writer_appends(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    follower = EventFollower(path)
    with EventWriter(path) as writer:
        for step in range(1, 4):
            writer.append("step", step=step)
            assert [e.get("step") for e in follower.poll()] == [step]  # flushed per line


def _make_ids(count: int, queue: mp.Queue[list[str]]) -> None:
    queue.put([new_run_id("same-name") for _ in range(count)])


def test_run_ids_are_unique_across_processes() -> None:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_make_ids, args=(25, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    ids = [run_id for _ in workers for run_id in queue.get(timeout=30)]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert len(ids) == 100 and len(set(ids)) == 100
    assert all("-same-name-" in run_id for run_id in ids)
