"""A copy of the fixed quickstart run with test predictions that match its test confusion
matrix (seeded, so the Calibration and Errors snapshots are the same every time)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np

from densexp_tui.core.predictions import (
    PREDICTIONS_FILE,
    predictions_from_arrays,
    write_predictions,
)
from tests.tui.helpers_dashboard import DATA_RUNS, QUICKSTART

WORDS = ("the plot was slow but the acting carried it and the ending surprised me "
         "a quiet film about a family that never quite says what it means").split()
QUICKSTART_CONFUSION = [[96, 16, 8], [24, 83, 13], [14, 7, 99]]
LABELS = ("negative", "neutral", "positive")


def quickstart_with_predictions(runs_dir: Path) -> str:
    """Copy the fixed quickstart run into ``runs_dir`` and give it predictions/test.jsonl."""
    run_dir = runs_dir / QUICKSTART.run_id
    shutil.copytree(DATA_RUNS / QUICKSTART.run_id, run_dir)
    rng = np.random.default_rng(5)
    words = random.Random(5)
    true, pred, texts = [], [], []
    for t, row in enumerate(QUICKSTART_CONFUSION):
        for p, count in enumerate(row):
            true += [t] * count
            pred += [p] * count
    order = rng.permutation(len(true))
    true_arr, pred_arr = np.asarray(true)[order], np.asarray(pred)[order]
    confidence = np.where(true_arr == pred_arr, rng.uniform(0.5, 0.99, len(order)),
                          rng.uniform(0.36, 0.9, len(order)))
    probs = np.empty((len(order), 3))
    for i, (p, c) in enumerate(zip(pred_arr, confidence, strict=True)):
        rest = rng.dirichlet([1.0, 1.0]) * (1 - c)
        probs[i] = np.insert(rest, p, c)
        # the top label must stay the predicted one
        if probs[i].argmax() != p:
            probs[i] = np.full(3, (1 - 0.5) / 2)
            probs[i][p] = 0.5
    for _ in order:
        texts.append(" ".join(words.choice(WORDS) for _ in range(words.randint(6, 40))))
    preds = predictions_from_arrays(LABELS, true_arr, probs, texts=texts)
    assert (preds.pred == pred_arr).all()
    write_predictions(run_dir / PREDICTIONS_FILE, preds)
    return QUICKSTART.run_id
