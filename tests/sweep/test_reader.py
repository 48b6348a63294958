"""The study reader the Sweeps screen uses lives in sweep/, Textual-free."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep.reader import StudyReader, trial_header
from tests.sweep.study_factory import write_study

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]


def test_snapshot_lists_studies_and_reads_the_selected_one(tmp_path: Path) -> None:
    write_study(tmp_path, "alpha", 12, running=1)
    write_study(tmp_path, "beta", 3)
    reader = StudyReader(RunStore(tmp_path))
    snap = reader.snapshot("", "beta")
    assert [s.name for s in snap.studies] == ["alpha", "beta"] and not snap.problem
    assert snap.selected is not None and snap.selected.info.name == "beta"
    assert snap.selected.importances is None  # fewer than 4 complete trials
    alpha = reader.snapshot("", "alpha").selected
    assert alpha is not None and alpha.info.finished == 12 and alpha.info.running == 1
    assert not alpha.importances_pending
    assert alpha.header == trial_header(alpha.space_keys) and len(alpha.cells) == 13
    assert alpha.cells[0][0] == "0" and alpha.cells[-1][1] == "running"
    assert alpha.importances and set(alpha.importances) == {"train.learning_rate",
                                                            "train.batch_size"}


def test_new_trials_show_on_the_next_snapshot_and_a_bad_url_is_a_problem(
        tmp_path: Path) -> None:
    study = write_study(tmp_path, "grow", 5)
    reader = StudyReader(RunStore(tmp_path))
    assert len(reader.snapshot("", None).selected.cells) == 5  # type: ignore[union-attr]
    study.enqueue_trial({"train.learning_rate": 1e-3, "train.batch_size": 16})
    selected = reader.snapshot("", None).selected
    assert selected is not None and len(selected.cells) == 6
    assert reader.snapshot("nosuch://db", None).problem


def test_a_thousand_trial_study_reads_quickly_enough_for_a_live_view(tmp_path: Path) -> None:
    write_study(tmp_path, "big", 1000)
    reader = StudyReader(RunStore(tmp_path))
    started = time.perf_counter()
    first = reader.snapshot("", "big")
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = reader.snapshot("", "big")
    again_seconds = time.perf_counter() - started
    assert first.selected is not None and len(first.selected.cells) == 1000
    assert again.selected is not None and len(again.selected.cells) == 1000
    print(f"1,000 trials: first snapshot {first_seconds:.2f}s, next {again_seconds:.2f}s")
    assert first.selected.importances_pending  # fANOVA on 1,000 trials runs aside
    assert first_seconds < 30 and again_seconds < 30  # generous: a loaded CI machine


def test_the_screens_empty_header_is_the_readers() -> None:
    from densexp_tui.tui.screens.sweeps import EMPTY_TRIALS_HEADER

    assert trial_header([]) == EMPTY_TRIALS_HEADER


@pytest.mark.timeout(200)
def test_importances_of_a_big_study_are_computed_inside_a_textual_app(tmp_path: Path) -> None:
    """The Sweeps screen said "cannot read studies: ValueError: bad value(s) in fds_to_keep"
    for every study big enough to compute its importances in a child process: under Textual
    sys.stderr has no descriptor, and multiprocessing's resource tracker needs one."""
    done = subprocess.run([sys.executable, "-m", "tests.sweep.textual_stderr_main",
                           str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=180, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-2000:]
    found = json.loads(lines[-1][len("RESULT "):])
    assert found["problem"] == ""
    assert set(found["importances"] or {}) == {"train.learning_rate", "train.batch_size"}


def test_curve_points_follow_the_best_complete_trial_and_skip_the_rest() -> None:
    from densexp_tui.sweep.reader import curve_points
    from densexp_tui.sweep.study import TrialRow

    rows = [TrialRow(0, "complete", value=0.5), TrialRow(1, "running"),
            TrialRow(2, "complete", value=0.4), TrialRow(3, "complete", value=float("nan")),
            TrialRow(4, "pruned", value=0.9), TrialRow(5, "complete", value=0.7)]
    best, values = curve_points(rows, "maximize")
    assert best == [(0.0, 0.5), (2.0, 0.5), (5.0, 0.7)]
    assert values == [(0.0, 0.5), (2.0, 0.4), (5.0, 0.7)]
    assert curve_points(rows, "minimize")[0] == [(0.0, 0.5), (2.0, 0.4), (5.0, 0.4)]
