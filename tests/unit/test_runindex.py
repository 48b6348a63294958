"""The runs index is only a cache: the run folders always win.

Deleted and copied-in runs, a summary rewritten by a running trainer, four processes
creating runs at once, a cache file truncated or deleted, and a read-only runs dir.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from densexp_tui.core import indexbuild, runindex
from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.runindex import INDEX_NAME
from densexp_tui.core.runstore import RunStore
from tests.runs_factory import count_index_updates, generate_runs

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]


def listed(root: Path) -> list[str]:
    """What a fresh process (a new store, the cache from disk) lists."""
    return [r.run_id for r in RunStore(root).list_runs()]


def test_listing_matches_the_folders_and_uses_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = generate_runs(tmp_path, 30)
    assert listed(tmp_path) == sorted(ids, reverse=True)
    assert (tmp_path / INDEX_NAME).stat().st_size > 0
    reads: list[str] = []
    real = indexbuild.read_summary_json
    def counted(path: str) -> tuple[indexbuild.StatKey, indexbuild.Record | None] | None:
        reads.append(path)
        return real(path)
    monkeypatch.setattr(indexbuild, "read_summary_json", counted)
    assert listed(tmp_path) == sorted(ids, reverse=True)
    assert reads == []  # a new process answered from the cache: no summary was read
    summary = tmp_path / ids[5] / "summary.json"
    summary.write_text(summary.read_text().replace('"completed"', '"cancelled"'))
    assert listed(tmp_path) == sorted(ids, reverse=True)
    assert reads == [f"{tmp_path}/{ids[5]}/summary.json"]  # only the one that changed


def test_deleted_and_copied_in_runs_show_on_the_next_refresh(tmp_path: Path) -> None:
    ids = generate_runs(tmp_path / "runs", 10)
    store = RunStore(tmp_path / "runs")
    assert len(store.list_runs()) == 10
    shutil.rmtree(tmp_path / "runs" / ids[3])
    other = generate_runs(tmp_path / "elsewhere", 2, start_index=100)
    for run_id in other:
        shutil.copytree(tmp_path / "elsewhere" / run_id, tmp_path / "runs" / run_id)
    now = [r.run_id for r in store.list_runs()]
    assert ids[3] not in now and set(other) <= set(now) and len(now) == 11
    assert listed(tmp_path / "runs") == now


def test_a_summary_rewritten_by_a_running_trainer_is_read_again(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    handle = store.create_run(apply_overrides(RunConfig(), ["run.name=live"]))
    assert store.list_runs()[0].status == "running" and store.list_runs()[0].epochs_done == 0
    handle.update_summary(epochs_done=1, best={"accuracy": 0.5})
    assert store.list_runs()[0].epochs_done == 1
    handle.update_summary(status="completed", epochs_done=2, best={"accuracy": 0.75})
    fresh = store.list_runs()[0]
    assert (fresh.status, fresh.epochs_done, fresh.best["accuracy"]) == ("completed", 2, 0.75)
    assert RunStore(tmp_path).list_runs()[0].best["accuracy"] == 0.75


def test_metric_dicts_in_the_index_keep_scalars_only(tmp_path: Path) -> None:
    ids = generate_runs(tmp_path, 1)
    path = tmp_path / ids[0] / "summary.json"
    summary = json.loads(path.read_text())
    summary["test"]["confusion"] = [[1, 0], [0, 1]]
    path.write_text(json.dumps(summary))
    test = RunStore(tmp_path).list_runs()[0].test
    assert "confusion" not in test and "accuracy" in test
    assert "confusion" in RunStore(tmp_path).read_summary(ids[0]).test  # the file is whole


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete", "delete-while-open"])
def test_a_damaged_or_deleted_cache_is_rebuilt(tmp_path: Path, damage: str) -> None:
    ids = generate_runs(tmp_path, 20)
    store = RunStore(tmp_path)
    store.list_runs()
    index = tmp_path / INDEX_NAME
    if damage == "truncate":
        with open(index, "r+b") as handle:
            handle.truncate(100)
    elif damage == "garbage":
        index.write_bytes(b"not a database" * 100)
    else:
        for path in tmp_path.glob(INDEX_NAME + "*"):
            path.unlink()
    shutil.rmtree(tmp_path / ids[0])
    expected = sorted(ids[1:], reverse=True)
    if damage == "delete-while-open":
        assert [r.run_id for r in store.list_runs()] == expected
        assert index.exists()  # the open store noticed and wrote a new file
    assert listed(tmp_path) == expected
    assert listed(tmp_path) == expected


WRITER = textwrap.dedent("""
    import sys
    from densexp_tui.core.config import RunConfig, apply_overrides
    from densexp_tui.core.runstore import RunStore
    store = RunStore(sys.argv[1])
    for i in range(50):
        store.create_run(apply_overrides(RunConfig(), [f"run.name=w{sys.argv[2]}-{i}"]))
        if i % 5 == 0:
            store.list_runs()  # every writer also lists (and so writes the index)
