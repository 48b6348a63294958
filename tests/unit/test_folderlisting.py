"""A lookup on a deleted index lists the runs folder once (core/folderlisting.py): the id
prefix check and the name lookup share one listing. Listings are counted through
``os.listdir`` / ``os.scandir`` on the runs folder, never by timing; answers are compared
with a Python pass over a fresh listing and with the warm index."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from densexp_tui.core import runresolve
from densexp_tui.core.errors import RunStoreError
from densexp_tui.core.folderlisting import list_folders
from densexp_tui.core.runindex import INDEX_DIR
from densexp_tui.core.runresolve import folders_starting_with
from densexp_tui.core.runstore import RunStore, RunSummary
from tests.runs_factory import generate_runs

pytestmark = pytest.mark.timeout(120)


class Listings:
    """Calls of os.listdir / os.scandir on the runs folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: list[str] = []

    def count(self) -> int:
        return len(self.calls)


@pytest.fixture
def many(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """200 runs that a name lookup treats as many (only candidates are read)."""
    monkeypatch.setattr(runresolve, "READ_ALL_UP_TO", 20)
    root = tmp_path / "runs"
    return root, generate_runs(root, 200)


@pytest.fixture
def listings(many: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> Listings:
    root = many[0]
    seen = Listings(root)
    real_listdir, real_scandir = os.listdir, os.scandir

    def on_root(path: object) -> bool:  # rmtree lists by file descriptor: not the root
        return isinstance(path, (str, Path)) and Path(path) == root

    def listdir(path: str | Path = ".") -> list[str]:
        if on_root(path):
            seen.calls.append("listdir")
        return real_listdir(path)

    def scandir(path: str | Path = ".") -> Iterator[os.DirEntry[str]]:
        if on_root(path):
            seen.calls.append("scandir")
        return real_scandir(path)
    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(os, "scandir", scandir)
    return seen


def cold(root: Path) -> RunStore:
    shutil.rmtree(root / INDEX_DIR, ignore_errors=True)
    return RunStore(root)


def name_of(root: Path, folder: str) -> str:
    return str(json.loads((root / folder / "summary.json").read_text())["name"])


def write_run(root: Path, folder: str, name: str) -> None:
    (root / folder).mkdir(parents=True)
    summary = RunSummary(run_id=folder, name=name, status="completed", model="mlp")
    (root / folder / "summary.json").write_text(json.dumps(summary.to_dict()))


def test_a_name_a_typo_and_a_prefix_each_list_the_runs_folder_once(
        many: tuple[Path, list[str]], listings: Listings) -> None:
    root, ids = many
    store = cold(root)
    assert store.get(name_of(root, ids[3])).run_id == ids[3]
    assert listings.calls == ["listdir"]  # was two: the prefix check and the name sync
    listings.calls.clear()
    with pytest.raises(RunStoreError, match="no run matches 'mlp-iris-typo'"):
        cold(root).get("mlp-iris-typo")
    assert listings.calls == ["listdir"]
    listings.calls.clear()
    assert cold(root).get(ids[7][:-2]).run_id == ids[7]  # a unique prefix
    assert listings.calls == ["listdir"]
    listings.calls.clear()
    with pytest.raises(RunStoreError, match="matches several runs"):
        cold(root).get(ids[7][:8])  # the date: many runs
    assert listings.calls == ["listdir"]


def test_the_shared_listing_answers_prefixes_as_a_fresh_pass_over_the_folders(
        many: tuple[Path, list[str]]) -> None:
    root, ids = many
    (root / f".{ids[0]}.creating").mkdir()  # a run being created is not a run yet
    (root / "not-a-dir").write_text("stray file")
    listing = list_folders(root)
    assert listing is not None
    assert ".densexp-index" not in listing.visible
    assert listing.visible == {name for name in os.listdir(root) if not name.startswith(".")}
    for prefix in [ids[0][:8], ids[5], ids[5][:-1], "2", "not", "zzz", "-", ".", "."+ids[0]]:
        expected = sorted((name for name in os.listdir(root) if name.startswith(prefix)
                           and not name.startswith(".") and (root / name).is_dir()),
                          reverse=True)
        assert folders_starting_with(root, prefix, listing) == expected, prefix
        assert folders_starting_with(root, prefix) == expected, prefix


def test_a_run_being_created_is_not_found_and_a_folder_with_a_newline_is(
        many: tuple[Path, list[str]], listings: Listings) -> None:
    """Hidden entries are left out of the listing; a name holding a newline makes the
    passes over the names Python ones, with the same answers."""
    root, _ = many
    write_run(root, ".20990101-000000-staged-abcdef.creating", "staged")
    with pytest.raises(RunStoreError, match="no run matches 'staged'"):
        cold(root).get("staged")
    write_run(root, "odd\nfolder", "with-newline")
    listing = list_folders(root)
    assert listing is not None and listing.text == ""  # the Python passes
    assert cold(root).get("with-newline").run_id == "odd\nfolder"
    assert cold(root).get("odd").run_id == "odd\nfolder"  # a prefix of it
    with pytest.raises(RunStoreError, match="no run matches 'staged'"):
        cold(root).get("staged")


def test_cold_answers_are_the_warm_index_answers(many: tuple[Path, list[str]]) -> None:
    root, ids = many
    refs = [name_of(root, ids[i]) for i in (0, 50, 199)] + [ids[9][:-3], ids[120]]
    store = RunStore(root)
    store.index.update(full=True)
    warm = [RunStore(root).get(ref).run_id for ref in refs]
    assert [cold(root).get(ref).run_id for ref in refs] == warm
