"""The names-only index update in a long-lived child (core/namesync.py): what the runs
screen lists stays exactly the folders, the work happens in the child, and a child that is
gone or a read-only runs dir falls back to the update in this process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from densexp_tui.core import runindex
from densexp_tui.core.namesync import NamesSync
from densexp_tui.core.runlisting import update_index
from densexp_tui.core.runstore import RunStore
from tests.runs_factory import count_index_updates, generate_runs

pytestmark = pytest.mark.timeout(60)


def indexed_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 count: int) -> tuple[Path, list[str], RunStore]:
    """``count`` runs in tmp_path/runs, fully indexed; the runs dir's mtime never trusted,
    so every update lists the folder (what a writer adding runs each tick causes)."""
    monkeypatch.setattr(runindex, "MTIME_TRUST_SECONDS", 0.0)
    root = tmp_path / "runs"
    ids = generate_runs(root, count)
    store = RunStore(root)
    store.index.update(full=True)
    return root, ids, store


def listed(store: RunStore) -> list[str]:
    return [run.run_id for run in store.newest_runs(100)[0]]


def test_new_and_gone_folders_are_synced_by_the_child_not_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, ids, store = indexed_runs(tmp_path, monkeypatch, 6)
    calls = count_index_updates(store, monkeypatch)
    names = NamesSync(store)
    try:
        other = generate_runs(tmp_path / "elsewhere", 2, start_index=500)
        for run_id in other:
            shutil.copytree(tmp_path / "elsewhere" / run_id, root / run_id)
        shutil.rmtree(root / ids[0])
        assert update_index(store, False, names) is None
        assert listed(store) == sorted([*ids[1:], *other], reverse=True)
        shutil.rmtree(root / other[0])  # the same child again: it keeps answering
        names.update()
        assert listed(store) == sorted([*ids[1:], other[1]], reverse=True)
        assert calls == []  # every listing and comparison happened in the child
    finally:
        names.close()
    assert names._child is None


def test_a_child_that_died_is_replaced_by_the_update_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, ids, store = indexed_runs(tmp_path, monkeypatch, 3)
    names = NamesSync(store)
    names.update()
    assert names._child is not None
    names._child.kill()
    names._child.wait()
    calls = count_index_updates(store, monkeypatch)
    shutil.rmtree(root / ids[1])
    names.update()
    assert calls == [False]
    assert listed(store) == sorted([ids[0], ids[2]], reverse=True)
    names.close()


def test_a_read_only_runs_dir_is_synced_in_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "runs"
    ids = generate_runs(root, 3)
    store = RunStore(root)
    calls = count_index_updates(store, monkeypatch)
    monkeypatch.setattr("densexp_tui.core.namesync.os.access", lambda *_args: False)
    names = NamesSync(store)
    names.update()
    assert calls == [False] and names._child is None
    assert listed(store) == sorted(ids, reverse=True)


def test_the_full_check_hands_the_names_after_it_to_the_same_child(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runindex, "MTIME_TRUST_SECONDS", 0.0)
    root = tmp_path / "runs"
    ids = generate_runs(root, 4)
    store = RunStore(root)
    calls = count_index_updates(store, monkeypatch)
    names = NamesSync(store)
    try:
        assert update_index(store, True, names) is not None
        assert calls == []  # the full check ran in its child, the names sync in names'
        assert names._child is not None
        assert listed(store) == sorted(ids, reverse=True)
    finally:
        names.close()
