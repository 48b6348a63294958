"""What the Calibration and Errors views show, prepared off the UI thread from a run's
predictions/test.jsonl (Textual-free; the widgets only draw it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from densexp_tui.core.errors import BadInput
from densexp_tui.core.metrics import ECE_BINS, expected_calibration_error, reliability_bins
from densexp_tui.core.misclassified import ErrorRow, misclassified
from densexp_tui.core.predictions import PREDICTIONS_FILE, Predictions, read_predictions


@dataclass(frozen=True)
class CalibrationData:
    """Reliability bins (see core.metrics.reliability_bins), ECE and a confidence
    histogram of right and wrong predictions over the same bins."""

    bins: list[dict[str, float | int | None]]
    ece: float
    n: int
    right_counts: list[int]
    wrong_counts: list[int]


@dataclass(frozen=True)
class EvaluationData:
    """Everything both views need, or why there is nothing (``problem``)."""

    calibration: CalibrationData | None = None
    errors: list[ErrorRow] = field(default_factory=list)  # most confidently wrong first
    labels: tuple[str, ...] = ()
    confusion: list[list[int]] = field(default_factory=list)
    total: int = 0
    problem: str = ""


def calibration_data(preds: Predictions, n_bins: int = ECE_BINS) -> CalibrationData:
    bins = reliability_bins(preds.true, preds.probs, n_bins)
    confidence = preds.probs.max(axis=1)
    correct = preds.probs.argmax(axis=1) == preds.true
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    right, _ = np.histogram(confidence[correct], bins=edges)
    wrong, _ = np.histogram(confidence[~correct], bins=edges)
    return CalibrationData(bins, expected_calibration_error(preds.true, preds.probs, n_bins),
                           len(preds), [int(c) for c in right], [int(c) for c in wrong])


def load_evaluation(run_dir: Path) -> EvaluationData:
    """Read the run's predictions and prepare both views; never raises for a bad file."""
    path = Path(run_dir) / PREDICTIONS_FILE
    if not path.is_file():
        return EvaluationData(problem="no test predictions for this run yet (they are "
                                      f"written after testing; older runs: `densexp evaluate "
                                      f"{Path(run_dir).name}`)")
    try:
        preds = read_predictions(path)
    except BadInput as err:
        return EvaluationData(problem=str(err))
    k = len(preds.label_names)
    confusion = np.bincount(preds.true * k + preds.pred, minlength=k * k).reshape(k, k)
    return EvaluationData(calibration_data(preds), misclassified(preds), preds.label_names,
                          confusion.tolist(), len(preds))


def filter_errors(errors: list[ErrorRow], true: str | None, pred: str | None,
                  most_confident_first: bool = True) -> list[ErrorRow]:
    """One confusion cell's errors (None: any), sorted by confidence."""
    picked = [row for row in errors if (true is None or row.true == true)
              and (pred is None or row.pred == pred)]
    return sorted(picked, key=lambda row: row.confidence, reverse=most_confident_first)
