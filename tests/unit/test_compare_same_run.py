"""`densexp compare` refuses a run (or group) compared with itself: one line on stderr naming
it and what is allowed, exit 2. A new user's `densexp compare X X` printed a verdict."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from densexp_tui.cli import main
from densexp_tui.core.predictions import PREDICTIONS_FILE, write_predictions
from tests.runs_factory import generate_runs

pytestmark = pytest.mark.timeout(60)
DATA_RUNS = Path(__file__).resolve().parents[1] / "data" / "runs"
QUICKSTART = "20250101-100000-quickstart-a1b2c3"
LORA = "20250101-110000-lora-fast-d4e5f6"
LABELS = ("negative", "neutral", "positive")


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """The two fixture runs, each with test predictions (so a compare could run)."""
    root = tmp_path / "runs"
    shutil.copytree(DATA_RUNS, root)
    for run_id, shift in ((QUICKSTART, 0), (LORA, 1)):
        rows = [{"row": n, "label": LABELS[n % 3], "pred": LABELS[(n + shift * (n % 4 == 0)) % 3],
                 "probs": [0.8 if k == (n + shift * (n % 4 == 0)) % 3 else 0.1 for k in range(3)]}
                for n in range(30)]
        write_predictions(root / run_id / PREDICTIONS_FILE, rows)
    return root


def compare(runs: Path, a: str, b: str, capsys: pytest.CaptureFixture[str]
            ) -> tuple[int, str, str]:
    code = main(["compare", a, b, "--runs-dir", str(runs)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("a", "b"), [(QUICKSTART, QUICKSTART), ("quickstart", QUICKSTART),
                                      ("20250101-100000-quick", "quickstart")])
def test_the_same_run_twice_is_bad_input(runs: Path, a: str, b: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = compare(runs, a, b, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert f"same run {QUICKSTART}" in err and "allowed: two different runs" in err


def test_two_different_runs_still_compare(runs: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    code, out, _err = compare(runs, QUICKSTART, LORA, capsys)
    assert code == 0 and "p =" in out


def test_the_same_group_twice_is_bad_input(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    generate_runs(tmp_path, 3, groups_every=1)  # grp-0: three seeds
    code, out, err = compare(tmp_path, "grp-0", "grp-0", capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "same group grp-0" in err and "allowed: two different groups" in err
