"""Reading studies: trial rows, best-so-far curves, importances and the list of sweeps.

The headless table and the TUI's Sweeps screen both draw from these plain dataclasses, so
the two always agree on what a trial's state, value and epochs are.
"""

from __future__ import annotations

import datetime as _dt
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep import storage as storage_mod

# Parameter importances mean little on fewer finished trials than this.
MIN_TRIALS_FOR_IMPORTANCE = 4
FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
STATE_NAMES = {
    TrialState.RUNNING: "running",
    TrialState.WAITING: "waiting",
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
}
STUDY_ATTR = "densexp"  # study user attr holding the sweep's settings (objective, space, ...)


@dataclass
class TrialRow:
    """One trial as the tables show it."""

    number: int
    state: str
    params: dict[str, Any] = field(default_factory=dict)
    value: float | None = None
    epochs: int = 0
    duration: float | None = None  # seconds
    pruned_at: int | None = None
    run_id: str = ""
    reused_from: str = ""
    note: str = ""  # why it failed, "retry of #3", "not needed", ...
    intermediate: dict[int, float] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("complete", "pruned")


def trial_row(trial: FrozenTrial, now: _dt.datetime | None = None) -> TrialRow:
    attrs = trial.user_attrs
    return TrialRow(
        number=trial.number,
        state=STATE_NAMES.get(trial.state, trial.state.name.lower()),
        params=dict(trial.params),
        value=trial.value if trial.state == TrialState.COMPLETE else None,
        epochs=int(attrs.get("epochs") or len(trial.intermediate_values)),
        duration=_duration(trial, now),
        pruned_at=attrs.get("pruned_at"),
        run_id=str(attrs.get("run_id", "")),
        reused_from=str(attrs.get("reused_from", "")),
        note=_note(trial),
        intermediate=dict(trial.intermediate_values),
    )


def _duration(trial: FrozenTrial, now: _dt.datetime | None) -> float | None:
    if trial.datetime_start is None:
        return None
    end = trial.datetime_complete or (now or _dt.datetime.now())
    return max(0.0, (end - trial.datetime_start).total_seconds())


def _note(trial: FrozenTrial) -> str:
    attrs = trial.user_attrs
    if attrs.get("reused_from"):
        return f"reused {attrs['reused_from']}"
    if attrs.get("failure"):
        return str(attrs["failure"])
    if "retry_of" in attrs:
        return f"retry of #{attrs['retry_of']}"
    return ""


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    now = _dt.datetime.now()
    rows = [trial_row(t, now) for t in study.get_trials(deepcopy=False)]
    retried = {r.note for r in rows}
    for row in rows:  # a failed trial whose params run again says so
        if row.state == "failed" and not row.note and f"retry of #{row.number}" in retried:
            row.note = "worker died; retried"
    return rows


def best_row(rows: list[TrialRow], direction: str) -> TrialRow | None:
    complete = [r for r in rows if r.state == "complete" and r.value is not None
                and math.isfinite(r.value)]
    if not complete:
        return None
    pick = min if direction == "minimize" else max
    return pick(complete, key=lambda r: (r.value, -r.number) if direction == "maximize"
                else (r.value, r.number))


def best_so_far(rows: list[TrialRow], direction: str) -> list[tuple[int, float]]:
    """(trial number, best value among complete trials up to it) in trial order."""
    out: list[tuple[int, float]] = []
    best: float | None = None
    for row in sorted(rows, key=lambda r: r.number):
        if row.state != "complete" or row.value is None or not math.isfinite(row.value):
            continue
        if best is None or (row.value < best if direction == "minimize" else row.value > best):
            best = row.value
        out.append((row.number, best))
    return out


def count_finished(rows: list[TrialRow]) -> int:
    return sum(1 for r in rows if r.finished)


def importances(study: optuna.Study) -> dict[str, float] | None:
    """Optuna's parameter importances once enough trials completed (None before that)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError, ZeroDivisionError):
        return None  # e.g. every complete trial has the same value or the same params


def format_params(params: dict[str, Any]) -> str:
    """``learning_rate=3.20e-04 batch_size=16``: keys without their section, compact
    numbers (the line `densexp sweep` prints per trial)."""
    return " ".join(f"{short_key(k)}={format_value(v)}" for k, v in params.items())


def short_key(key: str) -> str:
    return key.split(".", 1)[-1]


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 or value == 0 else f"{value:.2e}"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Listing studies.


@dataclass
class StudyInfo:
    """A study the Sweeps screen lists."""

    name: str
    storage: str  # "" = the runs directory's journal; else the URL (password hidden in display)
    n_trials: int = 0
    finished: int = 0
    running: int = 0
    best: float | None = None
    direction: str = "maximize"
    objective: str = ""
    target: int | None = None
    runs: int = 0  # runs in the run store with run.sweep = name


def list_local_studies(store: RunStore,
                       counts: dict[str, int] | None = None) -> list[StudyInfo]:
    """Studies with a journal file in the runs dir, plus sweeps only run summaries mention
    (``counts``: runs per sweep name, when the caller has them already)."""
    found: dict[str, StudyInfo] = {}
    folder = storage_mod.sweeps_dir(store.root)
    for path in sorted(folder.glob(f"*{storage_mod.JOURNAL_SUFFIX}")) if folder.is_dir() else []:
        name = path.name[: -len(storage_mod.JOURNAL_SUFFIX)]
        found[name] = StudyInfo(name=name, storage="")
    if counts is None:
        counts = store.sweep_counts()  # counted in the runs index: no 100,000 run objects
    for name, count in counts.items():
        found.setdefault(name, StudyInfo(name=name, storage="?")).runs = count
    return sorted(found.values(), key=lambda s: s.name)


def describe_study(study: optuna.Study, info: StudyInfo) -> StudyInfo:
    """Fill in counts, best value and settings from the study itself."""
    settings = study.user_attrs.get(STUDY_ATTR, {})
    return describe_rows(info, trial_rows(study), settings, study.direction.name.lower())


def describe_rows(info: StudyInfo, rows: list[TrialRow], settings: dict[str, Any],
                  direction: str) -> StudyInfo:
    """describe_study from rows already built (the Sweeps screen's reader keeps them)."""
    info.n_trials = len(rows)
    info.finished = count_finished(rows)
    info.running = sum(1 for r in rows if r.state == "running")
    info.direction = direction
    info.objective = settings.get("objective", "")
    info.target = settings.get("n_trials")
    best = best_row(rows, info.direction)
    info.best = best.value if best else None
    return info


def load_local_study(store: RunStore, name: str) -> optuna.Study | None:
    """The journal study ``name`` of this runs dir, read-only use (None if there is none)."""
    path = storage_mod.journal_path(store.root, name)
    if not path.is_file():
        return None
    spec = storage_mod.StorageSpec("journal", path=path, display=str(path))
    return load_study(spec, name)


def load_study(spec: storage_mod.StorageSpec, name: str) -> optuna.Study | None:
    try:
        storage = storage_mod.open_storage(spec)
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None

