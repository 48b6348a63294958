"""A study's trial rows and their table cells, kept between reads: only what changed is rebuilt.

The Sweeps screen reads its study every second. Rebuilding every trial's row and cells on each
read (about 40 ms a second for 1,000 trials on the shared 2-core box, more under load) held the
GIL in the reader's worker while the UI thread waited to answer keys (bench/many_runs.py).

Optuna never changes a finished trial: its storages refuse any update to one (journal and RDB
alike raise UpdateFinishedTrialError), so a finished trial's row is built once. Unfinished
trials (a running trial's clock moves every second) and new ones are built on each read; the
list of trials itself comes from the storage's own cache (the journal replays only the lines
appended since, the RDB storage re-reads only unfinished and newer trials).

Every change is numbered (``revision``), so a view asks for what changed since the revision it
drew and redraws only that (``delta``). ``epoch`` changes when the rows must be drawn whole:
another study, a study of the same name created again, or other searched keys (other columns).
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial

from densexp_tui.core.formatting import format_duration
from densexp_tui.core.runstore import run_id_without_time
from densexp_tui.sweep import study as study_mod

Cells = tuple[str, ...]  # one trial as the trials table's texts, in trial_header order
_EPOCHS = itertools.count(1)


@dataclass
class TrialDelta:
    """What a view must redraw: every row (``since`` None) or the rows changed since ``since``."""

    epoch: int
    revision: int
    since: int | None
    changed: list[Cells]


def trial_header(keys: list[str]) -> tuple[str, ...]:
    """The trials table's columns: number, the searched keys, then what happened."""
    # The outcome first, as Optuna's dashboard and our reports order it: at 80 columns the
    # parameters used to push state and value off the screen; the run follows the
    # parameters (a trial's outcome, parameters and run fit the table at 120 columns).
    return ("#", "state", "value", *[study_mod.short_key(k) for k in keys], "run", "epochs",
            "duration", "pruned at")


def trial_cells(row: study_mod.TrialRow, keys: list[str]) -> Cells:
    """One trial as text, in trial_header order (built off the UI thread)."""
    params = [study_mod.format_value(row.params[k]) if k in row.params else "" for k in keys]
    # Without its time stamp (the same few seconds for every trial): the run's name and
    # suffix, which the runs screen's Name column and the run id end with.
    run = (f"reused {run_id_without_time(row.reused_from)}" if row.reused_from
           else run_id_without_time(row.run_id))
    note = f" ({row.note})" if row.note and not row.reused_from else ""
    value = "" if row.value is None else f"{row.value:.4f}"
    return (str(row.number), row.state + note, value, *params, run, str(row.epochs or ""),
            format_duration(row.duration), str(row.pruned_at or ""))


class TrialCache:
    """One study's rows and cells by trial number, updated from the storage's trial list."""

    def __init__(self, study_id: int) -> None:
        self.study_id = study_id
        self._forget()

    def _forget(self) -> None:
        self.epoch = next(_EPOCHS)
        self.revision = 0
        self.keys: list[str] = []
        self._rows: dict[int, study_mod.TrialRow] = {}
        self._cells: dict[int, Cells] = {}
        self._changed_at: dict[int, int] = {}  # trial number -> revision of its last change
        self._final: set[int] = set()  # built from a finished trial: never rebuilt

    def update(self, trials: Sequence[FrozenTrial], now: _dt.datetime | None = None) -> bool:
        """Rebuild the rows of new and unfinished trials; True when any cell changed."""
        now = now or _dt.datetime.now()
        if len(trials) < len(self._rows):  # trials are never deleted: this is another study
            self._forget()
        built: list[study_mod.TrialRow] = []
        for trial in trials:
            if trial.number in self._final:
                continue
            row = study_mod.trial_row(trial, now)
            self._rows[trial.number] = row
            built.append(row)
            if trial.state.is_finished():
                self._final.add(trial.number)
        touched = [row.number for row in built] + self._mark_retried(built)
        keys = list(dict.fromkeys(k for r in self._rows.values() for k in r.params))
        if keys != self.keys:  # other columns: every row is drawn again
            self.keys, self.epoch = keys, next(_EPOCHS)
            self._cells.clear()
            touched = list(self._rows)
        return self._rebuild_cells(touched)

    def rows(self) -> list[study_mod.TrialRow]:
        return [self._rows[n] for n in sorted(self._rows)]

    def cells(self) -> list[Cells]:
        return [self._cells[n] for n in sorted(self._cells)]

    def delta(self, since: tuple[int, int] | None) -> TrialDelta:
        """The rows changed since ``since`` = (epoch, revision) a view drew; all of them when
        that view drew another epoch (or nothing)."""
        if since is None or since[0] != self.epoch or since[1] > self.revision:
            return TrialDelta(self.epoch, self.revision, None, self.cells())
        changed = sorted(n for n, at in self._changed_at.items() if at > since[1])
        return TrialDelta(self.epoch, self.revision, since[1], [self._cells[n] for n in changed])

    def _rebuild_cells(self, numbers: list[int]) -> bool:
        changed = False
        for number in numbers:
            cells = trial_cells(self._rows[number], self.keys)
            if self._cells.get(number) == cells:
                continue
            if not changed:
                self.revision += 1
                changed = True
            self._cells[number] = cells
            self._changed_at[number] = self.revision
        return changed

    def _mark_retried(self, built: list[study_mod.TrialRow]) -> list[int]:
        """A failed trial whose parameters run again says so (as study.trial_rows does); the
        retry may arrive reads after the failure."""
        marked = []
        for row in built:
            if not row.note.startswith("retry of #"):
                continue
            number = _int_or_none(row.note[len("retry of #"):])
            failed = self._rows.get(number) if number is not None else None
            if failed is not None and failed.state == "failed" and not failed.note:
                failed.note = "worker died; retried"
                marked.append(failed.number)
        return marked


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
