"""Compare two runs or two seed groups: the service `densexp compare` and the compare screen
share. Names are resolved here (a group is a ``run.group`` value), predictions loaded and
checked, and the test from core/significance.py chosen: paired for two runs, seeds as
samples for two groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from densexp_tui.core.errors import BadInput
from densexp_tui.core.predictions import PREDICTIONS_FILE, Predictions, read_predictions
from densexp_tui.core.runstore import RunStore, RunSummary
from densexp_tui.core.significance import (
    Comparison,
    align_labels,
    group_comparison,
    metric_name,
    metric_value,
    paired_comparison,
)

FINISHED_FOR_STATS = ("completed",)


@dataclass
class Side:
    """One side of a comparison: a run, or the finished runs of a group."""

    ref: str
    kind: str  # "run" | "group"
    runs: list[RunSummary] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.kind == "run":
            return self.runs[0].run_id
        return f"group {self.ref} ({len(self.runs)} seeds)"


@dataclass
class CompareReport:
    a: Side
    b: Side
    comparison: Comparison

    def to_json(self) -> dict[str, Any]:
        return {**self.comparison.to_json(), "a_ref": self.a.label, "b_ref": self.b.label}


def compare(store: RunStore, ref_a: str, ref_b: str, metric: str = "test.f1") -> CompareReport:
    """B against A; BadInput (one line) for anything that makes the test impossible."""
    name = metric_name(metric)
    a, b = resolve_side(store, ref_a), resolve_side(store, ref_b)
    if a.kind != b.kind:
        raise BadInput(f"{ref_a} is a {a.kind} and {ref_b} a {b.kind}; allowed: two runs "
                       "(paired test) or two groups (seeds as samples)")
    refuse_the_same_side(a, b)
    if a.kind == "run":
        result = paired_comparison(load_run_predictions(store, a.runs[0]),
                                   load_run_predictions(store, b.runs[0]), name)
    else:
        values_a, labels_a = group_values(store, a, name)
        values_b, labels_b = group_values(store, b, name)
        if labels_a and labels_b and set(labels_a) != set(labels_b):
            raise BadInput(f"the groups have different label sets ({', '.join(labels_a)} vs "
                           f"{', '.join(labels_b)}); allowed: groups of the same labels")
        result = group_comparison(values_a, values_b, name)
    return CompareReport(a, b, result)


def refuse_the_same_side(a: Side, b: Side) -> None:
    """A run (or group) against itself has no difference to test: a verdict on it ("no
    difference, p = 1") would read as a finding. The refs may differ (a name and an id)."""
    same = a.ref == b.ref if a.kind == "group" else a.runs[0].run_id == b.runs[0].run_id
    if not same:
        return
    given = f"{a.ref} twice" if a.ref == b.ref else f"as {a.ref} and {b.ref}"
    what = f"run {a.runs[0].run_id}" if a.kind == "run" else f"group {a.ref}"
    raise BadInput(f"A and B are the same {what} (given {given}); allowed: two different "
                   f"{a.kind}s")


def resolve_side(store: RunStore, ref: str) -> Side:
    """A group when ``ref`` is some runs' ``run.group``, else a run (id, prefix or name)."""
    members = store.runs_with("group", ref)
    if members:
        finished = [run for run in members if run.status in FINISHED_FOR_STATS]
        return Side(ref, "group", sorted(finished, key=lambda run: run.run_id))
    return Side(ref, "run", [store.get(ref)])


def load_run_predictions(store: RunStore, run: RunSummary) -> Predictions:
    return load_predictions_of(store, run.run_id)


def load_predictions_of(store: RunStore, run_id: str) -> Predictions:
    """The test predictions of the run in folder ``run_id`` (an id, nothing to resolve:
    the compare screen's runs; resolving each side as a group or name first re-checked the
    runs index's folder names, ~0.3 s a side at 100,000 runs)."""
    path = store.run_dir(run_id) / PREDICTIONS_FILE
    if not path.is_file():
        raise BadInput(f"run {run_id} has no test predictions ({PREDICTIONS_FILE}); "
                       f"make them with `densexp evaluate {run_id}`", file=store.root)
    return read_predictions(path)


def group_values(store: RunStore, side: Side,
                 name: str) -> tuple[list[float], tuple[str, ...]]:
    """``name`` of each finished seed, from its predictions (the same numbers the test event
    holds); all members must share one label set."""
    values: list[float] = []
    first: Predictions | None = None
    for run in side.runs:
        preds = load_run_predictions(store, run)
        first = first or preds
        align_labels(first, preds)  # BadInput when a seed has other labels
        value = metric_value(preds, name)
        if value is not None:
            values.append(value)
    return values, first.label_names if first else ()
