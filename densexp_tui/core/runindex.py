"""The runs index: one SQLite row per run folder, the listed fields as real columns.

The run directories are the only source of truth; ``<runs>/.densexp-index.sqlite`` is a
cache of them that may be deleted, truncated or corrupted at any time (it is rebuilt), and a
read-only runs directory is never written (the index then lives in memory for the process).

Freshness. Every answer starts from the folder names (``os.scandir``, names only: a folder
copied in or ``rm -rf``'d is seen at once). A row is used only while the stat key of its
summary.json (inode, mtime_ns, size) is unchanged, otherwise the file is read again; runs
whose file says ``running`` are re-read every time (their live status, a dead process reading
as interrupted, is stored with them). How much is checked depends on the question:

- ``newest(limit, offset)``: the newest folder names, and a stat of just those (the runs
  screen's first rows, ``densexp runs``): the cost does not grow with the number of runs
  beyond one listdir;
- a name (``runresolve.find_by_name``): the ``name`` column (indexed) after adding new
  folders and dropping gone ones; of many new folders (a cold index) only those whose name
  can hold it (core/runresolve.py), newest first, stopping once a row of that name is newer
  than every folder left to read; then the candidate's own file is read to confirm;
- ``update(full=True)`` stats every summary (the CLI before a filter or ``--all``; the runs
  screen in a background worker, never before its first frame), and ``query``/``count``/
  ``iter_json`` then answer filters and orders in SQL (core/runsql.py compiles the same
  filter syntax), streaming rows instead of building every run as a Python object.

Why this design won (``bench/many_runs.py`` at 100,000 generated runs on the shared 2-core
box, load average 11-13 both times): the previous index kept each summary as a JSON blob and
decoded all of them into Python objects for every listing (per run ~50 us of JSON and ~50 us
of RunSummary under load, times 100,000): 49 s to load a new process's index, 121 s for
``--json --all``, 52 s for a warm ``--filter``, 5.6-7.8 s to resolve a prefix or name, first
rows after 254 s. Here a listing decodes only the rows it shows, filters, sorts and counts
run inside SQLite (C, the GIL released, so the UI thread keeps answering keys),
``--json --all`` writes each row's stored JSON text without decoding it, and a name is one
indexed lookup: ``--json --all`` 3.8 s, warm ``--filter`` 4.2 s, show by name / prefix
1.8 / 1.2 s (1.3-3.6 s at 1,000 runs in the same minutes: interpreter start under load),
a full check of every summary 2.6 s, a names-only update 0.01 s, 136 MB on disk (224 MB
before), first rows ~2 s after the first frame. The cold first build (every summary read
once: core/indexbuild.py, where its time goes) took 43-79 s at load 4.5-7 and now 20-37 s
(load 2.4-7; ``bench/index_build.py``); the newest rows, ``densexp runs`` and a recent run's
name do not wait for it, and an update cut short leaves an index the next one completes
(the names count as current only after the last row is written). A one-file JSON cache
was measured last time too (it loads ~1.5x faster than the blob table) but must be loaded
whole and rewritten whole by each of several writers; SQLite (stdlib, WAL, busy timeout)
writes only changed rows, in short transactions, safely from 4 sweep workers at once.

Filter as you type (schema 4): a window of a filter (``query`` with a limit, the runs
screen's rows) and its count scan the ``runs_filter`` index (every filter column, no summary:
a third of the table's pages, no per-row lookup, newest first without a sort) and read only
the shown rows' summaries; newest first, ``window`` counts on from the last row shown (one
scan of that index in all). fetch_window per filter at 100,000 runs against the table's
plans: sum of 27 filter x sort medians 5.27 s -> 2.59 s (load 3.3-3.9; a rare word newest
first 237 -> 79 ms); the typed filter's rows (bench/many_runs.py --only filter) p50/p95
0.61/0.84 s -> 0.31/0.37 s (load 3.0-3.3); 172 MB on disk (136 MB before).
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from densexp_tui.core.indexbuild import (
    SUMMARY_NAME as SUMMARY_NAME,  # runstore names the file through the index
)
from densexp_tui.core.indexbuild import (
    LiveCheck,
    RowReader,
    StatKey,
    ToSummary,
    stat_key,
)
from densexp_tui.core.runquery import RunFilter, SortSpec
from densexp_tui.core.runsql import (
    NUMERIC_COLUMNS,
    TEXT_COLUMNS,
    SqlParams,
    order_sql,
    where_sql,
)

if TYPE_CHECKING:
    from densexp_tui.core.folderlisting import FolderListing
    from densexp_tui.core.runstore import RunSummary

# In a folder of its own: SQLite's -wal/-shm files come and go with connections, and in the
# runs directory itself they would change its mtime, which says whether runs came or went.
INDEX_DIR = ".densexp-index"
INDEX_NAME = f"{INDEX_DIR}/runs.sqlite"
SCHEMA_VERSION = "4"  # 4: the runs_filter index
# A directory mtime this recent may not yet reflect a change made in the same clock tick
# (coarse filesystems): it is not trusted to say "no run came or went".
MTIME_TRUST_SECONDS = 2.0
BUSY_TIMEOUT_MS = 5000
# Rows written per transaction: a long first indexing never holds the write lock for long
# (2,000 rows: ~0.1 s of it, so 4 sweep workers' writes wait that long at most). Writing
# 100,000 rows took 6.2-7.1 s at 500 a transaction, 4.4-4.7 s at 2,000, 3.8-4.0 s in one.
BATCH_ROWS = 2000
# After writing this many rows at once, fold the write-ahead log back into the database.
CHECKPOINT_ROWS = 10_000

_ROW_COLUMNS = ("dirname", "ino", "mtime_ns", "size", "running", "name", "config_hash",
                "hay", *TEXT_COLUMNS, *NUMERIC_COLUMNS, "summary")
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS runs (dirname TEXT PRIMARY KEY, ino INTEGER, "
    f"mtime_ns INTEGER, size INTEGER, running INTEGER, name TEXT, config_hash TEXT, "
    f"hay TEXT, {', '.join(f'{c} TEXT' for c in TEXT_COLUMNS)}, "
    f"{', '.join(f'{c} REAL' for c in NUMERIC_COLUMNS)}, summary TEXT)",
    "CREATE INDEX IF NOT EXISTS runs_name ON runs (name)",
    "CREATE INDEX IF NOT EXISTS runs_hash ON runs (config_hash)",
    "CREATE INDEX IF NOT EXISTS runs_running ON runs (running) WHERE running = 1",
    # Every filter column in folder-name order, without the summary: a filter's count and
    # its window's row ids scan this (~3x fewer pages than the table, no lookup per row),
    # newest first needs no sort, and only the shown rows' summaries are read (query()).
    # DESC: a cold build writes newest first, so its rows append (pages end full; in
    # ascending order each one went in at the front and pages were left 44% full).
    f"CREATE INDEX IF NOT EXISTS runs_filter ON runs (dirname DESC, hay, "
    f"{', '.join((*TEXT_COLUMNS, *NUMERIC_COLUMNS))})",
)
_INSERT = (f"INSERT OR REPLACE INTO runs ({', '.join(_ROW_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _ROW_COLUMNS)})")


def root_is_writable(root: Path) -> bool:
    return os.access(root, os.W_OK)


def run_folder_names(root: Path) -> set[str]:
    """Names of the folders directly under ``root`` that may be runs (hidden ones are not:
    runs being created are staged as ``.<id>.creating``)."""
    try:
        with os.scandir(root) as entries:
            return {entry.name for entry in entries
                    if not entry.name.startswith(".") and entry.is_dir()}
    except OSError:
        return set()


# What a listing of the runs dir saw: its mtime just before, and the entries' names.
Listing = tuple[int | None, set[str]]
Progress = Callable[[int, int], None]
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _retry_once(method: _Method) -> _Method:
    """A cache found damaged mid-call was just thrown away: answer again from the folders."""
    def wrapper(self: RunIndex, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as err:
            if _is_busy(err):
                raise
            return method(self, *args, **kwargs)
    wrapper.__doc__ = method.__doc__
    return cast(_Method, wrapper)


def _is_busy(err: sqlite3.DatabaseError) -> bool:
    return isinstance(err, sqlite3.OperationalError) and (
        "locked" in str(err) or "busy" in str(err))


class RunIndex:
    """The runs of ``root`` as SQLite rows (see the module docstring for when each is
    checked against its folder). Thread-safe: each thread has its own connection (WAL lets
    readers go on while one writes); a read-only runs dir's in-memory index is shared
    behind a lock."""

    def __init__(self, root: Path, to_summary: ToSummary, live: LiveCheck) -> None:
        self.root = root
        self.path = root / INDEX_NAME
        self._reader = RowReader(root, to_summary, live)
        self._local = threading.local()
        self._generation = 0
        self._opened_inode: int | None = None
        self._memory: sqlite3.Connection | None = None  # read-only runs dir
        self._memory_lock = threading.RLock()
        self._write_lock = threading.Lock()
        # The folder names of the last update and the database generation they go with.
        self._known: tuple[int, set[str] | None] = (-1, None)

    # -- answers ------------------------------------------------------------------------------
    @_retry_once
    def newest(self, limit: int, offset: int = 0) -> tuple[list[RunSummary], int]:
        """The runs of the newest folders ``offset`` .. ``offset + limit``, each checked
        against its own summary.json, and how many run folders there are."""
        if self._names_unchanged():  # every folder has its row: the rows' order will do
            return self._newest_rows(limit, offset)
        # Names only, and only the newest sorted (0.25 s against 0.85 s for a scandir with
        # a type check per entry and a full sort, at 100,000): the index may be cold (a
        # first use, deleted) and `densexp runs` must answer in well under a second. An
        # entry that is not a run folder has no summary and is skipped; until every row is
        # written the count may include such strays.
        entries = _entry_names(self.root)
        names = heapq.nlargest(offset + 2 * limit, entries)
        chosen = self._newest_of(names, limit, offset)
        if len(chosen) < limit and len(names) < len(entries):  # many without a summary
            chosen = self._newest_of(sorted(entries, reverse=True), limit, offset)
        return chosen, len(entries)

    def _newest_of(self, names: list[str], limit: int, offset: int) -> list[RunSummary]:
        """The first ``limit`` runs of ``names`` (newest first) from ``offset`` on."""
        chosen: list[RunSummary] = []
        position = offset
        while len(chosen) < limit and position < len(names):
            wanted = names[position:position + limit - len(chosen)]
            position += len(wanted)
            chosen.extend(self._fresh(wanted))
        return chosen

    def _newest_rows(self, limit: int, offset: int) -> tuple[list[RunSummary], int]:
        total = self.count()
        chosen: list[RunSummary] = []
        position = offset
        while len(chosen) < limit and position < total:
            with self._session() as conn:
                if conn is None:
                    break
                wanted = [row[0] for row in conn.execute(
                    "SELECT dirname FROM runs ORDER BY dirname DESC LIMIT ? OFFSET ?",
                    (limit - len(chosen), position))]
            if not wanted:
                break
            position += len(wanted)
            chosen.extend(self._fresh(wanted))
        return chosen, total

    @_retry_once
    def update(self, full: bool = True, progress: Progress | None = None,
               until: Callable[[str | None], bool] | None = None,
               choose: Callable[[list[str]], list[str]] | None = None,
               listing: FolderListing | None = None) -> int:
        """Bring the rows in line with the folders: add new ones, drop gone ones, re-read
        running ones and (``full``) every summary whose stat changed. Returns how many
        summaries were read. Without ``full``, a runs directory whose mtime is the one
        recorded at the last such update (nothing was added, removed or renamed in it
        since) is not listed again. ``progress(read, to_read)`` is called after each batch
        of rows written (a cold build reads every summary: the CLI says how far it is).
        ``until(next_unread)`` after each batch (the newest folder not read yet, None when
        none is left): True stops the update there, with the names left "not current".
        ``choose(to_read)`` returns the folders to read of them (a name
        lookup on a cold index: core/runresolve.py); any left out leave the names "not
        current" too. ``listing`` (the caller's listing of the runs dir, made just before)
        spares a second listing of it when the names are compared without ``full``."""
        synced: Listing | None = None
        if not full and self._names_unchanged():
            stale = self.running_names()
        else:
            stale, synced = self._sync_folders(full, listing)
        if choose is not None:
            chosen = choose(stale)
            if len(chosen) < len(stale):
                synced = None
            stale = chosen
        stale.sort(reverse=True)  # newest first: the rows people look at are right soonest
        for start in range(0, len(stale), BATCH_ROWS):
            self._reindex(stale[start:start + BATCH_ROWS])
            if progress is not None:
                progress(min(start + BATCH_ROWS, len(stale)), len(stale))
            after = start + BATCH_ROWS
            if until is not None and after < len(stale) and until(stale[after]):
                return after
        if synced is not None:
            # Only now that every new folder has its row: an update cut short (killed,
            # interrupted) must leave the names "not current", so the next one adds the rest
            # and no prefix or name lookup trusts a half-built index meanwhile.
            self._remember_names(synced[0])
            self._known = (self._generation, synced[1])
        return len(stale)

    def _sync_folders(self, full: bool, listing: FolderListing | None = None
                      ) -> tuple[list[str], Listing | None]:
        """Drop the rows of gone folders; returns the folders to read (new ones, running
        ones and, with ``full``, those whose summary's stat changed) and the listing they
        come from (the runs dir's mtime before it, the names)."""
        with self._session() as conn:  # first: opening may create the index's folder
            if conn is None:
                return [], None
            if not full:
                if listing is not None:
                    return self._sync_listed(listing)
                return self._sync_names(_mtime_ns(self.root))
            rows = conn.execute("SELECT dirname, ino, mtime_ns, size, running FROM runs"
                                ).fetchall()
        root_mtime = _mtime_ns(self.root)  # before listing: a later change shows as newer
        names = run_folder_names(self.root)
        known = {row[0] for row in rows}
        self._delete([name for name in known if name not in names])
        stale = [name for name in names if name not in known]
        keys = _stat_keys(str(self.root), [row[0] for row in rows if row[0] in names]) \
            if full else {}
        for dirname, ino, mtime, size, running in rows:
            if dirname in names and (running or (full and keys.get(dirname)
                                                 != (ino, mtime, size))):
                stale.append(dirname)
        return stale, (root_mtime, names)

    def _sync_names(self, root_mtime: int | None) -> tuple[list[str], Listing | None]:
        """Folders came or went: the new ones and the running ones to read, the gone ones
        dropped. Names only (``os.listdir``: 2.5x faster than scandir at 100,000; an entry
        that is not a run folder has no summary and is skipped when read), compared with
        the names this process last saw (the rows' names the first time).

        The runs screen does this every second while a sweep adds runs, in a thread of the
        app: the comparison is set algebra in C, and only the few new or gone names are
        looked at in Python (a Python pass over 100,000 names, twice, held the GIL the UI
        thread needed for ~100 ms a tick under load). Hidden entries (the index's own
        folder, runs being created) are never rows, so they are dropped from the few."""
        try:
            names = set(os.listdir(self.root))
        except OSError:
            return [], None
        generation, known = self._known
        if generation != self._generation or known is None:
            known = set(self.dirnames_where("1", []))
        self._delete([name for name in known - names if not name.startswith(".")])
        stale = [name for name in names - known if not name.startswith(".")]
        stale += [name for name in self.running_names() if name in names]
        return stale, (root_mtime, names)

    def _sync_listed(self, listing: FolderListing) -> tuple[list[str], Listing | None]:
        """``_sync_names`` on a listing already made (hidden entries already left out, so
        no Python pass over 100,000 names on a cold index)."""
        names = listing.visible
        generation, known = self._known
        if generation != self._generation or known is None:
            known = set(self.dirnames_where("1", []))
        self._delete(list(known - names))
        stale = list(names - known)
        stale += [name for name in self.running_names() if name in names]
        return stale, (listing.root_mtime, names)

    def names_current(self) -> bool:
        """Whether every run folder has its row (no folder came or went since the rows were
        last compared with the folder names)."""
        return self._names_unchanged()

    def _names_unchanged(self) -> bool:
        mtime = _mtime_ns(self.root)
        return mtime is not None and mtime == self._meta_int("root_mtime_ns")

    def _remember_names(self, mtime: int | None) -> None:
        """The folder names are now all in the rows, as of this root mtime."""
        if mtime is None or time.time() - mtime / 1e9 < MTIME_TRUST_SECONDS:
            mtime = -1
        self._set_meta("root_mtime_ns", str(mtime))

    def _meta_int(self, key: str) -> int | None:
        with self._session() as conn:
            if conn is None:
                return None
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        try:
            return int(row[0]) if row is not None else None
        except ValueError:
            return None

    def _set_meta(self, key: str, value: str) -> None:
        with self._write_lock, self._session() as conn:
            if conn is not None:
                conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def query(self, run_filter: RunFilter, sort: SortSpec, limit: int | None = None,
              offset: int = 0) -> list[RunSummary]:
        """The runs ``run_filter`` keeps in ``sort`` order (rows as they are: call
        ``update`` first for an answer checked against every folder)."""
        if limit is None:
            return [self._decode(text) for text in self.iter_json(run_filter, sort, None,
                                                                  offset)]
        texts, _ = self._window_json(run_filter, sort, limit, offset, counted=False)
        return [self._decode(text) for text in texts]

    @_retry_once
    def window(self, run_filter: RunFilter, sort: SortSpec, limit: int
               ) -> tuple[list[RunSummary], int]:
        """The first ``limit`` runs ``run_filter`` keeps in ``sort`` order and how many it
        keeps, from one read snapshot. Newest first, the count goes on from the last row
        shown (the rows' scan and the count's together read the filter index once)."""
        texts, matched = self._window_json(run_filter, sort, limit, 0, counted=True)
        return [self._decode(text) for text in texts], matched

    def _window_json(self, run_filter: RunFilter, sort: SortSpec, limit: int, offset: int,
                     counted: bool) -> tuple[list[str], int]:
        """The summaries of one window of rows: their row ids first, from the filter index
        alone (the table's wide rows are neither scanned nor sorted), then just their
        summaries, all in one read transaction (a writer's REPLACE changes row ids);
        ``counted``: and how many rows match (else -1)."""
        where, params = where_sql(run_filter)
        with self._session() as conn:
            if conn is None:
                return [], 0
            own = not conn.in_transaction
            if own:
                conn.execute("BEGIN")
            try:
                found = conn.execute(
                    f"SELECT rowid, dirname FROM runs INDEXED BY runs_filter WHERE {where} "
                    f"ORDER BY {order_sql(sort)} LIMIT ? OFFSET ?",
                    [*params, limit, offset]).fetchall()
                keys = [row[0] for row in found]
                texts: dict[int, str] = {}
                for start in range(0, len(keys), 500):  # under SQLite's variables limit
                    chunk = keys[start:start + 500]
                    texts.update(conn.execute(
                        f"SELECT rowid, summary FROM runs WHERE rowid IN "
                        f"({', '.join('?' for _ in chunk)})", chunk))
                matched = -1
                if counted:
                    matched = self._matched(conn, where, params, sort, offset, found, limit)
            finally:
                if own:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("COMMIT")
        return [texts[key] for key in keys], matched

    @staticmethod
    def _matched(conn: sqlite3.Connection, where: str, params: SqlParams, sort: SortSpec,
                 offset: int, found: list[tuple[int, str]], limit: int) -> int:
        """How many rows match, given the window ``found`` (rowid, dirname) just read."""
        if len(found) < limit:
            return offset + len(found)
        if sort == SortSpec():  # newest first: the matches after the last shown folder
            return offset + len(found) + int(conn.execute(
                f"SELECT count(*) FROM runs INDEXED BY runs_filter WHERE ({where}) "
                f"AND dirname < ?", [*params, found[-1][1]]).fetchone()[0])
        return int(conn.execute(f"SELECT count(*) FROM runs WHERE {where}",
                                params).fetchone()[0])

    def iter_json(self, run_filter: RunFilter, sort: SortSpec, limit: int | None = None,
                  offset: int = 0) -> Iterator[str]:
        """Each run's summary as stored (compact JSON of ``RunSummary.to_dict()``), in order,
        fetched in pages so nothing builds every run at once."""
        where, params = where_sql(run_filter)
        sql = (f"SELECT summary FROM runs WHERE {where} ORDER BY {order_sql(sort)} "
               f"LIMIT ? OFFSET ?")
        remaining = -1 if limit is None else limit
        with self._session() as conn:
            if conn is None:
                return
            cursor = conn.execute(sql, [*params, remaining, offset])
            while True:
                page = cursor.fetchmany(1000)
                if not page:
                    return
                for (text,) in page:
                    yield text

    @_retry_once
    def count(self, run_filter: RunFilter | None = None) -> int:
        where, params = where_sql(run_filter or RunFilter())
        with self._session() as conn:
            if conn is None:
                return 0
            return int(conn.execute(f"SELECT count(*) FROM runs WHERE {where}",
                                    params).fetchone()[0])

    @_retry_once
    def sweep_counts(self) -> dict[str, int]:
        """How many runs each sweep has (run.sweep as written), counted in SQL."""
        with self._session() as conn:
            if conn is None:
                return {}
            return {str(sweep): int(n) for sweep, n in conn.execute(
                "SELECT json_extract(summary, '$.sweep') AS sweep, count(*) FROM runs "
                "WHERE t_sweep != '' GROUP BY sweep")}

    @_retry_once
    def dirnames_where(self, sql: str, params: Sequence[str]) -> list[str]:
        """Folder names of the rows matching ``sql`` (a WHERE clause), newest first."""
        with self._session() as conn:
            if conn is None:
                return []
            return [row[0] for row in conn.execute(
                f"SELECT dirname FROM runs WHERE {sql} ORDER BY dirname DESC", list(params))]

    def running_names(self) -> list[str]:
        """Runs whose summary.json says running (their live status is re-checked)."""
        return self.dirnames_where("running = 1", [])

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.path, _sibling(self.path, "-wal"),
                                               _sibling(self.path, "-shm")) if p.exists())

    # -- rows ---------------------------------------------------------------------------------
    @_retry_once
    def checked_runs(self, names: list[str]) -> list[RunSummary]:
        """The runs of these folders, each checked against its summary.json (see _fresh)."""
        return self._fresh(names)

    def _fresh(self, names: list[str]) -> list[RunSummary]:
        """The runs of ``names`` (folders without a summary are skipped), each checked by
        the stat of its summary and re-read (and re-stored) when it changed or runs."""
        root = str(self.root)
        keys = {name: stat_key(f"{root}/{name}/{SUMMARY_NAME}") for name in names}
        stored: dict[str, tuple[StatKey, int, str]] = {}
        with self._session() as conn:
            if conn is not None:
                marks = ", ".join("?" for _ in names)
                for dirname, ino, mtime, size, running, text in conn.execute(
                        f"SELECT dirname, ino, mtime_ns, size, running, summary FROM runs "
                        f"WHERE dirname IN ({marks})", names):
                    stored[dirname] = ((ino, mtime, size), running, text)
        stale = [name for name in names if keys[name] is not None and (
            name not in stored or stored[name][1] or stored[name][0] != keys[name])]
        fresh = {summary.run_id: summary for summary in self._reindex(stale)}
        out = []
        for name in names:
            if name in fresh:
                out.append(fresh[name])
            elif keys[name] is not None and name in stored:
                out.append(self._decode(stored[name][2]))
        return out

    def _reindex(self, names: list[str]) -> list[RunSummary]:
        """Read these summaries again and store them; returns the runs read."""
        rows, summaries, gone = self._reader.read(names)
        self._write(rows, gone)
        return summaries

    def _delete(self, names: list[str]) -> None:
        for start in range(0, len(names), BATCH_ROWS):
            self._write([], names[start:start + BATCH_ROWS])

    def _write(self, rows: list[tuple[object, ...]], removed: list[str]) -> None:
        if not rows and not removed:
            return
        with self._write_lock, self._session() as conn:
            if conn is None:
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(_INSERT, rows)
                conn.executemany("DELETE FROM runs WHERE dirname = ?",
                                 [(name,) for name in removed])
                conn.execute("COMMIT")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            self._written = getattr(self, "_written", 0) + len(rows) + len(removed)
            if self._written >= CHECKPOINT_ROWS and self._memory is None:
                self._written = 0
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _decode(self, text: str) -> RunSummary:
        from densexp_tui.core.runstore import RunSummary

        return RunSummary(**json.loads(text))

    # -- the database -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _session(self) -> Iterator[sqlite3.Connection | None]:
        """This thread's connection (None when the runs dir does not exist). A database
        that turns out unreadable is thrown away and the next call builds a new one."""
        if not self.root.is_dir():
            yield None
            return
        if not root_is_writable(self.root):
            with self._memory_lock:
                yield self._memory_connection()
            return
        try:
            yield self._file_connection()
        except sqlite3.DatabaseError as err:
            if not _is_busy(err):  # busy beyond the timeout is not a damaged cache
                self._discard()
            raise

    def _file_connection(self) -> sqlite3.Connection:
        if _inode(self.path) != self._opened_inode and self._opened_inode is not None:
            self._generation += 1  # deleted or replaced under us: everyone reopens
            self._opened_inode = None
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "generation", -1) == self._generation:
            return conn
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self.path.parent.mkdir(exist_ok=True)
        conn = self._open_file()
        self._local.conn, self._local.generation = conn, self._generation
        return conn

    def _open_file(self) -> sqlite3.Connection:
        for attempt in (1, 2):
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")  # a cache: losing a write is fine
                _prepare(conn)
                self._opened_inode = _inode(self.path)
                return conn
            except sqlite3.DatabaseError as err:
                conn.close()
                if attempt == 2 or _is_busy(err):
                    raise
                self._discard()  # truncated, garbage: start again from the folders
        raise AssertionError("unreachable")

    def _memory_connection(self) -> sqlite3.Connection:
        """A read-only runs dir: an in-memory index, seeded from the file when one is there
        and readable (opened immutable: no -wal or -shm file is made)."""
        if self._memory is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            if self.path.exists():
                with contextlib.suppress(sqlite3.Error):
                    source = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1",
                                             uri=True)
                    source.backup(conn)
                    source.close()
            try:
                _prepare(conn)
            except sqlite3.DatabaseError:
                conn.close()
                conn = sqlite3.connect(":memory:", check_same_thread=False,
                                       isolation_level=None)
                _prepare(conn)
            self._memory = conn
        return self._memory

    def _discard(self) -> None:
        """Drop a cache that cannot be read (truncated, corrupt): it is rebuilt."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
            self._local.conn = None
        self._generation += 1
        self._opened_inode = None
        if root_is_writable(self.root):
            for path in (self.path, _sibling(self.path, "-wal"), _sibling(self.path, "-shm")):
                with contextlib.suppress(OSError):
                    path.unlink()


def _prepare(conn: sqlite3.Connection) -> None:
    """The tables, once; an index of another schema version is emptied and rebuilt."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is not None and row[0] != SCHEMA_VERSION:
            conn.execute("DROP TABLE IF EXISTS runs")
            # The emptied rows no longer hold every folder's name: not "current" any more.
            conn.execute("DELETE FROM meta WHERE key = 'root_mtime_ns'")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except sqlite3.Error:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _stat_keys(root: str, names: list[str]) -> dict[str, StatKey | None]:
    """Each folder's summary stat key (threads were measured: no faster on a warm inode
    cache, the loop is CPU-bound)."""
    return {name: stat_key(f"{root}/{name}/{SUMMARY_NAME}") for name in names}


def _entry_names(root: Path) -> list[str]:
    """The names in ``root`` that may be runs (``os.listdir``, hidden ones dropped)."""
    try:
        return [name for name in os.listdir(root) if not name.startswith(".")]
    except OSError:
        return []


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None
