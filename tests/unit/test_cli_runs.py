"""`densexp runs`: newest N, --all, --filter and --sort in the runs screen's syntax, --groups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from densexp_tui.cli import main
from densexp_tui.core.runstore import RunStore
from tests.runs_factory import generate_runs

pytestmark = pytest.mark.timeout(60)


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main(["runs", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_newest_fifty_by_default_then_limit_all_filter_and_sort(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = generate_runs(tmp_path, 80, groups_every=4)
    root = ["--runs-dir", str(tmp_path)]
    newest = sorted(ids, reverse=True)
    assert [r["run_id"] for r in run_json(capsys, *root)] == newest[:50]
    assert [r["run_id"] for r in run_json(capsys, *root, "--limit", "3")] == newest[:3]
    assert len(run_json(capsys, *root, "--all")) == 80
    every = RunStore(tmp_path).list_runs()
    wanted = [r.run_id for r in every if r.status == "completed" and r.model == "mlp"]
    got = run_json(capsys, *root, "--all", "--filter", "status:completed model:mlp")
    assert [r["run_id"] for r in got] == wanted
    by_acc = run_json(capsys, *root, "--all", "--sort", "acc")
    accuracies = [r["best"]["accuracy"] for r in by_acc]  # type: ignore[index]
    assert accuracies == sorted(accuracies, reverse=True)


def test_groups_fold_into_mean_and_std(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    generate_runs(tmp_path, 12, groups_every=2)
    rows = run_json(capsys, "--runs-dir", str(tmp_path), "--groups", "--all")
    groups = [r for r in rows if "group" in r and "runs" in r]
    assert groups and all(g["n"] == 3 for g in groups)
    stats = groups[0]["metrics"]["best.accuracy"]  # type: ignore[index]
    assert stats["n"] == 3 and stats["std"] is not None
    assert len(rows) == 12 - 2 * len(groups)  # three runs become one row per group
    assert main(["runs", "--runs-dir", str(tmp_path), "--groups"]) == 0
    assert "±" in capsys.readouterr().out


def test_a_bad_filter_or_sort_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate_runs(tmp_path, 2)
    assert main(["runs", "--runs-dir", str(tmp_path), "--filter", "colour:red"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown filter field 'colour'" in err
    assert main(["runs", "--runs-dir", str(tmp_path), "--sort", "colour"]) == 2
    assert main(["runs", "--runs-dir", str(tmp_path), "--limit", "0"]) == 2
