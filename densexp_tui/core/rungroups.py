"""Seed groups: runs that differ only in their seed (``run.group``), seen as one.

``aggregate_groups`` turns runs into one ``GroupSummary`` per group: how many runs (seeds),
their statuses, and mean ± sample standard deviation of each metric over the members that
have it. ``fold_groups`` is the runs list with every group folded into one row, placed where
its newest member was, so the runs screen and ``densexp runs --groups`` show the same thing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from densexp_tui.core.runstore import RunSummary

# (metric id, summary dict, key): what a group row aggregates.
GROUP_METRICS: tuple[tuple[str, str, str], ...] = (
    ("best.accuracy", "best", "accuracy"),
    ("best.f1", "best", "f1"),
    ("best.loss", "best", "loss"),
    ("test.accuracy", "test", "accuracy"),
    ("test.f1", "test", "f1"),
)


@dataclass(frozen=True)
class MetricStats:
    """Mean and sample standard deviation (None with fewer than two values) of n values."""

    mean: float
    std: float | None
    n: int

    def format(self, digits: int = 3) -> str:
        if self.std is None:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f}±{self.std:.{digits}f}"


@dataclass
class GroupSummary:
    """One seed group: its members (newest first) and their aggregated metrics."""

    group: str
    run_ids: list[str]
    statuses: dict[str, int]
    metrics: dict[str, MetricStats] = field(default_factory=dict)
    name: str = ""
    dataset: str = ""
    model: str = ""
    finetune: str = ""
    started: float = 0.0  # the first member's start
    duration: float | None = None  # mean duration of the members that have one

    @property
    def size(self) -> int:
        return len(self.run_ids)

    @property
    def status(self) -> str:
        """running while any member runs; completed when all did; else the first other."""
        if self.statuses.get("running"):
            return "running"
        others = [s for s in self.statuses if s != "completed"]
        return others[0] if others else "completed"

    def to_dict(self) -> dict[str, object]:
        return {"group": self.group, "runs": self.run_ids, "n": self.size,
                "statuses": self.statuses, "status": self.status, "name": self.name,
                "dataset": self.dataset, "model": self.model, "finetune": self.finetune,
                "started": self.started, "duration": self.duration,
                "metrics": {k: {"mean": m.mean, "std": m.std, "n": m.n}
                            for k, m in self.metrics.items()}}


def metric_stats(values: Iterable[float | None]) -> MetricStats | None:
    """Mean ± sample std of the finite numbers among ``values`` (None when there are none)."""
    numbers = [float(v) for v in values
               if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if not numbers:
        return None
    std = statistics.stdev(numbers) if len(numbers) > 1 else None
    return MetricStats(statistics.fmean(numbers), std, len(numbers))


def summarize_group(group: str, members: Sequence[RunSummary]) -> GroupSummary:
    """``members`` newest first."""
    statuses: dict[str, int] = {}
    for run in members:
        statuses[run.status] = statuses.get(run.status, 0) + 1
    metrics = {}
    for metric, split, key in GROUP_METRICS:
        stats = metric_stats((r.best if split == "best" else r.test).get(key) for r in members)
        if stats is not None:
            metrics[metric] = stats
    duration = metric_stats(r.duration for r in members)
    newest = members[0]
    return GroupSummary(
        group=group, run_ids=[r.run_id for r in members], statuses=statuses, metrics=metrics,
        name=newest.name, dataset=newest.dataset, model=newest.model,
        finetune=newest.finetune, started=min(r.started for r in members),
        duration=duration.mean if duration else None)


def aggregate_groups(runs: Iterable[RunSummary]) -> dict[str, GroupSummary]:
    """One summary per group name (runs without a group are left out)."""
    members: dict[str, list[RunSummary]] = {}
    for run in runs:
        if run.group:
            members.setdefault(run.group, []).append(run)
    return {name: summarize_group(name, _newest_first(group))
            for name, group in members.items()}


def fold_groups(runs: Sequence[RunSummary]) -> list[RunSummary | GroupSummary]:
    """``runs`` in their order, each group replaced by one row where its first member was."""
    groups = aggregate_groups(runs)
    rows: list[RunSummary | GroupSummary] = []
    placed: set[str] = set()
    for run in runs:
        if not run.group:
            rows.append(run)
        elif run.group not in placed:
            placed.add(run.group)
            rows.append(groups[run.group])
    return rows


def _newest_first(runs: list[RunSummary]) -> list[RunSummary]:
    return sorted(runs, key=lambda r: r.run_id, reverse=True)
