"""Reading studies for a live view: the Sweeps screen's data, Textual-free.

``StudyReader.snapshot`` lists the studies of a runs directory (journal files) or of a
storage URL, describes each, and builds the selected one's trial rows, search-space keys and
parameter importances. It keeps storages open, so a journal file replays incrementally
(a 1,000-trial study is read once, then only what was appended), and keeps each study's rows
(sweep.trialcache): a snapshot rebuilds only new and unfinished trials, and hands a view the
rows changed since the one it drew (``StudyView.changed``). Importances (Optuna's
fANOVA: about 25 s for 1,000 trials on a loaded 2-core box) are computed in a child
process, never in this one: in a thread they held the GIL and a view's key presses waited
seconds (bench/many_runs.py --sweeps). They show on a later snapshot
(``importances_pending`` meanwhile) and are recomputed only when enough new trials
completed or enough time passed. Thread-safe: one snapshot at a time.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from densexp_tui.core.errors import BadInput
from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep import storage as storage_mod
from densexp_tui.sweep import study as study_mod
from densexp_tui.sweep.trialcache import (  # noqa: F401 - trial_cells: part of this API
    Cells,
    TrialCache,
    TrialDelta,
    trial_cells,
    trial_header,
)

# Importances are recomputed after this many seconds, or once the complete trials grew by
# IMPORTANCE_GROWTH since the last computation (whichever comes first).
IMPORTANCE_SECONDS = 30.0
IMPORTANCE_GROWTH = 0.1
# Up to this many complete trials fANOVA takes well under a second: computed right away.
INLINE_IMPORTANCE_TRIALS = 100
IMPORTANCE_NICENESS = 10  # the importance process yields the CPU to the view's process
# Runs per sweep (studies known only from run summaries) are counted this often, in seconds.
SWEEP_COUNTS_SECONDS = 10.0
# (best so far at each complete trial, each complete trial's value): curve_points' answer.
_Curve = tuple[list[tuple[float, float]], list[tuple[float, float]]]


@dataclass
class StudyView:
    """One study as a view shows it."""

    info: study_mod.StudyInfo
    rows: list[study_mod.TrialRow] = field(default_factory=list)
    space_keys: list[str] = field(default_factory=list)
    importances: dict[str, float] | None = None
    source: str = ""  # the sweep TOML this study was started from (for "continue")
    importances_pending: bool = False  # being computed; a later snapshot has them
    header: tuple[str, ...] = ()
    cells: list[Cells] = field(default_factory=list)  # one row of text per trial
    # The best-so-far curve's points and every complete trial's (number, value), built off
    # the UI thread like the cells.
    best_points: list[tuple[float, float]] = field(default_factory=list)
    value_points: list[tuple[float, float]] = field(default_factory=list)
    # What to redraw (sweep.trialcache): every row of ``cells`` when ``changed.since`` is None,
    # else only ``changed.changed``, the rows changed since the (epoch, revision) asked for.
    changed: TrialDelta = field(default_factory=lambda: TrialDelta(0, 0, None, []))

    @property
    def drawn(self) -> tuple[int, int]:
        """(epoch, revision): what a view that drew this snapshot asks changes since."""
        return self.changed.epoch, self.changed.revision


@dataclass
class Snapshot:
    studies: list[study_mod.StudyInfo]
    selected: StudyView | None
    problem: str = ""


@dataclass
class _Importance:
    complete: int
    at: float
    values: dict[str, float] | None
    computing: Future[dict[str, float] | None] | None = None


@dataclass
class _Journal:
    """An open journal storage and what its file was when opened: a file removed and made
    again (a new sweep of the same name) must not be read on from the old file's offset."""

    storage: Any
    identity: tuple[int, bytes]
    size: int


def _importances_in_child(url: str, runs_dir: str, name: str) -> dict[str, float] | None:
    """Runs in the child process: load the study and compute its importances."""
    from pathlib import Path

    spec = storage_mod.parse_storage(url or None, Path(runs_dir), name)
    study = optuna.load_study(study_name=name, storage=storage_mod.open_storage(spec))
    return study_mod.importances(study)


def _lower_priority() -> None:
    """The importance process's initializer: fANOVA takes a core for tens of seconds on a
    1,000-trial study, and the view's own process must win that core when keys arrive."""
    try:
        os.nice(IMPORTANCE_NICENESS)
    except OSError:
        pass


