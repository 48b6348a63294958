"""The append-only event log: one JSON object per line, written as things happen.

Every view (live dashboard, a followed detached run, a replay, the CLI's progress) reads the
same ``Event`` objects, so none of them cares where the events come from.
"""

from __future__ import annotations

import json
import os
import re
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
    def from_dict(cls, record: dict[str, Any]) -> Event:
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

    def __enter__(self) -> EventWriter:
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


# Step events to keep when catching up on a backlog: ~10 per chart point at 2,000 points.
CATCH_UP_STEP_EVENTS = 20_000
# Below this backlog every line is parsed (a live tail, or a small log).
CATCH_UP_MIN_BYTES = 4 * 1024 * 1024
READ_CHUNK_BYTES = 8 * 1024 * 1024
# A step line from our writer is about this long; used only to guess how many a backlog holds.
TYPICAL_STEP_LINE_BYTES = 180
STEP_MARKER = b'"kind":"step"'
# Any other kind the trainer writes, as our writer spells it (compact JSON). The literal
# prefix lets one regex scan find them all at C speed.
OTHER_KIND = re.compile(
    rb'"kind":"(?:' + b"|".join(k.encode() for k in EVENT_KINDS if k != "step") + rb')"')


class EventFollower:
    """Tails a live log: the complete lines appended since the last read. While a large
    backlog is caught up (opening a million-event log), step lines are thinned: every
    other kind of event, the step before each, the newest line and evenly spaced steps
    (at least ``catch_up_steps`` of them) are parsed; a live tail parses every line.

    It tolerates what ``core.events`` tolerates: damaged lines are counted in ``skipped``, a
    last line without its newline waits until the writer finishes it.
    """

    def __init__(self, path: Path, catch_up_steps: int = CATCH_UP_STEP_EVENTS) -> None:
        self.path = path
        self.catch_up_steps = catch_up_steps
        self.offset = 0
        self.skipped = 0
        self.lines_read = 0  # every complete line, parsed or thinned out
        self._partial = b""
        self._stride = 1

    def backlog_bytes(self) -> int:
        try:
            return max(0, self.path.stat().st_size - self.offset)
        except OSError:
            return 0

    def poll(self) -> list[Event]:
        """The new events, without their line numbers."""
        return [event for _, event in self.read()]

    def read(self, max_bytes: int = READ_CHUNK_BYTES) -> list[tuple[int, Event]]:
        """(line number, event) pairs of the new complete lines, in file order."""
        chunk = self._read_chunk(max_bytes)
        if not chunk:
            return []
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            self._partial += chunk  # still inside one long line
            return []
        # One copy: the held-back partial line plus the chunk's complete lines.
        body = b"".join((self._partial, memoryview(chunk)[:cut]))
        self._partial = chunk[cut:]  # incomplete until its newline arrives
        first_number = self.lines_read + 1
        selected = self._sampled_lines(body, first_number) if self._stride > 1 else None
        if selected is None:
            selected = list(enumerate(body.split(b"\n")[:-1], start=first_number))
            self.lines_read += len(selected)
        else:
            self.lines_read = selected[-1][0]  # the newest line is always selected
        return self._parse(selected)

    def _parse(self, numbered_lines: list[tuple[int, bytes]]) -> list[tuple[int, Event]]:
        parsed: list[tuple[int, Event]] = []
        for number, line in numbered_lines:
            if not line.strip():
                continue
            event = parse_line(line)
            if event is None:
                self.skipped += 1
            else:
                parsed.append((number, event))
        return parsed

    def _sampled_lines(self, body: bytes, first_number: int) -> list[tuple[int, bytes]] | None:
        """The lines of a catch-up chunk worth parsing, found without splitting it.

        Every line that is not a step (found by searching for the other kinds), the step
        just before each of them (it marks where an epoch ended), steps at even byte spacing
        (about one in ``stride``) and the last line. Splitting a chunk into its ~45,000 lines
        and looking at each costs more than everything else together. If the kinds found do
        not account for every line (an unknown kind, a damaged line, another writer's
        spacing), returns None and the chunk is read line by line instead.
        """
        step_count = body.count(STEP_MARKER)
        other_starts = [_line_start(body, match.start()) for match in OTHER_KIND.finditer(body)]
        starts = set(other_starts)
        starts.update(_previous_line_start(body, s) for s in other_starts if s)
        samples = max(1, step_count // self._stride)
        spacing = len(body) / samples
        starts.update(_line_start(body, int(k * spacing)) for k in range(samples))
        starts.add(_previous_line_start(body, len(body)))  # the newest line
        numbered = _numbered_lines(body, sorted(starts), first_number)
        line_count = numbered[-1][0] - first_number + 1
        if step_count + len(other_starts) != line_count:
            return None
        return numbered

    def _read_chunk(self, max_bytes: int) -> bytes:
        backlog = self.backlog_bytes()
        if backlog == 0:
            return b""
        self._choose_stride(backlog)
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read(max_bytes)
        except OSError:
            return b""
        self.offset += len(chunk)
        return chunk

    def _choose_stride(self, backlog: int) -> None:
        """Fix the thinning stride when a catch-up starts; back to every line once caught up."""
        if backlog < CATCH_UP_MIN_BYTES:
            self._stride = 1
        elif self._stride == 1:
            estimated_steps = backlog // TYPICAL_STEP_LINE_BYTES
            self._stride = max(1, estimated_steps // self.catch_up_steps)


def _line_start(body: bytes, position: int) -> int:
    """Start of the line that contains ``position``."""
    return body.rfind(b"\n", 0, position) + 1


def _previous_line_start(body: bytes, line_start: int) -> int:
    """Start of the line before the one starting at ``line_start`` (which must be > 0)."""
    return body.rfind(b"\n", 0, line_start - 1) + 1


def _numbered_lines(body: bytes, starts: list[int], first_number: int) -> list[tuple[int, bytes]]:
    """(line number, line) for each start, counting newlines between them once."""
    numbered = []
    number, counted_to = first_number, 0
    for start in starts:
        number += body.count(b"\n", counted_to, start)
        counted_to = start
        numbered.append((number, body[start:body.index(b"\n", start)]))
    return numbered