""")


def test_four_processes_creating_runs_at_once_never_corrupt_the_list(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(n)], env=env)
             for n in range(4)]
    assert [p.wait(timeout=100) for p in procs] == [0, 0, 0, 0]
    folders = sorted((p.name for p in tmp_path.iterdir()
                      if p.is_dir() and not p.name.startswith(".")), reverse=True)
    assert len(folders) == 200
    assert listed(tmp_path) == folders
    names = {r.name for r in RunStore(tmp_path).list_runs()}
    assert names == {f"w{n}-{i}" for n in range(4) for i in range(50)}


def _read_only_root(tmp_path: Path) -> tuple[Path, list[list[str]]]:
    """A runs dir this process cannot write: a read-only tmpfs as root, chmod otherwise."""
    if os.geteuid() != 0:
        return tmp_path / "runs", []
    mount = tmp_path / "mnt"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
                            check=False, capture_output=True)
    if result.returncode != 0:
        pytest.skip("root without mount rights: no way to make a read-only runs dir here")
    return mount / "runs", [["mount", "-o", "remount,ro", str(mount)],
                            ["umount", str(mount)]]


def test_a_read_only_runs_dir_lists_and_nothing_is_written(tmp_path: Path) -> None:
    root, commands = _read_only_root(tmp_path)
    ids = generate_runs(root, 12)
    if commands:
        subprocess.run(commands[0], check=True)
    else:
        for path in [root, *root.iterdir()]:
            path.chmod(0o555)
    try:
        before = sorted(str(p) for p in root.rglob("*"))
        assert listed(root) == sorted(ids, reverse=True)
        assert RunStore(root).get(ids[4]).run_id == ids[4]
        assert sorted(str(p) for p in root.rglob("*")) == before
        assert not (root / INDEX_NAME).exists()
    finally:
        if commands:
            subprocess.run(commands[1], check=False)
        else:
            for path in [root, *root.iterdir()]:
                path.chmod(0o755)


def test_get_resolves_id_prefix_and_name_and_names_what_is_ambiguous(tmp_path: Path) -> None:
    ids = generate_runs(tmp_path, 5)
    store = RunStore(tmp_path)
    assert store.get(ids[2]).run_id == ids[2]
    assert store.get(ids[2][:-3]).run_id == ids[2]
    name = store.read_summary(ids[1]).name
    assert store.get(name).run_id == ids[1]
    with pytest.raises(Exception, match="matches several runs"):
        store.get("2025")
    with pytest.raises(Exception, match="no run matches"):
        store.get("nothing-like-it")


def test_a_names_only_update_skips_the_listing_until_a_run_comes_or_goes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runindex, "MTIME_TRUST_SECONDS", 0.0)
    ids = generate_runs(tmp_path / "runs", 10)
    root = tmp_path / "runs"
    RunStore(root).index.update(full=True)
    listings: list[str] = []
    real = os.listdir

    def listdir(path: Path) -> list[str]:
        listings.append(str(path))
        return real(path)
    monkeypatch.setattr(os, "listdir", listdir)
    store = RunStore(root)
    assert store.index.update(full=False) == 0 and listings == []  # nothing came or went
    assert [r.run_id for r in store.newest_runs(3)[0]] == sorted(ids, reverse=True)[:3]
    other = generate_runs(tmp_path / "elsewhere", 1, start_index=500)[0]
    shutil.copytree(tmp_path / "elsewhere" / other, root / other)
    shutil.rmtree(root / ids[-1])
    assert store.index.update(full=False) == 1 and listings  # the copied-in one was read
    assert store.newest_runs(1)[0][0].run_id == other
    assert [r.run_id for r in store.list_runs()] == sorted([*ids[:-1], other], reverse=True)


def test_the_full_check_in_a_child_process_sees_a_rewritten_summary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.core.runcheck import check_every_run
    from densexp_tui.core.runquery import SortSpec, parse_filter

    ids = generate_runs(tmp_path, 8)
    store = RunStore(tmp_path)
    store.index.update(full=True)
    path = tmp_path / ids[2] / "summary.json"
    summary = json.loads(path.read_text())
    path.write_text(json.dumps({**summary, "status": "cancelled", "name": "renamed"}))
    calls = count_index_updates(store, monkeypatch)
    check_every_run(store)
    assert calls == [False]  # the stat of every summary happened in the child
    assert [r.run_id for r in store.index.query(parse_filter("name:renamed"),
                                                SortSpec())] == [ids[2]]


def test_a_name_not_in_the_folder_name_resolves_through_the_index(tmp_path: Path) -> None:
    ids = generate_runs(tmp_path, 6)
    path = tmp_path / ids[1] / "summary.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "name": "special run"}))
    store = RunStore(tmp_path)
    store.list_runs()
    assert RunStore(tmp_path).get("special run").run_id == ids[1]
    shutil.rmtree(tmp_path / ids[1])
    with pytest.raises(Exception, match="no run matches"):
        RunStore(tmp_path).get("special run")


def test_sweep_counts_come_from_the_index_and_follow_the_folders(tmp_path: Path) -> None:
    ids = generate_runs(tmp_path, 9)
    for index, run_id in enumerate(ids[:5]):
        path = tmp_path / run_id / "summary.json"
        sweep = "Big-Sweep" if index < 3 else "other"
        path.write_text(json.dumps({**json.loads(path.read_text()), "sweep": sweep}))
    store = RunStore(tmp_path)
    assert store.sweep_counts() == {"Big-Sweep": 3, "other": 2}
    shutil.rmtree(tmp_path / ids[0])
    assert store.sweep_counts() == {"Big-Sweep": 2, "other": 2}


def test_runs_of_a_group_or_sweep_are_found_exactly_and_stay_current(tmp_path: Path) -> None:
    """compare GROUP, `--seeds` lines and `ensemble --sweep` look runs up by run.group or
    run.sweep in the index instead of listing every run: exact values, new and gone runs
    seen without a full re-check."""
    ids = generate_runs(tmp_path, 30, groups_every=2)  # grp-0 = runs 0-2, grp-2 = 6-8, ...
    store = RunStore(tmp_path)
    store.list_runs()  # the index now holds every run
    assert [r.run_id for r in store.runs_with("group", "grp-2")] == ids[6:9]
    assert store.runs_with("group", "grp") == []  # a prefix of a group is not that group
    assert store.runs_with("group", "GRP-2") == []  # values are exact, as written
    summary = json.loads((tmp_path / ids[0] / "summary.json").read_text())
    late = tmp_path / "29990101-000000-late-ffffff"
    shutil.copytree(tmp_path / ids[0], late)
    (late / "summary.json").write_text(json.dumps(
        {**summary, "run_id": late.name, "group": "grp-2", "sweep": "sw"}))
    shutil.rmtree(tmp_path / ids[6])
    fresh = RunStore(tmp_path)
    assert [r.run_id for r in fresh.runs_with("group", "grp-2")] == [*ids[7:9], late.name]
    assert [r.run_id for r in fresh.runs_with("sweep", "sw")] == [late.name]