class StudyReader:
    """Reads studies; keeps storages and trial rows between snapshots (see the module doc)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._storages: dict[str, Any] = {}  # optuna BaseStorage by URL
        self._journals: dict[Path, _Journal] = {}
        self._checked: set[str] = set()  # storage URLs found reachable
        self._trials: dict[tuple[str, str], TrialCache] = {}  # by (storage key, study name)
        self._importances: dict[str, _Importance] = {}
        self._curves: dict[tuple[str, str], tuple[tuple[int, int, str], _Curve]] = {}
        self._counts: tuple[float, dict[str, int]] | None = None
        self._pool: ProcessPoolExecutor | None = None

    def snapshot(self, storage_url: str, selected: str | None,
                 since: tuple[int, int] | None = None) -> Snapshot:
        """Every study, described, and the ``selected`` one (else the first) in full; its
        ``changed`` holds the rows changed since ``since`` (a StudyView.drawn)."""
        with self._lock:
            try:
                return self._snapshot(storage_url.strip(), selected, since)
            except BadInput as err:
                return Snapshot([], None, str(err))
            except Exception as err:  # noqa: BLE001 - a broken study must not kill a view
                return Snapshot([], None, f"cannot read studies: {type(err).__name__}: {err}")

    def open_study(self, url: str, name: str) -> optuna.Study | None:
        """The study ``name`` (None when it does not exist), for actions like stop."""
        with self._lock:
            found = self._storage(url, name)
            if found is None:
                return None
            try:
                return optuna.load_study(study_name=name, storage=found[1])
            except KeyError:
                return None

    def _snapshot(self, url: str, selected: str | None,
                  since: tuple[int, int] | None) -> Snapshot:
        infos = self._list(url)
        chosen = next((i for i in infos if i.name == selected), infos[0] if infos else None)
        view = None
        read: set[tuple[str, str]] = set()
        for info in infos:
            found = self._storage(url, info.name)
            if found is None:
                continue
            key, storage = found
            trials = self._read_trials(key, storage, info.name)
            if trials is None:
                continue
            read.add((key, info.name))
            study_id, cache = trials
            settings = storage.get_study_user_attrs(study_id).get(study_mod.STUDY_ATTR, {})
            direction = storage.get_study_directions(study_id)[0].name.lower()
            rows = cache.rows()
            study_mod.describe_rows(info, rows, settings, direction)
            if info is chosen:
                view = self._view(cache, rows, info, url, settings, since)
        for gone in set(self._trials) - read:  # nothing kept of studies no longer listed
            del self._trials[gone]
        return Snapshot(infos, view)

    def _list(self, url: str) -> list[study_mod.StudyInfo]:
        if not url:
            return study_mod.list_local_studies(self.store, self._sweep_counts())
        storage = self._url_storage(url)
        return [study_mod.StudyInfo(name=name, storage=url)
                for name in sorted(optuna.get_all_study_names(storage))]

    def _sweep_counts(self) -> dict[str, int]:
        """Runs per sweep, from the runs index at most every SWEEP_COUNTS_SECONDS: counting
        checks every summary of the runs dir, which is no job for every second."""
        now = time.monotonic()
        if self._counts is None or now - self._counts[0] >= SWEEP_COUNTS_SECONDS:
            self._counts = (now, self.store.sweep_counts())
        return self._counts[1]

    def _storage(self, url: str, name: str) -> tuple[str, Any] | None:
        """(cache key, the open storage) of study ``name``; None for a local study without
        its journal (known only from run summaries, or its journal was removed)."""
        if url:
            return url, self._url_storage(url)
        path = storage_mod.journal_path(self.store.root, name)
        journal = self._journal(path)
        return (str(path), journal.storage) if journal is not None else None

    def _url_storage(self, url: str) -> Any:
        if url not in self._storages:
            spec = storage_mod.parse_storage(url, self.store.root, "")
            if url not in self._checked:
                storage_mod.check_reachable(spec)
                self._checked.add(url)
            self._storages[url] = storage_mod.open_storage(spec)
        return self._storages[url]

    def _journal(self, path: Path) -> _Journal | None:
        try:
            identity, size = journal_identity(path)
        except OSError:
            self._journals.pop(path, None)
            return None
        known = self._journals.get(path)
        if known is None or known.identity != identity or size < known.size:
            spec = storage_mod.StorageSpec("journal", path=path, display=str(path))
            known = _Journal(storage_mod.open_storage(spec), identity, size)
            self._journals[path] = known
            for key in [k for k in self._trials if k[0] == str(path)]:
                del self._trials[key]
        known.size = size
        return known

    def _read_trials(self, key: str, storage: Any, name: str) -> tuple[int, TrialCache] | None:
        """The study's id and its rows, brought up to date (None: no such study)."""
        try:
            study_id = storage.get_study_id_from_name(name)
        except KeyError:
            return None
        cache = self._trials.get((key, name))
        if cache is None or cache.study_id != study_id:  # new, or made again under that name
            cache = self._trials[(key, name)] = TrialCache(study_id)
        cache.update(storage.get_all_trials(study_id, deepcopy=False))
        return study_id, cache

    def _view(self, cache: TrialCache, rows: list[study_mod.TrialRow],
              info: study_mod.StudyInfo, url: str, settings: dict[str, Any],
              since: tuple[int, int] | None) -> StudyView:
        complete = sum(1 for r in rows if r.state == "complete")
        importances, pending = self._importance(url, info.name, complete)
        best, values = self._curve(cache, rows, info)
        return StudyView(info, rows, cache.keys, importances, str(settings.get("source", "")),
                         pending, trial_header(cache.keys), cache.cells(), best, values,
                         cache.delta(since))

    def _curve(self, cache: TrialCache, rows: list[study_mod.TrialRow],
               info: study_mod.StudyInfo) -> _Curve:
        """curve_points, again only when a trial changed."""
        stamp = (cache.epoch, cache.revision, info.direction)
        known = self._curves.get((info.storage, info.name))
        if known is None or known[0] != stamp:
            known = (stamp, curve_points(rows, info.direction))
            self._curves[(info.storage, info.name)] = known
        return known[1]

    def _importance(self, url: str, name: str,
                    complete: int) -> tuple[dict[str, float] | None, bool]:
        """(the latest importances, whether newer ones are being computed)."""
        known = self._importances.get(name)
        if known is not None and known.computing is not None:
            if not known.computing.done():
                return known.values, True
            known.values = _result_or_none(known.computing)
            known.computing = None
        if complete < study_mod.MIN_TRIALS_FOR_IMPORTANCE:
            return None, False
        now = time.monotonic()
        if known is not None and (known.complete == complete or (
                complete < known.complete * (1 + IMPORTANCE_GROWTH)
                and now - known.at < IMPORTANCE_SECONDS)):
            return known.values, False
        entry = _Importance(complete, now, known.values if known else None)
        if complete <= INLINE_IMPORTANCE_TRIALS:
            entry.values = _importances_in_child(url, str(self.store.root), name)
            self._importances[name] = entry
            return entry.values, False
        entry.computing = self._executor().submit(_importances_in_child, url,
                                                  str(self.store.root), name)
        self._importances[name] = entry
        return entry.values, True

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            start_resource_tracker()
            # spawn: a fork of a threaded app (Textual, workers) is not safe
            self._pool = ProcessPoolExecutor(max_workers=1,
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_lower_priority)
        return self._pool

    def close(self) -> None:
        """Stop the importance process (a closing view)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker against the process's real stderr.

    The tracker hands ``sys.stderr``'s descriptor to its process; inside a Textual app
    sys.stderr is a capture object whose fileno() is -1, so the first spawn failed with
    "bad value(s) in fds_to_keep" and the Sweeps screen said "cannot read studies" for
    every study with enough finished trials to compute importances (found measuring a
    1,000-trial study, bench/many_runs.py --sweeps)."""
    from multiprocessing import resource_tracker

    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable or sys.__stderr__ is None:
        resource_tracker.ensure_running()
        return
    captured = sys.stderr
    sys.stderr = sys.__stderr__
    try:
        resource_tracker.ensure_running()
    finally:
        sys.stderr = captured


def _result_or_none(future: Future[dict[str, float] | None]) -> dict[str, float] | None:
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - a failed computation just means no importances
        return None


def journal_identity(path: Path) -> tuple[tuple[int, bytes], int]:
    """((inode, first line), size) of a journal file. The first line creates the study and
    names its writer with a fresh uuid, so a file made again differs even on a reused inode."""
    with path.open("rb") as handle:
        head = handle.readline(512)
        return (os.fstat(handle.fileno()).st_ino, head), os.fstat(handle.fileno()).st_size


def curve_points(rows: list[study_mod.TrialRow], direction: str) -> _Curve:
    """(the best value so far at each complete trial, each complete trial's finite value)."""
    best = [(float(n), v) for n, v in study_mod.best_so_far(rows, direction)]
    values = [(float(r.number), float(r.value)) for r in rows
              if r.state == "complete" and r.value is not None and math.isfinite(r.value)]
    return best, values
