"""The cold index build (core/indexbuild.py): every summary read once, fast, and the rows
exactly what the reference reading (a text-mode JSON load, ``RunSummary.to_dict`` through
``dataclasses.asdict``) gives; a build cut short leaves an index every answer can trust;
``densexp runs`` says how far a long build is."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from densexp_tui import cli_runs
from densexp_tui.cli import main
from densexp_tui.cli_runs import IndexProgress
from densexp_tui.core import indexbuild, runindex
from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.runindex import INDEX_DIR
from densexp_tui.core.runquery import RunFilter, SortSpec
from densexp_tui.core.runsql import NUMERIC_COLUMNS, TEXT_COLUMNS, column_values
from densexp_tui.core.runstore import RunStore, _summary_from_record
from tests.runs_factory import generate_runs

pytestmark = pytest.mark.timeout(120)


def odd_runs(root: Path) -> list[str]:
    """Runs a real runs dir has besides finished ones: running, unreadable, copied under
    another folder name, a folder without a summary, a summary with unknown keys and a
    confusion matrix, one bigger than a single read."""
    store = RunStore(root)
    live = store.create_run(apply_overrides(RunConfig(), ["run.name=live-one"])).run_id
    ids = generate_runs(root, 6, start_index=900_000)
    (root / ids[0] / "summary.json").write_text('{"run_id": "half')
    shutil.copytree(root / ids[1], root / "20990101-000000-renamed-copy")
    (root / ids[2] / "summary.json").unlink()
    path = root / ids[3] / "summary.json"
    record = json.loads(path.read_text())
    record["test"]["confusion"] = [[1, 0], [0, 1]]
    record["added_by_a_newer_version"] = {"x": 1}
    path.write_text(json.dumps(record))
    path = root / ids[4] / "summary.json"
    record = json.loads(path.read_text())
    record["message"] = "long " * 40_000  # 200 kB: more than one read
    path.write_text(json.dumps(record))
    return [live, *ids, "20990101-000000-renamed-copy"]


def reference_rows(root: Path) -> dict[str, tuple[object, ...]]:
    """Each folder's row as the index built it before (separate stat, text-mode read,
    ``to_dict``), for the finished runs (a running one's live check is a separate matter)."""
    rows: dict[str, tuple[object, ...]] = {}
    for name in runindex.run_folder_names(root):
        path = root / name / "summary.json"
        if not path.is_file():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            record = {"run_id": name, "status": "interrupted",
                      "message": "summary.json unreadable"}
        summary = _summary_from_record(indexbuild.slim_record(record), name)
        values = column_values(summary)
        st = path.stat()
        rows[name] = (name, st.st_ino, st.st_mtime_ns, st.st_size,
                      int(summary.status == "running"), summary.name, summary.config_hash,
                      values["hay"], *(values[c] for c in TEXT_COLUMNS),
                      *(values[c] for c in NUMERIC_COLUMNS),
                      json.dumps(summary.to_dict(), separators=(",", ":")))
    return rows


def index_rows(root: Path) -> dict[str, tuple[object, ...]]:
    import sqlite3

    conn = sqlite3.connect(root / runindex.INDEX_NAME)
    try:
        columns = ", ".join(runindex._ROW_COLUMNS)
        return {row[0]: tuple(row) for row in conn.execute(f"SELECT {columns} FROM runs")}
    finally:
        conn.close()


def test_a_cold_build_gives_exactly_the_reference_rows_and_the_warm_listing(
        tmp_path: Path) -> None:
    root = tmp_path / "runs"
    generate_runs(root, 3000, groups_every=5)
    odd = odd_runs(root)
    cold = RunStore(root)
    assert cold.index.update(full=True) == 3000 + len(odd)  # every folder looked at
    built = index_rows(root)
    expected = reference_rows(root)
    live = odd[0]
    assert set(built) == set(expected)
    assert all(built[name] == expected[name] for name in expected if name != live)
    assert built[live][4] == 1 and json.loads(str(built[live][-1]))["name"] == "live-one"
    # A warm look (a new process, nothing changed) lists the same, row for row.
    cold_json = list(cold.index.iter_json(RunFilter(), SortSpec()))
    warm = RunStore(root)
    # Only the running run and the folder without a summary are looked at again.
    assert warm.index.update(full=True) == 2
    assert list(warm.index.iter_json(RunFilter(), SortSpec())) == cold_json
    assert [r.run_id for r in warm.list_runs()] == sorted(expected, reverse=True)


def test_read_summary_json_says_gone_unreadable_or_the_record(tmp_path: Path) -> None:
    assert indexbuild.read_summary_json(str(tmp_path / "none" / "summary.json")) is None
    (tmp_path / "file").write_text("x")
    assert indexbuild.read_summary_json(str(tmp_path / "file" / "summary.json")) is None
    (tmp_path / "dir" / "summary.json").mkdir(parents=True)
    found = indexbuild.read_summary_json(str(tmp_path / "dir" / "summary.json"))
    assert found is not None and found[1] is None
    for text in ("[1, 2]", "{not json", ""):
        (tmp_path / "bad.json").write_text(text)
        found = indexbuild.read_summary_json(str(tmp_path / "bad.json"))
        assert found is not None and found[1] is None
    (tmp_path / "ok.json").write_text(json.dumps({"name": "é" * 50_000}))
    found = indexbuild.read_summary_json(str(tmp_path / "ok.json"))
    st = os.stat(tmp_path / "ok.json")
    assert found == ((st.st_ino, st.st_mtime_ns, st.st_size), {"name": "é" * 50_000})


def test_a_build_cut_short_leaves_an_index_every_answer_can_trust(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "runs"
    ids = generate_runs(root, 600)
    monkeypatch.setattr(runindex, "BATCH_ROWS", 100)
    monkeypatch.setattr(runindex, "MTIME_TRUST_SECONDS", 0.0)
    real = indexbuild.RowReader.read
    batches: list[int] = []

    def killed_midway(self: indexbuild.RowReader, names: list[str]) -> object:
        batches.append(len(names))
        if len(batches) == 3:
            raise KeyboardInterrupt  # as Ctrl-C (or a kill) in the middle of a build
        return real(self, names)
    monkeypatch.setattr(indexbuild.RowReader, "read", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        RunStore(root).index.update(full=True)
    monkeypatch.setattr(indexbuild.RowReader, "read", real)
    store = RunStore(root)
    assert store.index.count() == 200  # the newest 200 were written, in two batches
    assert not store.index.names_current()  # so nothing trusts the rows to be all runs
    oldest = ids[0]
    assert store.get(oldest[:-3]).run_id == oldest  # a prefix of a run not yet indexed
    assert [r.run_id for r in store.newest_runs(5)[0]] == sorted(ids, reverse=True)[:5]
    assert store.index.update(full=False) == 400  # a names-only update adds the rest
    assert store.index.names_current() and store.index.count() == 600
    name = json.loads((root / oldest / "summary.json").read_text())["name"]
    assert store.get(name).run_id == oldest
    assert [r.run_id for r in RunStore(root).list_runs()] == sorted(ids, reverse=True)


def test_densexp_runs_says_how_far_a_long_build_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "runs"
    generate_runs(root, 120)
    monkeypatch.setattr(runindex, "BATCH_ROWS", 50)
    monkeypatch.setattr(cli_runs, "MANY_READS", 100)
    assert main(["runs", "--all", "--json", "--runs-dir", str(root)]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 120  # stdout is the JSON alone
    assert captured.err == "indexing runs: reading 120 summaries…\n"
    assert main(["runs", "--all", "--json", "--runs-dir", str(root)]) == 0
    assert capsys.readouterr().err == ""  # warm: nothing to say
    shutil.rmtree(root / INDEX_DIR)
    assert main(["runs", "--runs-dir", str(root), "--limit", "3"]) == 0
    assert capsys.readouterr().err.startswith("3 of 120 runs shown")  # newest: no build


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_is_rewritten_in_place_on_a_terminal() -> None:
    out = Terminal()
    progress = IndexProgress(out)
    for read in (2000, 4000, 6000):
        progress(read, 6000)
    assert out.getvalue() == ("\rindexing runs: 2,000 of 6,000 summaries read"
                              "\rindexing runs: 4,000 of 6,000 summaries read"
                              "\rindexing runs: 6,000 of 6,000 summaries read\n")
    quiet = Terminal()
    IndexProgress(quiet)(40, 40)  # a few reads: no line at all
    assert quiet.getvalue() == ""


def test_the_full_check_in_a_child_process_reports_how_far_a_cold_build_is(
        tmp_path: Path) -> None:
    from densexp_tui.core.runcheck import check_every_run

    root = tmp_path / "runs"
    ids = generate_runs(root, 2 * runindex.BATCH_ROWS + 300)
    store = RunStore(root)
    reports: list[tuple[int, int]] = []
    check_every_run(store, progress=lambda read, to_read: reports.append((read, to_read)))
    total = len(ids)
    assert reports == [(runindex.BATCH_ROWS, total), (2 * runindex.BATCH_ROWS, total),
                       (total, total)]
    assert store.index.count() == total
    reports.clear()
    check_every_run(store, progress=lambda read, to_read: reports.append((read, to_read)))
    assert reports == []  # warm: nothing was read, nothing to report


def test_the_newest_runs_come_from_the_folders_on_a_cold_index(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    ids = generate_runs(root, 30)
    for n in range(120):  # newer than every run, and none has a summary (yet)
        (root / f"2099{n:04d}-000000-creating-by-hand").mkdir()
    store = RunStore(root)
    runs, total = store.newest_runs(5)
    assert [r.run_id for r in runs] == sorted(ids, reverse=True)[:5]
    assert total == 150  # folders, as before the index has every row
    assert not (root / runindex.INDEX_NAME).exists() or store.index.count() == 5
    # The offset counts folders: past the 120 without a summary, the runs from the 6th on.
    assert [r.run_id for r in store.index.newest(5, offset=125)[0]] == \
        sorted(ids, reverse=True)[5:10]


def test_a_name_on_a_cold_index_reads_only_the_folders_newer_than_its_newest_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "runs"
    ids = generate_runs(root, 600)
    newest = sorted(ids, reverse=True)
    monkeypatch.setattr(runindex, "BATCH_ROWS", 100)
    for run_id in (newest[30], newest[450]):  # two runs of one name: the newer one wins
        path = root / run_id / "summary.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "name": "twice"}))
    assert RunStore(root).get("twice").run_id == newest[30]
    store = RunStore(root)
    assert store.index.count() == 100 and not store.index.names_current()  # one batch
    old = json.loads((root / ids[3] / "summary.json").read_text())["name"]
    assert store.get(old).run_id == ids[3]  # an old run: every newer folder read first
    assert store.index.count() == 600
    shutil.rmtree(root / INDEX_DIR)
    with pytest.raises(Exception, match="no run matches"):
        RunStore(root).get("no-such-name")
    assert RunStore(root).index.count() == 600  # a miss is only sure once all are read
