"""The data behind the Calibration and Errors views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from densexp_tui.core.evaluation_view import filter_errors, load_evaluation
from densexp_tui.core.predictions import (
    PREDICTIONS_FILE,
    predictions_from_arrays,
    write_predictions,
)

pytestmark = pytest.mark.timeout(30)


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.45, 0.55], [0.1, 0.9]])
    preds = predictions_from_arrays(("neg", "pos"), [0, 1, 1, 0, 0], probs,
                                    texts=["a", "b", "c", "d", "e"])
    write_predictions(run / PREDICTIONS_FILE, preds)
    (run / "events.jsonl").write_text('{"v":1,"seq":0,"time":0,"kind":"run_started",'
                                      '"labels":["neg","pos"]}\n')
    return run


def test_views_get_errors_confusion_and_a_histogram_of_right_and_wrong(tmp_path: Path):
    data = load_evaluation(_run(tmp_path))
    assert data.problem == "" and data.total == 5
    assert [row.row for row in data.errors] == [4, 2, 3]  # 0.9, 0.7, 0.55
    assert data.confusion == [[1, 2], [1, 1]]
    calib = data.calibration
    assert calib is not None
    assert sum(calib.right_counts) == 2 and sum(calib.wrong_counts) == 3
    assert calib.n == 5 and len(calib.bins) == 15
    assert [row.row for row in filter_errors(data.errors, "neg", "pos", False)] == [3, 4]


def test_a_run_without_predictions_says_how_to_get_them(tmp_path: Path):
    data = load_evaluation(tmp_path / "old-run")
    assert "densexp evaluate old-run" in data.problem and data.calibration is None
