"""A sweep whose base data file is not there, or lacks the columns it names, is bad input
before the study exists: one line, exit 2, no run and no trial (in process and with
``--workers``). Before, the first trial created a run that failed on loading the data."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.cli import main
from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep.study import load_local_study

pytestmark = pytest.mark.timeout(60)

SWEEP = """base = "base.toml"
[sweep]
name = "data"
n_trials = 2
[space]
"train.learning_rate" = {low = 1e-5, high = 1e-1, log = true}
"""


def _sweep_over_csv(tmp_path: Path, path: str, text_column: str = "text",
                    space_extra: str = "") -> Path:
    (tmp_path / "reviews.csv").write_text(
        "text,label\n" + "".join(f"good {i},pos\nbad {i},neg\n" for i in range(20)))
    (tmp_path / "base.toml").write_text(
        f'[run]\nname = "d"\n[data]\nsource = "csv"\npath = "{path}"\n'
        f'text_column = "{text_column}"\n[model]\nname = "tiny-bert"\n')
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP + space_extra)
    return sweep


def _refused_with_nothing_made(code: int, err: str, runs: Path, *words: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("densexp: "), err
    assert all(word in lines[0] for word in words), lines[0]
    assert not runs.exists() or RunStore(runs).list_runs() == []
    assert not runs.exists() or load_local_study(RunStore(runs), "data") is None


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
def test_a_missing_data_file_is_refused_before_any_trial(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: list[str]) -> None:
    runs = tmp_path / "runs"
    code = main(["sweep", str(_sweep_over_csv(tmp_path, "gone.csv")), "--runs-dir", str(runs),
                 *workers])
    _refused_with_nothing_made(code, capsys.readouterr().err, runs, "gone.csv", "data.path",
                               "not found")


def test_a_missing_column_is_refused_before_any_trial(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    code = main(["sweep", str(_sweep_over_csv(tmp_path, "reviews.csv", "review")),
                 "--runs-dir", str(runs)])
    _refused_with_nothing_made(code, capsys.readouterr().err, runs, "data.text_column",
                               "no column 'review'", "'text', 'label'")


def test_a_space_that_chooses_the_data_file_is_left_to_the_trials(tmp_path: Path) -> None:
    """The base's path is then not what any trial reads, so it is not checked."""
    from densexp_tui.core.sweepconfig import load_sweep
    from densexp_tui.sweep.cli import check_base_data

    sweep = _sweep_over_csv(tmp_path, "gone.csv",
                            space_extra='"data.path" = ["reviews.csv"]\n')
    check_base_data(load_sweep(sweep))  # no error
