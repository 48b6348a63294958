"""A name looked up with the runs index deleted (core/runresolve.py): only the folders whose
name can hold it are read, so an old run is found and a typo refused after one listing;
renamed, copied and odd-named runs are still found, and the answer is always the warm
index's. Summaries read are counted through the two readers (the index's and the one that
confirms a candidate), never by timing."""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from densexp_tui import cli_runs
from densexp_tui.cli import main
from densexp_tui.cli_runs import IndexProgress
from densexp_tui.core import indexbuild, runindex, runresolve, runstore
from densexp_tui.core.errors import RunStoreError
from densexp_tui.core.runindex import INDEX_DIR
from densexp_tui.core.runresolve import folder_could_hold, name_slug
from densexp_tui.core.runstore import RunStore, RunSummary, new_run_id
from tests.runs_factory import generate_runs

pytestmark = pytest.mark.timeout(120)


@dataclass
class Reads:
    """Summaries read: by the index (rows), and to confirm a candidate (RunStore.read_summary)."""

    index: list[str] = field(default_factory=list)
    confirm: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.index.clear()
        self.confirm.clear()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    seen = Reads()
    real_json = indexbuild.read_summary_json
    real_file = runstore.read_summary_file

    def index_read(path: str) -> tuple[indexbuild.StatKey, indexbuild.Record | None] | None:
        seen.index.append(Path(path).parent.name)
        return real_json(path)

    def confirm_read(run_dir: Path) -> RunSummary | None:
        seen.confirm.append(run_dir.name)
        return real_file(run_dir)
    monkeypatch.setattr(indexbuild, "read_summary_json", index_read)
    monkeypatch.setattr(runstore, "read_summary_file", confirm_read)
    return seen


def write_run(root: Path, folder: str, name: str) -> str:
    """A finished run in ``folder`` whose summary says ``name`` (written as densexp does)."""
    (root / folder).mkdir(parents=True)
    summary = RunSummary(run_id=folder, name=name, status="completed", model="mlp")
    (root / folder / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2))
    return folder


def name_of(root: Path, folder: str) -> str:
    return str(json.loads((root / folder / "summary.json").read_text())["name"])


def cold(root: Path) -> RunStore:
    """A new process's store with the index deleted."""
    shutil.rmtree(root / INDEX_DIR, ignore_errors=True)
    return RunStore(root)


def test_an_old_run_is_found_and_a_typo_refused_reading_only_what_can_hold_the_name(
        tmp_path: Path, reads: Reads) -> None:
    root = tmp_path / "runs"
    ids = generate_runs(root, runresolve.READ_ALL_UP_TO + 200)
    old = ids[3]
    assert cold(root).get(name_of(root, old)).run_id == old
    assert reads.index == [old] and reads.confirm == [old]  # 1 of 1,200 summaries
    reads.clear()
    with pytest.raises(RunStoreError, match="no run matches 'mlp-iris-typo'"):
        cold(root).get("mlp-iris-typo")
    assert reads.index == [] and reads.confirm == []
    reads.clear()
    # Folders whose slug only starts or ends like the name are not candidates.
    name = name_of(root, ids[10])  # e.g. mlp-wine-10, next to mlp-wine-100 ... -1099
    assert cold(root).get(name).run_id == ids[10] and reads.index == [ids[10]]


