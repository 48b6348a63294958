"""One filter and sort syntax for runs: the runs screen's filter box and `densexp runs`.

A filter is words separated by spaces; a run must match all of them:

- ``tiny``: a plain word appears in the run's id, name, status, dataset, model, mode, sweep
  or group (case-insensitive), as the runs screen always allowed;
- ``status:completed`` / ``model:tiny-bert``: the field contains the value; commas give
  alternatives (``status:failed,diverged``). Fields: FILTER_FIELDS;
- ``acc>0.8``, ``f1>=0.7``, ``test.f1<0.5``, ``epochs=3``: numeric comparisons
  (``> >= < <= =``) on NUMERIC_FIELDS; a run without the value does not match;
- a leading ``-`` negates any word: ``-status:failed``, ``-mlp``.

Sort keys (SORT_KEYS; ``--sort KEY`` or the word ``sort:KEY``) order best first (newest,
highest accuracy, lowest loss, shortest, A to Z); ``KEY:asc`` or ``KEY:desc`` says which
way. Runs without the value go last.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from densexp_tui.core.errors import BadInput

if TYPE_CHECKING:
    from densexp_tui.core.runstore import RunSummary

TEXT_FIELDS: dict[str, Callable[[RunSummary], str]] = {
    "id": lambda r: r.run_id,
    "name": lambda r: r.name,
    "status": lambda r: r.status,
    "dataset": lambda r: r.dataset,
    "model": lambda r: r.model,
    "mode": lambda r: r.finetune,
    "finetune": lambda r: r.finetune,
    "sweep": lambda r: r.sweep,
    "group": lambda r: r.group,
    "parent": lambda r: r.parent,
    "host": lambda r: r.host,
}


def _metric(split: str, key: str) -> Callable[[RunSummary], float | None]:
    def value(run: RunSummary) -> float | None:
        return _number((run.best if split == "best" else run.test).get(key))

    return value


NUMERIC_FIELDS: dict[str, Callable[[RunSummary], float | None]] = {
    "acc": _metric("best", "accuracy"),
    "f1": _metric("best", "f1"),
    "loss": _metric("best", "loss"),
    "test.acc": _metric("test", "accuracy"),
    "test.f1": _metric("test", "f1"),
    "test.loss": _metric("test", "loss"),
    "epochs": lambda r: float(r.epochs_done),
    "duration": lambda r: _number(r.duration),
    "started": lambda r: _number(r.started),
    "trial": lambda r: float(r.trial),
}
FILTER_FIELDS = tuple(TEXT_FIELDS)
# Best first: for these, smaller is better (or comes first); for the others, bigger.
ASCENDING_BY_DEFAULT = frozenset({"loss", "test.loss", "duration", "name", "status",
                                  "dataset", "model", "mode", "group", "sweep", "id"})
SORT_KEYS = ("started", "name", "status", "dataset", "model", "mode", "group", "sweep",
             "acc", "f1", "loss", "test.acc", "test.f1", "test.loss", "epochs", "duration")
_COMPARISON = re.compile(r"^([a-z0-9_.]+)(>=|<=|>|<|=)(.*)$")


class FilterError(BadInput):
    """A filter or sort key that cannot be understood."""


@dataclass(frozen=True)
class SortSpec:
    """A sort key and its direction (the default: newest first)."""

    key: str = "started"
    descending: bool = True


@dataclass(frozen=True)
class Condition:
    """One word of a filter."""

    kind: str  # "word" | "text" | "number"
    field: str = ""
    values: tuple[str, ...] = ()
    op: str = ""
    number: float = 0.0
    negated: bool = False

    def matches(self, run: RunSummary) -> bool:
        return self._test(run) != self.negated

    def _test(self, run: RunSummary) -> bool:
        if self.kind == "word":
            return self.values[0] in haystack(run)
        if self.kind == "text":
            text = TEXT_FIELDS[self.field](run).lower()
            return any(value in text for value in self.values)
        value = NUMERIC_FIELDS[self.field](run)
        return value is not None and _compare(value, self.op, self.number)


@dataclass(frozen=True)
class RunFilter:
    """A parsed filter; the empty filter matches every run. ``sort`` comes from a
    ``sort:KEY`` word (None: the caller's order); ``problems`` lists words a lenient parse
    skipped (the runs screen while the user is still typing)."""

    conditions: tuple[Condition, ...] = ()
    text: str = ""
    sort: SortSpec | None = None
    problems: tuple[str, ...] = ()

    def matches(self, run: RunSummary) -> bool:
        return all(condition.matches(run) for condition in self.conditions)

    def apply(self, runs: Iterable[RunSummary]) -> list[RunSummary]:
        if not self.conditions:
            return list(runs)
        return [run for run in runs if self.matches(run)]

    @property
    def empty(self) -> bool:
        return not self.conditions


def parse_filter(text: str, *, lenient: bool = False) -> RunFilter:
    """The filter ``text`` means. A word that cannot be understood raises FilterError
    (naming it and what works), or with ``lenient`` is skipped and listed in ``problems``."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()  # an unclosed quote while typing: take the words as they are
    conditions: list[Condition] = []
    problems: list[str] = []
    sort: SortSpec | None = None
    for word in words:
        try:
            if word.lower().startswith("sort:"):
                sort = parse_sort(word[5:]) if word[5:] else sort
                continue
            condition = _condition(word)
        except FilterError as err:
            if not lenient:
                raise
            problems.append(str(err))
            continue
        if condition is not None:
            conditions.append(condition)
    return RunFilter(tuple(conditions), text, sort, tuple(problems))


def _condition(word: str) -> Condition | None:
    negated = word.startswith("-") and len(word) > 1
    body = word[1:] if negated else word
    comparison = _COMPARISON.match(body.lower())
    if comparison and comparison.group(1) in NUMERIC_FIELDS:
        return _numeric(comparison.group(1), comparison.group(2), comparison.group(3), negated)
    field, sep, value = body.partition(":")
    if sep and field.lower() in TEXT_FIELDS:
        values = tuple(v for v in value.lower().split(",") if v)
        if not values:
            return None  # "status:" while typing: nothing to narrow yet
        return Condition("text", field.lower(), values, negated=negated)
    if sep and field and not value.startswith("//"):
        raise FilterError(f"unknown filter field {field!r} in {word!r}; allowed: "
                          f"{', '.join(FILTER_FIELDS)} (field:value) or "
                          f"{', '.join(NUMERIC_FIELDS)} with > >= < <= =")
    if comparison:
        raise FilterError(f"cannot compare {comparison.group(1)!r} in {word!r}; numbers: "
                          f"{', '.join(NUMERIC_FIELDS)}")
    return Condition("word", values=(body.lower(),), negated=negated) if body else None


def _numeric(field: str, op: str, raw: str, negated: bool) -> Condition:
    try:
        number = float(raw)
    except ValueError:
        raise FilterError(f"{field}{op}{raw!r}: {raw!r} is not a number; e.g. "
                          f"{field}{op}0.8") from None
    return Condition("number", field, op=op, number=number, negated=negated)


def haystack(run: RunSummary) -> str:
    """The text a plain filter word is looked for in."""
    fields = (run.run_id, run.name, run.status, run.dataset, run.model, run.finetune,
              run.sweep, run.group)
    return " ".join(fields).lower()


def _compare(value: float, op: str, number: float) -> bool:
    if op == ">":
        return value > number
    if op == ">=":
        return value >= number
    if op == "<":
        return value < number
    if op == "<=":
        return value <= number
    return math.isclose(value, number, rel_tol=1e-9, abs_tol=1e-12)


# ---------------------------------------------------------------------------------------------
# Sorting.


def parse_sort(text: str) -> SortSpec:
    """``f1`` (best first), ``f1:asc``, ``name:desc`` ..."""
    key, _, direction = text.strip().lower().partition(":")
    if key not in SORT_KEYS:
        raise FilterError(f"unknown sort key {key!r}; allowed: {', '.join(SORT_KEYS)} "
                          "(add :asc or :desc to choose the direction)")
    if direction not in ("", "asc", "desc"):
        raise FilterError(f"sort direction {direction!r} in {text!r}; allowed: asc, desc")
    descending = key not in ASCENDING_BY_DEFAULT if not direction else direction == "desc"
    return SortSpec(key, descending)


def sort_runs(runs: Sequence[RunSummary], spec: SortSpec) -> list[RunSummary]:
    """Runs in ``spec`` order; those without a value last, ties newest first."""
    if spec.key == "started":  # run ids start with their time: the id order is the age order
        return sorted(runs, key=lambda r: r.run_id, reverse=spec.descending)
    newest_first = sorted(runs, key=lambda r: r.run_id, reverse=True)
    value = _sort_value(spec.key)
    present = [(value(r), r) for r in newest_first]
    have = [(v, r) for v, r in present if v is not None]
    missing = [r for v, r in present if v is None]
    have.sort(key=lambda pair: pair[0], reverse=spec.descending)
    return [r for _, r in have] + missing


def _sort_value(key: str) -> Callable[[RunSummary], float | str | None]:
    if key in NUMERIC_FIELDS:
        return NUMERIC_FIELDS[key]
    text = TEXT_FIELDS[key]
    return lambda run: text(run).lower() or None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)
