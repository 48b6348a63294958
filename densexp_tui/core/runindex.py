"""The runs index: every run's summary, cached by the stat of its summary.json.

The run directories are the only source of truth. The index never decides whether a run
exists or what it says: each refresh lists the runs directory (``os.scandir``: a run folder
copied in or ``rm -rf``'d is seen at once) and stats every ``summary.json``; a cached record
is used only while that stat key (inode, mtime_ns, size) is unchanged, otherwise the file is
read again. Runs whose summary says ``running`` are re-read on every refresh whatever their
stat says, so a live run's status and metrics are never older than one refresh. Deleting,
truncating or corrupting the cache file costs one rebuild, nothing else; a read-only runs
directory is listed without writing anything.

Why SQLite (stdlib ``sqlite3``, WAL mode, busy timeout) holds the persisted cache rather
than one JSON file of all records (both are built here and measured by
``bench/many_runs.py``, "index" rows): loading is the one thing the JSON file does better
(about 1.5x faster for a new process: 33 s against 49 s for 100,000 runs on a 2-core box
loaded 4x over; decoding records is the bulk either way), and it is smaller on disk. But
the app refreshes once a second while runs train and sweeps add runs, and SQLite writes
only the rows that changed, in one transaction, safely from several processes at once
(4 sweep workers each listing the same directory); the JSON file has to rewrite every
record (67 MB at 100,000 runs) on each change, with the last writer silently winning. The
in-memory copy of the index lives as long as its ``RunStore``, so the app reads the
database once, at start, and the newest-50 listing never reads it at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

INDEX_NAME = ".densexp-index.sqlite"
JSON_INDEX_NAME = ".densexp-index.json"
SCHEMA_VERSION = "2"
BUSY_TIMEOUT_MS = 5000
# After writing this many rows at once, fold the write-ahead log back into the database
# (otherwise a first indexing of 100,000 runs leaves a WAL as big as the table).
CHECKPOINT_ROWS = 1000
SUMMARY_NAME = "summary.json"

StatKey = tuple[int, int, int]  # inode, mtime_ns, size
Record = dict[str, Any]
CachedRecords = dict[str, tuple[StatKey, Record]]


class SummaryCache(Protocol):
    """Where the index keeps records between processes (always optional)."""

    def load(self) -> CachedRecords: ...

    def save(self, changed: CachedRecords, removed: Iterable[str]) -> None: ...

    def disk_bytes(self) -> int: ...


def stat_key(path: str) -> StatKey | None:
    """The summary's identity on disk, or None when there is no summary."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_record(path: str) -> Record | None:
    """The summary's JSON object (None when missing, half-written or not an object)."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def slim_record(record: Record, fields: frozenset[str] | None = None) -> Record:
    """What listing needs: only ``fields`` (all when None), and nested metric dicts keep
    their scalars only (no confusion matrices or per-class tables): the index stays small
    and a record becomes a summary object without filtering again."""
    slim = dict(record) if fields is None else {k: v for k, v in record.items() if k in fields}
    for key in ("best", "test", "params"):
        nested = slim.get(key)
        if isinstance(nested, dict):
            slim[key] = {k: v for k, v in nested.items()
                         if v is None or isinstance(v, (int, float, str, bool))}
    return slim


def root_is_writable(root: Path) -> bool:
    return os.access(root, os.W_OK)


class SqliteCache:
    """Records in ``<runs>/.densexp-index.sqlite``: one row per run, WAL, busy timeout."""

    def __init__(self, root: Path, writable: bool) -> None:
        self.path = root / INDEX_NAME
        self.writable = writable
        self._conn: sqlite3.Connection | None = None
        self._opened_inode: int | None = None

    def load(self) -> CachedRecords:
        try:
            conn = self._connect()
            if conn is None:
                return {}
            rows = conn.execute("SELECT dirname, ino, mtime_ns, size, record FROM runs")
            return {name: ((ino, mtime, size), json.loads(text))
                    for name, ino, mtime, size, text in rows}
        except (sqlite3.Error, ValueError):
            self._discard()
            return {}

    def save(self, changed: CachedRecords, removed: Iterable[str]) -> None:
        removed = list(removed)
        if not self.writable or not (changed or removed):
            return
        try:
            conn = self._connect()
            if conn is None:
                return
            with conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                    [(name, *key, json.dumps(record, separators=(",", ":")))
                     for name, (key, record) in changed.items()])
                conn.executemany("DELETE FROM runs WHERE dirname = ?",
                                 [(name,) for name in removed])
            if len(changed) + len(removed) >= CHECKPOINT_ROWS:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            self._discard()  # a cache that cannot be written is rebuilt next time

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.path, _sibling(self.path, "-wal"),
                                               _sibling(self.path, "-shm")) if p.exists())

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None and not self._file_replaced():
            return self._conn
        self._close()
        if not self.writable and not self.path.exists():
            return None
        if self.writable:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False, isolation_level=None)
        else:  # never create -wal/-shm files in a read-only runs dir
            conn = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True,
                                   check_same_thread=False, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.writable:
                self._prepare(conn)
            self._check_version(conn)
        except sqlite3.Error:
            conn.close()
            raise
        self._conn = conn
        self._opened_inode = _inode(self.path)
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # a cache: losing the last write is fine
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("CREATE TABLE IF NOT EXISTS runs (dirname TEXT PRIMARY KEY, "
                     "ino INTEGER, mtime_ns INTEGER, size INTEGER, record TEXT) WITHOUT ROWID")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            with conn:
                conn.execute("DELETE FROM runs")
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'",
                             (SCHEMA_VERSION,))

    def _check_version(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            raise sqlite3.DatabaseError("index schema differs")

    def _file_replaced(self) -> bool:
        """Someone deleted or replaced the file under an open connection: reopen."""
        return _inode(self.path) != self._opened_inode

    def _discard(self) -> None:
        """Drop a cache that cannot be read (truncated, corrupt, other schema)."""
        self._close()
        if self.writable:
            for path in (self.path, _sibling(self.path, "-wal"), _sibling(self.path, "-shm")):
                with contextlib.suppress(OSError):
                    path.unlink()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn = None
        self._opened_inode = None


class JsonFileCache:
    """The simpler option, kept for the benchmark: every record in one JSON file, rewritten
    whole (temp file + rename) whenever anything changed."""

    def __init__(self, root: Path, writable: bool) -> None:
        self.path = root / JSON_INDEX_NAME
        self.writable = writable
        self._records: CachedRecords = {}

    def load(self) -> CachedRecords:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._records = {name: ((key[0], key[1], key[2]), record)
                             for name, (key, record) in data.items()}
        except (OSError, ValueError, TypeError):
            self._records = {}
        return dict(self._records)

    def save(self, changed: CachedRecords, removed: Iterable[str]) -> None:
        removed = list(removed)
        if not self.writable or not (changed or removed):
            return
        self._records.update(changed)
        for name in removed:
            self._records.pop(name, None)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(self._records, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def disk_bytes(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0


class RunIndex:
    """Stat-keyed records of every run folder of ``root``; ``refresh`` brings it up to date.

    Thread-safe (one refresh at a time). Records are the raw summary.json objects (slimmed);
    the live status (a dead process reads as interrupted) is the store's business.
    """

    def __init__(self, root: Path, cache: SummaryCache | None = None,
                 fields: frozenset[str] | None = None) -> None:
        self.root = root
        self._cache = cache
        self._fields = fields
        self._loaded = False
        self._records: CachedRecords = {}
        self._lock = threading.Lock()

    def _cache_for_root(self) -> SummaryCache | None:
        if self._cache is None and self.root.is_dir():
            self._cache = SqliteCache(self.root, root_is_writable(self.root))
        return self._cache

    def refresh(self) -> list[tuple[str, Record]]:
        """(run folder name, record) for every run, newest first (ids sort by time)."""
        with self._lock:
            names = run_folder_names(self.root)
            cache = self._cache_for_root()
            if not self._loaded and cache is not None:
                self._records = cache.load()
                self._loaded = True
            changed, removed = self._update(names)
            removed += [name for name in self._records if name not in names]
            for name in removed:
                self._records.pop(name, None)
            if cache is not None:
                cache.save(changed, removed)
            ordered = sorted(self._records, reverse=True)
            return [(name, self._records[name][1]) for name in ordered]

    def _update(self, names: set[str]) -> tuple[CachedRecords, list[str]]:
        """Re-read the summaries whose stat changed (and every running one); also returns
        the folders whose summary.json vanished (they are no longer runs)."""
        changed: CachedRecords = {}
        vanished: list[str] = []
        root = str(self.root)
        for name in names:
            path = f"{root}/{name}/{SUMMARY_NAME}"
            key = stat_key(path)
            cached = self._records.get(name)
            if key is None:
                if cached is not None:
                    vanished.append(name)
                continue
            if cached is not None and cached[0] == key and cached[1].get("status") != "running":
                continue
            record = read_record(path)
            if record is None:
                record = {"run_id": name, "status": "interrupted",
                          "message": "summary.json unreadable"}
            else:
                record = slim_record(record, self._fields)
            if cached is None or cached != (key, record):
                changed[name] = (key, record)
                self._records[name] = (key, record)
        return changed, vanished

    def disk_bytes(self) -> int:
        cache = self._cache_for_root()
        return cache.disk_bytes() if cache is not None else 0


def run_folder_names(root: Path) -> set[str]:
    """Names of the folders directly under ``root`` that may be runs (hidden ones are not:
    runs being created are staged as ``.<id>.creating``)."""
    try:
        with os.scandir(root) as entries:
            return {entry.name for entry in entries
                    if not entry.name.startswith(".") and entry.is_dir()}
    except OSError:
        return set()


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None
