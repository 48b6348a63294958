"""Test-split scoring that keeps what it saw: METRICS plus ``predictions/test.jsonl``.

The trainer calls :func:`score_test_split` on the best checkpoint's weights (the ones the
test metrics come from); ``densexp evaluate RUN`` calls :func:`evaluate_run` to do the same
for a finished run that predates the predictions file (engine/rescore.py). A leaf module:
it imports nothing from the engine, so the trainer can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from densexp_tui.core.metrics import (
    classification_metrics,
    classification_report_text,
    probability_metrics,
)
from densexp_tui.core.predictions import (
    PREDICTIONS_FILE,
    predictions_from_arrays,
    softmax,
    write_predictions,
)


class SplitLike(Protocol):
    """What the trainer's SplitInputs offers: a pipeline in row order and the labels."""

    pipeline: Any
    labels: np.ndarray
    names: list[str]


def score_test_split(model: Any, split: SplitLike, texts: Sequence[str] | None,
                     run_dir: Path) -> dict[str, Any] | None:
    """Test METRICS (with ece, brier, roc_auc, pr_auc and the text report) of ``model``, and
    its predictions written to ``run_dir/predictions/test.jsonl``. None for an empty split."""
    if len(split.labels) == 0:
        return None
    logits = predict_logits(model, split.pipeline)
    return metrics_and_predictions(logits, np.asarray(split.labels), split.names, texts,
                                   run_dir)


def metrics_and_predictions(logits: np.ndarray, labels: np.ndarray, names: Sequence[str],
                            texts: Sequence[str] | None, run_dir: Path) -> dict[str, Any]:
    """The NumPy half of :func:`score_test_split` (no model): what the < 1 s budget covers."""
    probs = softmax(logits)
    metrics = classification_metrics(labels, logits, names, loss=cross_entropy(logits, labels))
    metrics.update(probability_metrics(labels, probs))
    metrics["report"] = classification_report_text(labels, logits, names)
    write_predictions(run_dir / PREDICTIONS_FILE,
                      predictions_from_arrays(names, labels, probs, texts=texts))
    return metrics


def predict_logits(model: Any, pipeline: Any) -> np.ndarray:
    """Logits of every batch of ``pipeline``, in order, as float64."""
    outputs = model.predict(pipeline, verbose=0)
    raw = outputs["logits"] if isinstance(outputs, dict) else getattr(outputs, "logits", outputs)
    return np.asarray(raw, dtype=np.float64)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean sparse cross-entropy from logits (the training loss), in NumPy."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    picked = shifted[np.arange(len(labels)), labels]
    return float(np.mean(log_norm - picked))
