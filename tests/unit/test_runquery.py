"""The one filter/sort syntax of the runs screen and `densexp runs`, and seed groups."""

from __future__ import annotations

import math

import pytest

from densexp_tui.core.rungroups import aggregate_groups, fold_groups, metric_stats
from densexp_tui.core.runquery import (
    FilterError,
    SortSpec,
    parse_filter,
    parse_sort,
    sort_runs,
)
from densexp_tui.core.runstore import RunSummary

pytestmark = pytest.mark.timeout(30)


def run(run_id: str, **fields: object) -> RunSummary:
    return RunSummary.from_dict({"run_id": run_id, "name": run_id.split("-")[2], **fields})


RUNS = [
    run("20250103-000000-c-000003", status="failed", model="mlp", dataset="iris",
        best={"accuracy": 0.5, "f1": 0.4, "loss": 1.0}, duration=10.0),
    run("20250102-000000-b-000002", status="completed", model="tiny-bert", dataset="reviews",
        best={"accuracy": 0.9, "f1": 0.88, "loss": 0.3}, duration=50.0, finetune="lora"),
    run("20250101-000000-a-000001", status="completed", model="mlp", dataset="wine",
        best={"accuracy": 0.7, "f1": 0.69, "loss": 0.6}, duration=None),
]


def names(runs: list[RunSummary]) -> list[str]:
    return [r.name for r in runs]


def test_plain_words_fields_and_numbers_narrow_together() -> None:
    assert names(parse_filter("mlp").apply(RUNS)) == ["c", "a"]
    assert names(parse_filter("status:completed model:tiny-bert").apply(RUNS)) == ["b"]
    assert names(parse_filter("status:failed,completed acc>0.6").apply(RUNS)) == ["b", "a"]
    assert names(parse_filter("acc>=0.7 -mode:lora").apply(RUNS)) == ["a"]
    assert names(parse_filter("f1<0.5").apply(RUNS)) == ["c"]
    assert names(parse_filter("-status:completed").apply(RUNS)) == ["c"]
    assert names(parse_filter("").apply(RUNS)) == ["c", "b", "a"]


def test_a_run_without_the_value_never_matches_a_comparison() -> None:
    assert names(parse_filter("duration<100").apply(RUNS)) == ["c", "b"]


def test_half_typed_words_narrow_nothing_and_bad_words_are_named() -> None:
    assert names(parse_filter("status:").apply(RUNS)) == ["c", "b", "a"]
    with pytest.raises(FilterError, match="unknown filter field 'colour'"):
        parse_filter("colour:red")
    with pytest.raises(FilterError, match="not a number"):
        parse_filter("acc>high")
    lenient = parse_filter("acc> mlp", lenient=True)
    assert lenient.problems and names(lenient.apply(RUNS)) == ["c", "a"]


def test_sort_best_first_by_default_missing_values_last() -> None:
    assert names(sort_runs(RUNS, parse_sort("acc"))) == ["b", "a", "c"]
    assert names(sort_runs(RUNS, parse_sort("loss"))) == ["b", "a", "c"]
    assert names(sort_runs(RUNS, parse_sort("acc:asc"))) == ["c", "a", "b"]
    assert names(sort_runs(RUNS, parse_sort("duration"))) == ["c", "b", "a"]
    assert names(sort_runs(RUNS, parse_sort("started"))) == ["c", "b", "a"]
    assert names(sort_runs(RUNS, parse_sort("name"))) == ["a", "b", "c"]
    assert parse_filter("mlp sort:f1").sort == SortSpec("f1", True)
    with pytest.raises(FilterError, match="unknown sort key"):
        parse_sort("colour")


def test_groups_give_mean_and_sample_std_over_their_seeds() -> None:
    members = [run(f"2025010{i}-000000-s-00000{i}", group="g", status="completed",
                   best={"accuracy": acc}) for i, acc in ((1, 0.6), (2, 0.7), (3, 0.8))]
    loner = run("20250104-000000-x-000004", status="completed", best={"accuracy": 0.1})
    groups = aggregate_groups([*members, loner])
    assert list(groups) == ["g"]
    stats = groups["g"].metrics["best.accuracy"]
    assert stats.n == 3 and math.isclose(stats.mean, 0.7)
    assert math.isclose(stats.std or 0, 0.1)  # sample std (n - 1)
    assert groups["g"].run_ids[0].startswith("20250103") and groups["g"].size == 3
    rows = fold_groups([loner, *reversed(members)])
    assert [getattr(r, "group", "") or r.run_id for r in rows] == [loner.run_id, "g"]
    assert groups["g"].status == "completed"


def test_metric_stats_skip_missing_and_non_finite_values() -> None:
    assert metric_stats([None, float("nan")]) is None
    single = metric_stats([0.5, None, float("inf")])
    assert single is not None and single.std is None and single.format() == "0.500"
