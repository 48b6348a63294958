"""Test-split scoring that keeps what it saw: METRICS plus ``predictions/test.jsonl``.

The trainer calls :func:`score_test_split` on the best checkpoint's weights (the ones the
test metrics come from); ``densexp evaluate RUN`` calls :func:`evaluate_run` to do the same
for a finished run that predates the predictions file. TensorFlow is imported lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from densexp_tui.core.errors import RunStoreError
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

if TYPE_CHECKING:
    from densexp_tui.core.runstore import RunStore

FINISHED_STATUSES = ("completed", "cancelled", "diverged", "failed", "interrupted")


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


# ---------------------------------------------------------------------------------------
# densexp evaluate RUN


@dataclass
class EvaluateResult:
    run_id: str
    run_dir: Path
    test: dict[str, Any]
    predictions: Path


def evaluate_run(run_ref: str, store: RunStore) -> EvaluateResult:
    """Re-score a finished run's best checkpoint on its test split: a ``test`` event (marked
    ``rescored``) and predictions/test.jsonl. BadInput for an unknown, running or
    checkpoint-less run, before anything is written."""
    from densexp_tui.core.events import EventWriter
    from densexp_tui.engine.logcapture import capture_library_output

    summary = store.get(run_ref)
    run_dir = store.run_dir(summary.run_id)
    _check_evaluable(summary.status, run_dir)
    with capture_library_output(run_dir / "log.txt"):
        test = _score_saved_run(run_dir)
    with EventWriter(run_dir / "events.jsonl") as events:
        events.append("test", rescored=True, **test)
    return EvaluateResult(summary.run_id, run_dir, test, run_dir / PREDICTIONS_FILE)


def _check_evaluable(status: str, run_dir: Path) -> None:
    if status not in FINISHED_STATUSES:
        raise RunStoreError(f"the run is {status}; allowed: a finished run "
                            f"({', '.join(FINISHED_STATUSES)})", file=run_dir)
    checkpoints = run_dir / "checkpoints"
    if not any(checkpoints.glob("*.weights.h5")) and not (run_dir / "adapters.npz").is_file():
        raise RunStoreError("the run has no checkpoint to score (it never finished an "
                            "epoch); allowed: a run with checkpoints/best.weights.h5",
                            file=run_dir)


def _score_saved_run(run_dir: Path) -> dict[str, Any]:
    """Rebuild data, split and best weights as the run had them, then score the test split."""
    from densexp_tui.core.config import load_config, resolve_paths
    from densexp_tui.engine.data import load_dataset, split_dataset
    from densexp_tui.engine.models import load_trained_model
    from densexp_tui.engine.trainer import Prepared, _inputs

    cfg = resolve_paths(load_config(run_dir / "config.toml"))
    dataset = load_dataset(cfg.data, cfg.base_dir, seed=cfg.run.seed)
    splits = split_dataset(dataset, cfg.data.val_fraction, cfg.data.test_fraction, cfg.run.seed)
    built = load_trained_model(run_dir, "best")
    # The trainer's own pipeline builder, so the rows go through exactly what training used.
    prepared = Prepared(cfg, None, splits, built, "cpu")  # type: ignore[arg-type]
    test = score_test_split(built.model, _inputs(prepared, "test"), splits.test.texts, run_dir)
    if test is None:
        raise RunStoreError("the run's test split is empty (data.test_fraction = 0); "
                            "allowed: a run with test examples", file=run_dir)
    return test
