"""The misclassified test examples of a run, for the Errors view and `show --errors`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from densexp_tui.core.predictions import Predictions


@dataclass(frozen=True)
class ErrorRow:
    """One wrong prediction: where it is, what it says, and how sure the model was."""

    row: int
    true: str
    pred: str
    confidence: float  # probability of the (wrong) predicted label
    text: str | None


def misclassified(preds: Predictions, *, true: str | None = None, pred: str | None = None,
                  most_confident_first: bool = True, limit: int | None = None) -> list[ErrorRow]:
    """Rows where pred != label, optionally only one confusion-matrix cell (``true`` and/or
    ``pred`` label names), sorted by confidence (most confidently wrong first by default;
    ties keep file order)."""
    mask = preds.true != preds.pred
    if true is not None:
        mask &= preds.true == preds.label_names.index(true)
    if pred is not None:
        mask &= preds.pred == preds.label_names.index(pred)
    picked = np.flatnonzero(mask)
    confidence = preds.confidence[picked]
    order = np.argsort(-confidence if most_confident_first else confidence, kind="stable")
    if limit is not None:
        order = order[:limit]
    names = preds.label_names
    return [ErrorRow(int(preds.rows[i]), names[preds.true[i]], names[preds.pred[i]],
                     float(preds.confidence[i]),
                     preds.texts[i] if preds.texts is not None else None)
            for i in picked[order]]


def error_count(preds: Predictions) -> int:
    return int(np.sum(preds.true != preds.pred))