def test_the_cli_answers_a_name_or_a_typo_with_the_index_deleted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], reads: Reads) -> None:
    root = tmp_path / "runs"
    ids = generate_runs(root, runresolve.READ_ALL_UP_TO + 50)
    RunStore(root).index.update(full=True)
    shutil.rmtree(root / INDEX_DIR)  # DESIGN: any cache file may be deleted
    reads.clear()
    assert main(["show", name_of(root, ids[0]), "--json", "--runs-dir", str(root)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"]["run_id"] == ids[0]
    assert captured.err == "" and len(reads.index) == 1
    assert main(["show", "mlp-iris-typo", "--runs-dir", str(root)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        f"densexp: {root}: no run matches 'mlp-iris-typo'; `densexp runs` lists them"]
    assert len(reads.index) == 1  # the typo read nothing


def test_renamed_copied_and_odd_named_runs_are_found_as_the_warm_index_finds_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: Reads) -> None:
    root = tmp_path / "runs"
    monkeypatch.setattr(runresolve, "READ_ALL_UP_TO", 20)  # 200 runs count as many
    ids = generate_runs(root, 200)
    os.rename(root / ids[5], root / "keep-this-one")  # renamed by hand, to any name
    shutil.copytree(root / ids[6], root / "backup of run")  # copied under another name
    odd = {
        "renamed": "keep-this-one",
        "copied": "backup of run",
        # names with characters the slug drops, one longer than the slug keeps
        "spaces": write_run(root, new_run_id("exp #1 (lr=3e-4)"), "exp #1 (lr=3e-4)"),
        "long": write_run(root, new_run_id("x" * 50 + "-long"), "x" * 50 + "-long"),
        # a decomposed folder name (macOS stores é as e + accent) of an é in the name
        "nfd": write_run(root, unicodedata.normalize("NFD", new_run_id("café-run")),
                         "café-run"),
        # the hidden `run --run-id` given any id
        "run-id": write_run(root, "my-own-id", "given-an-id"),
        # the same name twice: the newer folder wins, whichever shape it has
        "twice-old": write_run(root, new_run_id("twice", now=1.0e9), "twice"),
        "twice-new": write_run(root, "zz-twice-copy", "twice"),
    }
    other_shapes = {"keep-this-one", "backup of run", "my-own-id", "zz-twice-copy"}
    names = {label: name_of(root, folder) for label, folder in odd.items()}
    RunStore(root).index.update(full=True)
    warm = {label: RunStore(root).get(name).run_id for label, name in names.items()}
    assert warm["twice-old"] == warm["twice-new"] == "zz-twice-copy"
    assert warm["renamed"] == "keep-this-one" and warm["copied"] == "backup of run"
    folders = runindex.run_folder_names(root)
    for label, name in names.items():
        reads.clear()
        assert cold(root).get(name).run_id == warm[label], label
        # Read: the folders of other shapes, and id-shaped ones only if they hold the name.
        holders = {f for f in folders if name_of(root, f) == name}
        assert other_shapes <= set(reads.index) <= other_shapes | holders, label
    for run_id in ids[10:30]:  # and generated runs, as the warm index answers
        assert cold(root).get(name_of(root, run_id)).run_id == run_id


def test_a_folder_renamed_to_another_runs_id_is_found_once_the_index_has_its_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one way a name reaches an id-shaped folder without its slug (module docstring):
    by hand. A cold lookup does not read it; the index's rows, once built, find it."""
    root = tmp_path / "runs"
    monkeypatch.setattr(runresolve, "READ_ALL_UP_TO", 20)
    ids = generate_runs(root, 100)
    name = name_of(root, ids[7])
    os.rename(root / ids[7], root / "20990101-000000-other-slug-abcdef")
    with pytest.raises(RunStoreError, match="no run matches"):
        cold(root).get(name)
    store = RunStore(root)
    store.index.update(full=True)  # what `densexp runs --all` or the runs screen does
    assert RunStore(root).get(name).run_id == "20990101-000000-other-slug-abcdef"


def test_the_slug_rule_is_the_one_that_names_run_folders() -> None:
    for name in ("mlp-iris", "exp #1 (lr=3e-4)", "x" * 64, "a.b_c", "café"):
        folder = new_run_id(name)
        assert folder_could_hold(folder, runresolve.comparable_slug(name_slug(name)))
        assert not folder_could_hold(folder, runresolve.comparable_slug(name_slug("2" + name)))
    assert folder_could_hold("backup of run", "anything")
    assert name_slug("") == "run"


@pytest.mark.parametrize("extra", [[], ["a\nfolder-with-a-newline"]])
def test_the_one_pass_over_all_names_keeps_every_folder_that_can_hold_the_name(
        extra: list[str]) -> None:
    names = ["mlp", "mlp-iris", "café-run", "exp #1", "x" * 45, "mlp-iris-1"]
    folders = [new_run_id(name) for name in names * 3] + [
        "backup of run", "20250301-090000-mlp-iris-zzzzzz", "20250301-090000--abcdef",
        unicodedata.normalize("NFD", new_run_id("café-run")), "20250301-0900-mlp-iris-abcdef",
        new_run_id("caf\u00e9-run").replace("\u00e9", "\u00e8"), *extra]
    for name in [*names, "typo", "café-rum"]:
        slug = runresolve.comparable_slug(name_slug(name))
        expected = [f for f in folders if folder_could_hold(f, slug)]
        assert runresolve.folders_for_name(name)(folders * 200) == expected * 200, name


def test_a_name_of_many_runs_says_how_far_it_is_and_stops_at_the_newest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, reads: Reads) -> None:
    root = tmp_path / "runs"
    monkeypatch.setattr(runresolve, "READ_ALL_UP_TO", 20)
    monkeypatch.setattr(runindex, "BATCH_ROWS", 50)
    monkeypatch.setattr(cli_runs, "MANY_READS", 100)
    generate_runs(root, 50)
    popular = [write_run(root, new_run_id("quickstart", now=1.0e9 + i), "quickstart")
               for i in range(300)]  # `densexp run quickstart.toml`, again and again
    assert main(["show", "quickstart", "--json", "--runs-dir", str(root)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"]["run_id"] == max(popular)  # stdout: JSON
    assert captured.err == "indexing runs: reading 300 summaries…\n"
    assert len(reads.index) == 50  # one batch, newest first: the newest is known


class Terminal:
    """A stderr that is a terminal."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_a_lookup_that_stops_early_ends_its_progress_line() -> None:
    out = Terminal()
    progress = IndexProgress(out)  # type: ignore[arg-type]
    progress(2000, 6000)
    progress.finish()
    assert out.text == "\rindexing runs: 2,000 of 6,000 summaries read\n"
    progress.finish()  # nothing open: nothing written
    assert out.text.endswith("read\n") and out.text.count("\n") == 1


def test_compare_on_a_deleted_index_reads_every_summary_once(
        tmp_path: Path, reads: Reads) -> None:
    """A group is looked for first (its name is not in any folder name, so a cold index
    reads every summary, with the progress line); the run's name then needs no more."""
    from densexp_tui.core.comparing import resolve_side

    root = tmp_path / "runs"
    ids = generate_runs(root, runresolve.READ_ALL_UP_TO + 100)
    said: list[tuple[int, int]] = []

    class Recorder:
        def __call__(self, read: int, to_read: int) -> None:
            said.append((read, to_read))

        def finish(self) -> None:
            said.append((-1, -1))
    store = RunStore(root, progress=Recorder())
    side = resolve_side(store, name_of(root, ids[2]))
    assert side.runs[0].run_id == ids[2]
    assert sorted(reads.index) == sorted(ids)  # each once
    # The group search read them all (one batch), then each lookup ended its line.
    assert said == [(len(ids), len(ids)), (-1, -1), (-1, -1)]
