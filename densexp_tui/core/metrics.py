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
