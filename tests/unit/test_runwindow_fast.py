"""The runs screen's window of rows past SYNC_LIMIT (core/runwindow.py ``fetch_window``, the
index's two-step window query over its ``runs_filter`` index) shows exactly the rows, order
and count a brute-force Python filter and sort over the run folders' summaries give, and an
index file of the schema before that index is rebuilt harmlessly."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from densexp_tui.core import runindex
from densexp_tui.core.runindex import INDEX_NAME, SCHEMA_VERSION
from densexp_tui.core.runquery import SORT_KEYS, SortSpec, parse_filter, parse_sort, sort_runs
from densexp_tui.core.runstore import RunStore, RunSummary, read_summary_file
from densexp_tui.core.runwindow import Window, WindowRequest, fetch_window
from tests.runs_factory import generate_runs

pytestmark = pytest.mark.timeout(180)

# Typed filters as on the runs screen: a word of a name, fields, numbers, a mix, nothing.
FILTERS = ("mlp-wine-1", "tiny-bert-iris-9", "status:completed", "model:tiny-bert",
           "status:completed model:tiny-bert", "status:failed mlp-iris-5", "lora wine",
           "acc>0.8 -status:failed", "no-such-run", "", "sort:acc mlp", "grp-1")
ROWS = 110  # about what the screen asks for (its height + WINDOW_ROWS)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> RunStore:
    root = tmp_path_factory.mktemp("window") / "runs"
    ids = generate_runs(root, 3000, groups_every=4)
    for run_id in ids[::23]:  # runs without some values: they sort last
        path = root / run_id / "summary.json"
        summary = json.loads(path.read_text())
        summary["best"], summary["duration"], summary["dataset"] = {}, None, ""
        path.write_text(json.dumps(summary))
    store = RunStore(root)
    store.index.update(full=True)
    return store


@functools.cache  # each root's runs are read once (the files do not change after setup)
def from_files(root: Path) -> list[RunSummary]:
    names = sorted((p.name for p in root.iterdir() if not p.name.startswith(".")),
                   reverse=True)
    return [summary for name in names if (summary := read_summary_file(root / name))]


def run_ids(window: Window) -> list[str]:
    assert all(isinstance(row, RunSummary) for row in window.rows)  # no folding here
    return [row.run_id for row in window.rows if isinstance(row, RunSummary)]


def brute_force(root: Path, text: str, sort: SortSpec) -> list[str]:
    query = parse_filter(text, lenient=True)
    return [r.run_id for r in sort_runs(query.apply(from_files(root)), query.sort or sort)]


@pytest.mark.parametrize("text", FILTERS)
@pytest.mark.parametrize("sort_word", ["started", "acc", "name:asc", "loss", "duration:desc",
                                       "dataset"])
def test_the_window_is_the_brute_force_answer(store: RunStore, text: str,
                                              sort_word: str) -> None:
    sort = parse_sort(sort_word)
    expected = brute_force(store.root, text, sort)
    window = fetch_window(store.index, WindowRequest(text, False, sort, ROWS))
    assert run_ids(window) == expected[:ROWS]
    assert window.matched == len(expected)
    assert window.total == 3000
    assert [r.to_dict() for r in window.rows if isinstance(r, RunSummary)][:3] == [
        read_summary_file(store.root / run_id).to_dict()  # type: ignore[union-attr]
        for run_id in expected[:3]]


@pytest.mark.parametrize("key", SORT_KEYS)
def test_windows_further_down_are_the_slices(store: RunStore, key: str) -> None:
    spec = parse_sort(key)
    run_filter = parse_filter("-status:cancelled")
    expected = brute_force(store.root, "-status:cancelled", spec)
    for offset in (0, 37, 1200, len(expected) - 5):
        got = store.index.query(run_filter, spec, 700, offset)
        assert [r.run_id for r in got] == expected[offset:offset + 700]


def test_an_index_of_the_schema_before_is_rebuilt_from_the_folders(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    generate_runs(root, 600)
    RunStore(root).index.count()  # opening makes the index's folder: the dir's mtime moves
    hour_ago = time.time() - 3600  # a runs dir this old is trusted to say "no run came"
    os.utime(root, (hour_ago, hour_ago))
    RunStore(root).index.update(full=True)
    # What the previous schema left: no filter index, version 3, and the names recorded as
    # current (the runs dir unchanged since), which must not be trusted for emptied rows.
    with sqlite3.connect(root / INDEX_NAME) as conn:
        conn.execute("DROP INDEX runs_filter")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
        assert conn.execute("SELECT value FROM meta WHERE key = 'root_mtime_ns'"
                            ).fetchone() == (str(os.stat(root).st_mtime_ns),)
    conn.close()
    store = RunStore(root)
    newest, total = store.index.newest(5)
    assert [r.run_id for r in newest] == brute_force(root, "", SortSpec())[:5]
    assert total == 600
    store.index.update(full=False)
    window = fetch_window(store.index, WindowRequest("model:mlp", False, parse_sort("f1"), 50))
    expected = brute_force(root, "model:mlp", parse_sort("f1"))
    assert run_ids(window) == expected[:50]
    assert window.matched == len(expected)
    with sqlite3.connect(root / INDEX_NAME) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (
            SCHEMA_VERSION,)
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'runs_filter'"
                            ).fetchone() == (1,)
    conn.close()


def test_a_read_only_runs_dirs_in_memory_index_gives_the_same_windows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "runs"
    generate_runs(root, 400)
    monkeypatch.setattr(runindex, "root_is_writable", lambda _root: False)
    store = RunStore(root)
    store.index.update(full=True)
    for text, sort in (("mlp", SortSpec()), ("status:completed", parse_sort("acc"))):
        window = fetch_window(store.index, WindowRequest(text, False, sort, 30))
        expected = brute_force(root, text, sort)
        assert (run_ids(window), window.matched) == (expected[:30], len(expected))
    assert not (root / INDEX_NAME).exists()
