"""The append-only event log: one JSON object per line, written as things happen.

Every view (live dashboard, a followed detached run, a replay, the CLI's progress) reads the
same ``Event`` objects, so none of them cares where the events come from.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

EVENT_VERSION = 1
EVENT_KINDS = ("run_started", "step", "epoch", "test", "status", "run_finished")


@dataclass(frozen=True)
class Event:
    seq: int
    time: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"v": EVENT_VERSION, "seq": self.seq, "time": self.time, "kind": self.kind,
                **self.data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False,
                          default=_json_default)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "Event":
        data = {k: v for k, v in record.items() if k not in ("v", "seq", "time", "kind")}
        return cls(seq=int(record["seq"]), time=float(record["time"]), kind=str(record["kind"]),
                   data=data)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays sneak in from metrics; store them as plain numbers."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in an event")


def _finite(value: Any) -> Any:
    """JSON has no NaN: a diverged loss is stored as null plus the string form."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class EventWriter:
    """Appends events to a log, one flushed line each; safe to call from several threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seq = last_seq(self.path)
        self._handle = open(self.path, "a", encoding="utf-8")

    def append(self, kind: str, **fields: Any) -> Event:
        with self._lock:
            self._seq += 1
            event = Event(seq=self._seq, time=time.time(), kind=kind, data=_finite(fields))
            self._handle.write(event.to_json() + "\n")
            self._handle.flush()
            return event

    def sync(self) -> None:
        """fsync: called at epoch ends so a power cut loses at most the current epoch's steps."""
        with self._lock:
            if not self._handle.closed:
                self._handle.flush()
                os.fsync(self._handle.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._handle.closed:
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._handle.close()

    def __enter__(self) -> "EventWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class EventLog:
    events: list[Event]
    skipped: int = 0  # corrupt or truncated lines that were not returned


def parse_line(line: bytes | str) -> Event | None:
    """One log line as an Event, or None when it is damaged."""
    try:
        record = json.loads(line)
        if not isinstance(record, dict) or "kind" not in record or "seq" not in record:
            return None
        return Event.from_dict(record)
    except (ValueError, TypeError, KeyError):
        return None


def iter_events(path: str | Path) -> Iterator[Event | None]:
    """Each line as an Event (None for a damaged one); a last line without newline is skipped
    only when it does not parse, since a writer may be half-way through it."""
    with open(path, "rb") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            yield parse_line(raw)


def read_events(path: str | Path) -> EventLog:
    """Every intact event of a log; damaged lines are counted, never fatal."""
    log = EventLog(events=[])
    if not Path(path).exists():
        return log
    for event in iter_events(path):
        if event is None:
            log.skipped += 1
        else:
            log.events.append(event)
    return log


def last_seq(path: Path) -> int:
    """The highest seq in an existing log, so a resumed run continues the numbering."""
    if not path.exists():
        return 0
    return max((e.seq for e in read_events(path).events), default=0)


class EventFollower:
    """Tails a live log: each ``poll()`` returns the complete lines written since the last."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self.skipped = 0

    def poll(self, max_bytes: int = 8 * 1024 * 1024) -> list[Event]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(max_bytes)
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # incomplete until its newline arrives
        events = []
        for line in lines:
            if not line.strip():
                continue
            event = parse_line(line)
            if event is None:
                self.skipped += 1
            else:
                events.append(event)
        return events
