"""Classification metrics for events and summaries, computed with scikit-learn.

Everything returned is plain Python (``float``, ``int``, ``str``, ``list``, ``dict``, ``None``)
so it goes straight into ``events.jsonl`` and ``summary.json``. Labels are class indices
``0..len(label_names)-1``; the confusion matrix and ``per_class`` always cover every class in
``label_names`` order, even a class with no examples in this split, so views can lay them out
the same way epoch after epoch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
)

ArrayLike = Sequence[int] | np.ndarray


def classification_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    label_names: Sequence[str],
    loss: float | None = None,
) -> dict[str, Any]:
    """METRICS for one split: loss, accuracy, macro precision/recall/F1, per class, confusion.

    ``y_pred`` may be class indices, or scores/probabilities of shape ``(n, n_classes)``
    (then the arg-max is the prediction). Macro averages are over the classes that occur in
    ``y_true`` or ``y_pred`` (as scikit-learn's ``average="macro"`` does), so a class missing
    from a small validation split does not drag F1 to zero. A non-finite ``loss`` becomes
    ``None`` because JSON has no NaN.
    """
    true, pred = _as_class_indices(y_true, y_pred)
    per_class = _per_class(true, pred, label_names)
    precision, recall, f1 = _macro(true, pred)
    return {
        "loss": _finite_or_none(loss),
        "accuracy": float(accuracy_score(true, pred)) if len(true) else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "per_class": per_class,
        "confusion": _confusion(true, pred, len(label_names)),
        "labels": [str(name) for name in label_names],
    }


def classification_report_text(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    label_names: Sequence[str],
    digits: int = 3,
) -> str:
    """scikit-learn's text report (per class and averages) for the ``test`` event and logs."""
    true, pred = _as_class_indices(y_true, y_pred)
    if not len(true):
        return "no examples"
    return str(classification_report(
        true,
        pred,
        labels=list(range(len(label_names))),
        target_names=[str(name) for name in label_names],
        digits=digits,
        zero_division=0,
    ))


def _as_class_indices(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Integer arrays of equal length; 2-D predictions (scores) become their arg-max."""
    true = np.asarray(y_true).reshape(-1).astype(np.int64)
    pred = np.asarray(y_pred)
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    pred = pred.reshape(-1).astype(np.int64)
    if len(true) != len(pred):
        raise ValueError(f"y_true has {len(true)} labels but y_pred has {len(pred)}")
    return true, pred


def _per_class(
    true: np.ndarray, pred: np.ndarray, label_names: Sequence[str]
) -> dict[str, dict[str, float | int]]:
    """{label: {precision, recall, f1, support}} for every class, in label order."""
    classes = list(range(len(label_names)))
    if len(true):
        precision, recall, f1, support = precision_recall_fscore_support(
            true, pred, labels=classes, average=None, zero_division=0
        )
    else:
        precision = recall = f1 = support = np.zeros(len(classes))
    return {
        str(name): {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(label_names)
    }


def _confusion(true: np.ndarray, pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Rows are true classes, columns predicted classes, both in label order."""
    if not len(true):
        return [[0] * n_classes for _ in range(n_classes)]
    matrix = confusion_matrix(true, pred, labels=list(range(n_classes)))
    return [[int(count) for count in row] for row in matrix]


def _macro(true: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """Macro precision, recall and F1 over the classes present in either array."""
    if not len(true):
        return 0.0, 0.0, 0.0
    precision, recall, f1, _ = precision_recall_fscore_support(
        true, pred, average="macro", zero_division=0
    )
    return float(precision), float(recall), float(f1)


def _finite_or_none(value: float | None) -> float | None:
    """The value as a float, or None when missing, NaN or infinite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------
# Metrics of predicted probabilities (test split): calibration, Brier, ranking quality

ECE_BINS = 15


def probability_metrics(y_true: ArrayLike, probs: np.ndarray,
                        n_bins: int = ECE_BINS) -> dict[str, float | None]:
    """``ece``, ``brier``, ``roc_auc`` and ``pr_auc`` (macro one-vs-rest) of ``probs``
    (shape ``(n, n_classes)``, rows summing to 1). An AUC is None when no class has both
    positives and negatives in ``y_true``."""
    true = np.asarray(y_true).reshape(-1).astype(np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if not len(true):
        return {"ece": None, "brier": None, "roc_auc": None, "pr_auc": None}
    return {
        "ece": expected_calibration_error(true, probs, n_bins),
        "brier": brier_score(true, probs),
        "roc_auc": macro_ovr_auc(true, probs, "roc"),
        "pr_auc": macro_ovr_auc(true, probs, "pr"),
    }


def confidence_bin(confidence: np.ndarray, n_bins: int = ECE_BINS) -> np.ndarray:
    """Equal-width bin of each confidence: bin ``b`` holds ``(b/n, (b+1)/n]`` (bin 0 also 0)."""
    bins = np.ceil(np.asarray(confidence, dtype=np.float64) * n_bins).astype(np.int64) - 1
    return np.clip(bins, 0, n_bins - 1)


def reliability_bins(y_true: ArrayLike, probs: np.ndarray,
                     n_bins: int = ECE_BINS) -> list[dict[str, float | int | None]]:
    """Per confidence bin: ``lo``, ``hi``, ``count``, mean ``confidence`` and ``accuracy``
    (None for an empty bin) of the top label: the reliability diagram's data."""
    true = np.asarray(y_true).reshape(-1).astype(np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    confidence = probs.max(axis=1) if len(true) else np.zeros(0)
    correct = (probs.argmax(axis=1) == true) if len(true) else np.zeros(0, dtype=bool)
    bins = confidence_bin(confidence, n_bins)
    counts = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    right_sum = np.bincount(bins, weights=correct.astype(np.float64), minlength=n_bins)
    return [
        {"lo": b / n_bins, "hi": (b + 1) / n_bins, "count": int(counts[b]),
         "confidence": float(conf_sum[b] / counts[b]) if counts[b] else None,
         "accuracy": float(right_sum[b] / counts[b]) if counts[b] else None}
        for b in range(n_bins)
    ]


def expected_calibration_error(y_true: ArrayLike, probs: np.ndarray,
                               n_bins: int = ECE_BINS) -> float:
    """ECE: the count-weighted mean gap between accuracy and confidence over the bins."""
    bins = reliability_bins(y_true, probs, n_bins)
    total = sum(int(b["count"] or 0) for b in bins)
    if not total:
        return 0.0
    gaps = (int(b["count"] or 0) * abs(float(b["accuracy"] or 0) - float(b["confidence"] or 0))
            for b in bins if b["count"])
    return float(sum(gaps) / total)


def brier_score(y_true: ArrayLike, probs: np.ndarray) -> float:
    """scikit-learn's Brier score: for two classes the classic ``mean((p1 - y)^2)``, for
    more the sum over classes of the squared error, averaged over examples."""
    from sklearn.metrics import brier_score_loss

    probs = np.asarray(probs, dtype=np.float64)
    true = np.asarray(y_true).reshape(-1).astype(np.int64)
    labels = list(range(probs.shape[1]))
    if probs.shape[1] == 2:
        return float(brier_score_loss(true, probs[:, 1], pos_label=1))
    return float(brier_score_loss(true, probs, labels=labels))


def macro_ovr_auc(y_true: ArrayLike, probs: np.ndarray, curve: str,
                  sample_weight: np.ndarray | None = None) -> float | None:
    """Macro one-vs-rest ROC-AUC (``curve="roc"``) or PR-AUC as average precision
    (``"pr"``) over the classes that have both positives and negatives."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    score = roc_auc_score if curve == "roc" else average_precision_score
    true = np.asarray(y_true).reshape(-1).astype(np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    present = true if sample_weight is None else true[sample_weight > 0]
    values = [float(score(true == c, probs[:, c], sample_weight=sample_weight))
              for c in range(probs.shape[1]) if 0 < np.sum(present == c) < len(present)]
    return float(np.mean(values)) if values else None
