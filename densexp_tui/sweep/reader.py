"""Reading studies for a live view: the Sweeps screen's data, Textual-free.

``StudyReader.snapshot`` lists the studies of a runs directory (journal files) or of a
storage URL, describes each, and builds the selected one's trial rows, search-space keys and
parameter importances. It keeps storages open, so a journal file replays incrementally
(a 1,000-trial study is read once, then only what was appended). Importances (Optuna's
fANOVA: about 25 s for 1,000 trials on a loaded 2-core box) are computed in a child
process, never in this one: in a thread they held the GIL and a view's key presses waited
seconds (bench/many_runs.py --sweeps). They show on a later snapshot
(``importances_pending`` meanwhile) and are recomputed only when enough new trials
completed or enough time passed. Thread-safe: one snapshot at a time.
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import optuna

from densexp_tui.core.errors import BadInput
from densexp_tui.core.formatting import format_duration
from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep import storage as storage_mod
from densexp_tui.sweep import study as study_mod

# Importances are recomputed after this many seconds, or once the complete trials grew by
# IMPORTANCE_GROWTH since the last computation (whichever comes first).
IMPORTANCE_SECONDS = 30.0
IMPORTANCE_GROWTH = 0.1
# Up to this many complete trials fANOVA takes well under a second: computed right away.
INLINE_IMPORTANCE_TRIALS = 100


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
    cells: list[tuple[str, ...]] = field(default_factory=list)  # one row of text per trial
    # The best-so-far curve's points and every complete trial's (number, value), built off
    # the UI thread like the cells.
    best_points: list[tuple[float, float]] = field(default_factory=list)
    value_points: list[tuple[float, float]] = field(default_factory=list)


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


def _importances_in_child(url: str, runs_dir: str, name: str) -> dict[str, float] | None:
    """Runs in the child process: load the study and compute its importances."""
    from pathlib import Path

    spec = storage_mod.parse_storage(url or None, Path(runs_dir), name)
    study = optuna.load_study(study_name=name, storage=storage_mod.open_storage(spec))
    return study_mod.importances(study)


class StudyReader:
    """Reads studies; keeps storages open so journal files replay incrementally."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._storages: dict[str, Any] = {}  # optuna BaseStorage by journal path or URL
        self._checked: set[str] = set()  # storage URLs found reachable
        self._importances: dict[str, _Importance] = {}
        self._pool: ProcessPoolExecutor | None = None

    def snapshot(self, storage_url: str, selected: str | None) -> Snapshot:
        """Every study, described, and the ``selected`` one (else the first) in full."""
        with self._lock:
            try:
                return self._snapshot(storage_url.strip(), selected)
            except BadInput as err:
                return Snapshot([], None, str(err))
            except Exception as err:  # noqa: BLE001 - a broken study must not kill a view
                return Snapshot([], None, f"cannot read studies: {type(err).__name__}: {err}")

    def open_study(self, url: str, name: str) -> optuna.Study | None:
        """The study ``name`` (None when it does not exist), for actions like stop."""
        with self._lock:
            return self._study(url, name)

    def _snapshot(self, url: str, selected: str | None) -> Snapshot:
        infos = self._list(url)
        chosen = next((i for i in infos if i.name == selected), infos[0] if infos else None)
        view = None
        for info in infos:
            study = self._study(url, info.name)
            if study is None:
                continue
            study_mod.describe_study(study, info)
            if info is chosen:
                view = self._view(study, info, url)
        return Snapshot(infos, view)

    def _list(self, url: str) -> list[study_mod.StudyInfo]:
        if not url:
            return study_mod.list_local_studies(self.store)
        storage = self._storage(url, "")
        return [study_mod.StudyInfo(name=name, storage=url)
                for name in sorted(optuna.get_all_study_names(storage))]

    def _storage(self, url: str, name: str) -> Any:
        spec = storage_mod.parse_storage(url or None, self.store.root, name)
        key = str(spec.path) if spec.kind == "journal" else spec.url
        if key not in self._storages:
            if url and url not in self._checked:
                storage_mod.check_reachable(spec)
                self._checked.add(url)
            self._storages[key] = storage_mod.open_storage(spec)
        return self._storages[key]

    def _study(self, url: str, name: str) -> optuna.Study | None:
        if not url and not storage_mod.journal_path(self.store.root, name).is_file():
            return None  # known only from run summaries (its journal was removed)
        try:
            return optuna.load_study(study_name=name, storage=self._storage(url, name))
        except KeyError:
            return None

    def _view(self, study: optuna.Study, info: study_mod.StudyInfo, url: str) -> StudyView:
        rows = study_mod.trial_rows(study)
        settings = study.user_attrs.get(study_mod.STUDY_ATTR, {})
        keys = list(dict.fromkeys(k for r in rows for k in r.params))
        complete = sum(1 for r in rows if r.state == "complete")
        importances, pending = self._importance(url, info.name, complete)
        best, values = curve_points(rows, info.direction)
        return StudyView(info, rows, keys, importances, str(settings.get("source", "")),
                         pending, trial_header(keys), [trial_cells(row, keys) for row in rows],
                         best, values)

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
                                             mp_context=multiprocessing.get_context("spawn"))
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


def trial_header(keys: list[str]) -> tuple[str, ...]:
    """The trials table's columns: number, the searched keys, then what happened."""
    return ("#", *[study_mod.short_key(k) for k in keys], "state", "value", "epochs",
            "duration", "pruned at", "run")


def trial_cells(row: study_mod.TrialRow, keys: list[str]) -> tuple[str, ...]:
    """One trial as text, in trial_header order (built off the UI thread)."""
    params = [study_mod.format_value(row.params[k]) if k in row.params else "" for k in keys]
    run = f"reused {row.reused_from}" if row.reused_from else row.run_id
    note = f" ({row.note})" if row.note and not row.reused_from else ""
    value = "" if row.value is None else f"{row.value:.4f}"
    return (str(row.number), *params, row.state + note, value, str(row.epochs or ""),
            format_duration(row.duration), str(row.pruned_at or ""), run)


def curve_points(rows: list[study_mod.TrialRow], direction: str) -> tuple[
        list[tuple[float, float]], list[tuple[float, float]]]:
    """(the best value so far at each complete trial, each complete trial's finite value)."""
    best = [(float(n), v) for n, v in study_mod.best_so_far(rows, direction)]
    values = [(float(r.number), float(r.value)) for r in rows
              if r.state == "complete" and r.value is not None and math.isfinite(r.value)]
    return best, values
