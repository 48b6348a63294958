"""A real `densexp run examples/tabular.toml --seeds 1,2` makes a group compare summarises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from densexp_tui.cli import main
from densexp_tui.core.runstore import RunStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular.toml"


def test_seeds_make_one_group_that_compare_summarises(runs_dir: Path, capsys):
    code = main(["run", str(EXAMPLE), "--seeds", "1,2", "--set", "train.epochs=3"])
    assert code == 0
    runs = RunStore(runs_dir).list_runs()
    assert len(runs) == 2
    groups = {run.group for run in runs}
    assert len(groups) == 1 and all(groups)
    group = groups.pop()
    assert group.startswith("wine-mlp-")
    assert f"group {group}: 2 finished seed(s)" in capsys.readouterr().out

    # compare needs two different groups: the same config at another epoch count is another
    assert main(["run", str(EXAMPLE), "--seeds", "1,2", "--set", "train.epochs=2"]) == 0
    other_runs = [run for run in RunStore(runs_dir).list_runs() if run.group != group]
    assert len(other_runs) == 2 and len({run.group for run in other_runs}) == 1
    other = other_runs[0].group
    capsys.readouterr()
    assert main(["compare", group, other, "--metric", "test.accuracy", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 4 and "Welch" in out["test"] and "2 + 2 seeds" in out["test"]
    values = [run.test["accuracy"] for run in runs]
    other_values = [run.test["accuracy"] for run in other_runs]
    assert out["a"] == pytest.approx(sum(values) / 2)
    assert out["b"] == pytest.approx(sum(other_values) / 2)
    assert out["diff"] == pytest.approx(out["b"] - out["a"])

    # a group against itself, or against one run, is refused in one line
    assert main(["compare", group, group]) == 2
    assert f"same group {group}" in capsys.readouterr().err
    assert main(["compare", group, runs[0].run_id]) == 2
    assert "two runs" in capsys.readouterr().err
