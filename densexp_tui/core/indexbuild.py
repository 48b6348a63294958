"""The runs index's rows, read from the run folders: the per-run work of every index update,
and all of the cold build (no index yet: every summary read once).

Where a cold build's time went (``bench/index_build.py --breakdown`` at 10,000 runs, per
run, under load 6-8, before): ``dataclasses.asdict`` for the stored JSON ~480 us (it
deep-copies every field), opening and reading summary.json through a text file object
~220 us plus a separate stat ~75 us, the JSON parse ~120 us, the filter columns ~125 us,
``json.dumps`` ~135 us, building the RunSummary ~70 us, SQLite ~90 us. So here a summary is
read through one descriptor (its stat key from ``fstat`` of the very file read: one path
lookup, not two), the JSON parsed from bytes, the RunSummary built straight from the
record's fields, and the stored JSON dumped from the summary's fields without copying
them. The process/heartbeat check (``live``) runs only for summaries that say
``running``: a run whose summary says it ended needs no check.

One process, measured against two: reading rows is pure-Python work that holds the GIL
(threads cannot share it), and a second process reading the older half of a cold build
into the same SQLite file (WAL, batches taking turns) made it 26.0 vs 27.5 s and 31.1 vs
33.2 s at 100,000 runs under load 4-5 (``bench/index_build.py --serial``), the rows read
alone 24.2 vs 30.2 s with two forked processes (``--pool``, load 6.8): on this shared 2-core
box the other core is mostly someone else's. Not worth a child process per build.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from densexp_tui.core.runsql import NUMERIC_COLUMNS, TEXT_COLUMNS, column_values

if TYPE_CHECKING:
    from densexp_tui.core.runstore import RunSummary

SUMMARY_NAME = "summary.json"
StatKey = tuple[int, int, int]  # inode, mtime_ns, size
Record = dict[str, Any]
Row = tuple[object, ...]
LiveCheck = Callable[["RunSummary", Path], "RunSummary"]
ToSummary = Callable[[Record, str], "RunSummary"]
UNREADABLE = "summary.json unreadable"
# json.dumps(..., separators=(",", ":")) without making an encoder per call.
_compact_json = json.JSONEncoder(separators=(",", ":")).encode
# Read in one go: summaries are a few kB (a bigger one takes more reads).
READ_BYTES = 1 << 16


def stat_key(path: str) -> StatKey | None:
    """The summary's identity on disk, or None when there is no summary."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_summary_json(path: str) -> tuple[StatKey, Record | None] | None:
    """The summary's stat key and JSON object, read through one descriptor (the key is the
    very file's that was read). None when there is no summary; the record is None when
    the file is there but cannot be read or parsed (half-written, not an object)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:  # there but not readable (permissions): a row that says so
        key = stat_key(path)
        return None if key is None else (key, None)
    try:
        st = os.fstat(fd)
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        try:
            data = _read_all(fd, st.st_size)
        except OSError:  # e.g. a folder named summary.json
            return key, None
    finally:
        os.close(fd)
    try:
        record = json.loads(data)
    except ValueError:
        return key, None
    return key, record if isinstance(record, dict) else None


def _read_all(fd: int, size: int) -> bytes:
    chunks = [os.read(fd, max(READ_BYTES, size + 1))]
    while chunks[-1]:
        chunks.append(os.read(fd, READ_BYTES))
    return b"".join(chunks)


def slim_record(record: Record) -> Record:
    """Nested metric dicts keep their scalars only (no confusion matrices or per-class
    tables): the index stays small; ``read_summary`` gives the whole file."""
    slim = dict(record)
    for key in ("best", "test", "params"):
        nested = slim.get(key)
        if isinstance(nested, dict):
            slim[key] = {k: v for k, v in nested.items()
                         if v is None or isinstance(v, (int, float, str, bool))}
    return slim


class RowReader:
    """Turns run folders into index rows (and their RunSummary) for one runs dir."""

    def __init__(self, root: Path, to_summary: ToSummary, live: LiveCheck) -> None:
        from densexp_tui.core.runstore import RunSummary

        self.root = root
        self._prefix = f"{root}/"
        self._to_summary = to_summary
        self._live = live
        self._fields = tuple(f.name for f in dataclasses.fields(RunSummary))
        self._values = attrgetter(*self._fields)

    def read(self, names: Sequence[str]) -> tuple[list[Row], list[RunSummary], list[str]]:
        """The rows and runs of these folders, and the folders without a summary."""
        rows: list[Row] = []
        summaries: list[RunSummary] = []
        gone: list[str] = []
        for name in names:
            found = read_summary_json(f"{self._prefix}{name}/{SUMMARY_NAME}")
            if found is None:
                gone.append(name)
                continue
            key, record = found
            summary, running = self._summary(name, record)
            summaries.append(summary)
            rows.append(self.row(name, key, running, summary))
        return rows, summaries, gone

    def _summary(self, name: str, record: Record | None) -> tuple[RunSummary, bool]:
        """The run as the index lists it (live status for a running one), and whether its
        file says running."""
        running = record is not None and record.get("status") == "running"
        if record is None:
            record = {"run_id": name, "status": "interrupted", "message": UNREADABLE}
        summary = self._to_summary(slim_record(record), name)
        if running:
            summary = self._live(summary, self.root / name)
        return summary, running

    def row(self, name: str, key: StatKey, running: bool, summary: RunSummary) -> Row:
        """The index row: folder, stat key, the filter columns and the stored JSON (the
        summary's fields as ``RunSummary.to_dict`` gives them, without its deep copy)."""
        values = column_values(summary)
        stored = dict(zip(self._fields, self._values(summary), strict=True))
        return (name, *key, int(running), summary.name, summary.config_hash, values["hay"],
                *(values[c] for c in TEXT_COLUMNS), *(values[c] for c in NUMERIC_COLUMNS),
                _compact_json(stored))
