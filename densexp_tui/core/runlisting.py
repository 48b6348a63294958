"""What the runs screen lists: the rows a filter, an order and seed-group folding leave.

Textual-free, so the rules are tested without an app: ``build_view`` for runs dirs small
enough to filter in memory, ``window_view`` for a window the runs index fetched
(core/runwindow.py), ``few_runs``, which decides between the two without listing a big
folder, and ``update_index``/``read_listing``, the periodic re-read of a big runs dir (the
screen runs them in a worker). The runs screen (tui/screens/home.py) draws a ``RunsView``;
it never filters itself.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from densexp_tui.core.runcheck import check_every_run
from densexp_tui.core.rungroups import GroupSummary, fold_groups
from densexp_tui.core.runquery import SortSpec, parse_filter, sort_runs
from densexp_tui.core.runstore import RunSummary
from densexp_tui.core.runwindow import Window, WindowRequest, fetch_window

if TYPE_CHECKING:
    from collections.abc import Callable

    from densexp_tui.core.namesync import NamesSync
    from densexp_tui.core.runindex import Progress
    from densexp_tui.core.runstore import RunStore

# A folded group's row key: the prefix, then the group's name (run ids never start so).
GROUP_KEY_PREFIX = "group:"

Row = RunSummary | GroupSummary


def row_key(row: Row) -> str:
    """The table's key of a row: the run id, or the group's prefixed name."""
    return GROUP_KEY_PREFIX + row.group if isinstance(row, GroupSummary) else row.run_id


@dataclass
class RunsView:
    """What the table shows: every run, and the rows the filter, sort and folding leave."""

    runs: dict[str, RunSummary]
    rows: list[Row]
    positions: dict[str, int]
    filter_text: str
    fold: bool
    sort: SortSpec
    problems: tuple[str, ...] = ()
    total: int = -1  # runs in the directory, when ``runs`` holds only the window's
    matched: int = -1  # rows the filter leaves, when ``rows`` holds only the window's

    @property
    def n_runs(self) -> int:
        return self.total if self.total >= 0 else len(self.runs)

    @property
    def n_shown(self) -> int:
        return self.matched if self.matched >= 0 else len(self.rows)

    def table_order(self, run_ids: set[str] | list[str]) -> list[str]:
        """``run_ids`` in the order the table shows them (a run in a folded group where
        its group's row is); runs it does not show last; ties newest first."""
        def position(run_id: str) -> tuple[int, str]:
            run = self.runs.get(run_id)
            at = self.positions.get(run_id)
            if at is None and run is not None and run.group:
                at = self.positions.get(GROUP_KEY_PREFIX + run.group)
            inverted = "".join(chr(0x10FFFF - ord(c)) for c in run_id)
            return (len(self.positions) if at is None else at, inverted)

        return sorted(run_ids, key=position)

    def group_members(self, key: str) -> list[str]:
        """The run ids of the folded group shown under ``key`` ([] for a run or no row)."""
        if key not in self.positions:
            return []
        row = self.rows[self.positions[key]]
        return list(row.run_ids) if isinstance(row, GroupSummary) else []


def count_line(n_shown: int, n_runs: int, *, fold: bool, checking: bool, marked: int,
               problems: tuple[str, ...] = (), read: tuple[int, int] | None = None) -> str:
    """``3 of 10 runs · groups folded · 2 marked``: what the runs line under the table says
    (``checking``: the index has not checked every run yet, ``read``: its summaries read
    of those it reads, when it has said so; a filter problem last)."""
    noun = "run" if n_runs == 1 else "runs"
    count = f"{n_shown} of {n_runs} {noun}" if n_shown != n_runs else f"{n_runs} {noun}"
    if fold:
        count += " · groups folded"
    if checking and read is not None:
        count += f" · checking every run: {read[0]:,} of {read[1]:,} read"
    elif checking:
        count += " · checking every run…"
    marks = f" · {marked} marked" if marked else ""
    problem = f" · {problems[0]}" if problems else ""
    return count + marks + problem


def empty_hint(n_shown: int, n_runs: int, *, where: str, starting: bool) -> str | None:
    """What the screen says instead of an empty table (None when it shows rows).
    ``starting``: the first run is on its way (loading data, building the model)."""
    if n_runs == 0 and starting:
        return (f"No runs yet in {where}; "
                "the first one is starting (loading data, building the model).")
    if n_runs == 0:
        return f"No runs yet in {where}.\nPress n to set up an experiment."
    if n_shown == 0:
        return "No run matches the filter. Press escape to clear it."
    return None


def build_view(runs: list[RunSummary], filter_text: str, fold: bool, sort: SortSpec,
               by_id: dict[str, RunSummary] | None = None) -> RunsView:
    """Filter, sort and fold ``runs`` (newest first) the way the screen shows them.
    ``by_id``: ``runs`` keyed by id when the caller has it already (refiltering)."""
    query = parse_filter(filter_text, lenient=True)
    order = query.sort or sort
    chosen = query.apply(runs)
    if order != SortSpec():
        chosen = sort_runs(chosen, order)
    rows: list[Row] = list(fold_groups(chosen)) if fold else list(chosen)
    positions = {row_key(row): index for index, row in enumerate(rows)}
    runs_by_id = by_id if by_id is not None else {run.run_id: run for run in runs}
    return RunsView(runs_by_id, rows, positions, filter_text, fold, sort, query.problems)


def window_view(window: Window) -> RunsView:
    """A worker's window as what the table shows (only those rows' runs)."""
    request = window.request
    runs = {row.run_id: row for row in window.rows if isinstance(row, RunSummary)}
    runs.update(window.members)
    positions = {row_key(row): index for index, row in enumerate(window.rows)}
    return RunsView(runs, list(window.rows), positions, request.filter_text, request.fold,
                    request.sort, window.problems, window.total, window.matched)


def few_runs(root: Path, limit: int) -> bool:
    """Whether ``root`` holds at most ``limit`` entries (stops counting past it).
    A folder that cannot be read counts as few: the in-memory listing says why."""
    try:
        with os.scandir(root) as entries:
            for count, _entry in enumerate(entries, 1):
                if count > limit:
                    return False
    except OSError:
        return True
    return True


class ThrottledProgress:
    """A ``progress(read, to_read)`` that passes calls on to ``report`` at most once per
    ``interval`` seconds, the first and the last (read == to_read) always: a cold check at
    100,000 runs reports 50 batches, and each report a screen shows is a message and a
    repaint on the UI thread."""

    def __init__(self, report: Progress, interval: float = 0.3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.report = report
        self.interval = interval
        self.clock = clock
        self._last: float | None = None

    def __call__(self, read: int, to_read: int) -> None:
        now = self.clock()
        due = self._last is None or now - self._last >= self.interval
        if due or read >= to_read:
            self._last = now
            self.report(read, to_read)


def update_index(store: RunStore, full: bool, names: NamesSync | None = None,
                 progress: Progress | None = None) -> float | None:
    """Bring the runs index in line with the folders: ``full``, every summary (in a child
    process, so it does not hold this process's GIL; returns the seconds it took;
    ``progress(read, to_read)`` as it reads summaries, core/runcheck.py), else the new and
    gone folders and the running runs (through ``names``' long-lived child when given,
    core/namesync.py; returns None)."""
    if not full:
        if names is not None:
            names.update()
        else:
            store.index.update(full=False)
        return None
    started = time.monotonic()
    check_every_run(store, names.update if names is not None else None, progress)
    return time.monotonic() - started


@dataclass
class Listing:
    """A look at a big runs dir: the window of rows (None when not asked for), the newest
    summaries of the runs asked about, and the runs running now."""

    window: Window | None
    summaries: list[RunSummary]
    running: list[str]


def read_listing(store: RunStore, request: WindowRequest | None,
                 run_ids: list[str]) -> Listing:
    """From the index: ``request``'s window, ``run_ids``' summaries (the runs that were
    running at the last look; gone folders left out) and the ids of the running runs."""
    summaries = [store.read_summary(run_id) for run_id in run_ids
                 if store.run_dir(run_id).is_dir()]
    running = store.index.dirnames_where("running = 1 AND t_status = 'running'", [])
    window = fetch_window(store.index, request) if request is not None else None
    return Listing(window, summaries, running)
