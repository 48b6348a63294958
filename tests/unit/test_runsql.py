"""The runs filter and sort answered in SQL (core/runsql.py over the index's columns) keep
and order exactly the runs the Python filter and sort_runs do, on generated runs."""

from __future__ import annotations

import json

import pytest

from densexp_tui.core.runquery import SORT_KEYS, SortSpec, parse_filter, parse_sort, sort_runs
from densexp_tui.core.runstore import RunStore, RunSummary, read_summary_file
from tests.runs_factory import generate_runs

pytestmark = pytest.mark.timeout(120)

FILTERS = (
    "", "tiny", "-tiny", "status:completed", "status:failed,diverged", "-status:completed",
    "model:mlp dataset:iris", "acc>0.8", "acc>=0.9 f1<0.95", "-acc>0.7", "test.acc<0.6",
    "epochs=3", "epochs=2", "duration<=30", "grp-", "group:grp-1", "mode:lora acc>0.6",
    "name:wine-1", "id:2025030", "host:generator", "trial=-1", "sweep:x", "reviews -lora",
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> RunStore:
    root = tmp_path_factory.mktemp("sql") / "runs"
    ids = generate_runs(root, 300, groups_every=3)
    for run_id in ids[::17]:  # some runs without values: they must sort last
        path = root / run_id / "summary.json"
        summary = json.loads(path.read_text())
        summary["best"] = {}
        summary["duration"] = None
        summary["dataset"] = ""
        path.write_text(json.dumps(summary))
    store = RunStore(root)
    store.index.update(full=True)
    return store


def from_files(store: RunStore) -> list[RunSummary]:
    """The runs read straight from their files, newest first (no index involved)."""
    names = sorted((p.name for p in store.root.iterdir() if not p.name.startswith(".")),
                   reverse=True)
    return [summary for name in names if (summary := read_summary_file(store.root / name))]


@pytest.mark.parametrize("text", FILTERS)
def test_sql_filter_keeps_what_the_python_filter_keeps(store: RunStore, text: str) -> None:
    run_filter = parse_filter(text)
    expected = [r.run_id for r in run_filter.apply(from_files(store))]
    got = [r.run_id for r in store.index.query(run_filter, SortSpec())]
    assert got == expected
    assert store.index.count(run_filter) == len(expected)


@pytest.mark.parametrize("key", SORT_KEYS)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_sql_order_is_sort_runs_order(store: RunStore, key: str, direction: str) -> None:
    spec = parse_sort(f"{key}:{direction}")
    expected = [r.run_id for r in sort_runs(from_files(store), spec)]
    got = [r.run_id for r in store.index.query(parse_filter(""), spec)]
    assert got == expected


def test_a_window_of_a_filtered_order_is_that_slice(store: RunStore) -> None:
    run_filter, spec = parse_filter("status:completed"), parse_sort("acc")
    every = [r.run_id for r in store.index.query(run_filter, spec)]
    assert [r.run_id for r in store.index.query(run_filter, spec, 10, 5)] == every[5:15]
    texts = list(store.index.iter_json(run_filter, spec))
    assert [json.loads(t)["run_id"] for t in texts] == every


def test_streamed_json_is_each_runs_summary(store: RunStore) -> None:
    first = next(store.index.iter_json(parse_filter(""), SortSpec()))
    run = store.index.query(parse_filter(""), SortSpec(), 1)[0]
    assert json.loads(first) == run.to_dict()
