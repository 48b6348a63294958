"""Finished runs with test predictions, written the way the trainer writes them (no TF)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.predictions import (
    PREDICTIONS_FILE,
    predictions_from_arrays,
    write_predictions,
)
from densexp_tui.core.runstore import RunStore

LABELS = ("negative", "neutral", "positive")


def finished_run(store: RunStore, name: str, probs: np.ndarray, true: Sequence[int],
                 labels: Sequence[str] = LABELS, rows: Sequence[int] | None = None,
                 sweep: str = "", val_f1: float = 0.5,
                 overrides: Sequence[str] = ()) -> str:
    """A completed run whose predictions/test.jsonl holds ``probs``; returns its id."""
    named = [f"run.name={name}", f"run.sweep={sweep}"] if sweep else [f"run.name={name}"]
    cfg = apply_overrides(RunConfig(), [*named, *overrides])
    handle = store.create_run(cfg)
    handle.events.append("run_started", run_id=handle.run_id, labels=list(labels))
    write_predictions(handle.dir / PREDICTIONS_FILE,
                      predictions_from_arrays(labels, true, probs, rows=rows,
                                              texts=[f"text {i}" for i in range(len(true))]))
    handle.close()
    handle.update_summary(status="completed", pid=None, best={"f1": val_f1})
    return handle.run_id


def random_probs(n: int, n_classes: int, seed: int) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(n, n_classes)) * 2
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def true_labels(n: int, seed: int = 0) -> list[int]:
    return [int(v) for v in np.random.default_rng(seed).integers(0, len(LABELS), size=n)]


__all__ = ["LABELS", "finished_run", "random_probs", "true_labels"]
