"""classification_metrics / classification_report_text: the numbers the dashboard shows."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from densexp_tui.core.metrics import classification_metrics, classification_report_text

LABELS = ["cat", "dog", "eel"]


def test_reports_accuracy_macro_scores_per_class_and_confusion_in_label_order():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    metrics = classification_metrics(y_true, y_pred, LABELS, loss=0.5)

    assert metrics["loss"] == 0.5
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["labels"] == LABELS
    assert metrics["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert list(metrics["per_class"]) == LABELS
    assert metrics["per_class"]["dog"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    per_class_f1 = [metrics["per_class"][name]["f1"] for name in LABELS]
    assert metrics["f1"] == pytest.approx(sum(per_class_f1) / 3)


def test_result_is_plain_json():
    y_true, y_pred = np.array([0, 1, 2]), np.array([0, 1, 1])
    metrics = classification_metrics(y_true, y_pred, LABELS, loss=np.float32(0.25))
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics
    assert type(metrics["loss"]) is float
    assert type(metrics["confusion"][0][0]) is int
    assert type(metrics["per_class"]["cat"]["support"]) is int


def test_scores_are_turned_into_predictions_by_argmax():
    scores = np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7]])
    metrics = classification_metrics([0, 2], scores, LABELS)
    assert metrics["accuracy"] == 1.0
    assert metrics["loss"] is None


def test_a_class_absent_from_the_split_keeps_its_row_and_does_not_sink_macro_f1():
    metrics = classification_metrics([0, 1, 0, 1], [0, 1, 0, 1], LABELS)
    assert metrics["f1"] == 1.0
    assert metrics["per_class"]["eel"]["support"] == 0
    assert metrics["confusion"][2] == [0, 0, 0]


def test_nan_loss_becomes_null_so_the_event_log_stays_valid_json():
    metrics = classification_metrics([0, 1], [0, 1], LABELS, loss=math.nan)
    assert metrics["loss"] is None


def test_empty_split_gives_zeros_not_an_error():
    metrics = classification_metrics([], [], LABELS)
    assert metrics["accuracy"] == 0.0
    assert metrics["confusion"] == [[0, 0, 0]] * 3


def test_mismatched_lengths_are_a_programming_error():
    with pytest.raises(ValueError):
        classification_metrics([0, 1], [0], LABELS)


def test_report_text_names_every_class():
    report = classification_report_text([0, 1, 2, 2], [0, 1, 2, 1], LABELS)
    for name in [*LABELS, "accuracy", "macro avg"]:
        assert name in report


# --- probability metrics (test split): hand-computed on small fixed predictions ---------

from densexp_tui.core.metrics import (
    probability_metrics,
    reliability_bins,
)


def test_ece_brier_and_aucs_match_hand_computed_values():
    # two classes; confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.7 (right)
    y_true = [1, 0, 0, 1]
    probs = np.array([[0.1, 0.9], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    got = probability_metrics(y_true, probs)
    # 15 bins: 0.9 -> (0.8667, 0.9333]; 0.8 -> (0.7333, 0.8]; 0.7 and 0.6 in their own bins
    # ECE = (|1-0.9| + |0-0.8| + |1-0.6| + |1-0.7|) / 4 = 1.6 / 4
    assert got["ece"] == pytest.approx(0.4)
    # Brier on the positive class: ((0.9-1)^2 + 0.8^2 + 0.4^2 + (0.7-1)^2) / 4
    assert got["brier"] == pytest.approx((0.01 + 0.64 + 0.16 + 0.09) / 4)
    # ROC-AUC for class 1: positives score 0.9, 0.7; negatives 0.8, 0.4 -> 3 of 4 pairs
    assert got["roc_auc"] == pytest.approx(0.75)
    # AP class 1 (desc 0.9+, 0.8-, 0.7+, 0.4-): 1/2*1 + 1/2*2/3 = 5/6
    # AP class 0 (scores 0.6+, 0.3-, 0.2+, 0.1-): 1/2*1 + 1/2*2/3 = 5/6
    assert got["pr_auc"] == pytest.approx(5 / 6)


def test_three_class_brier_sums_over_classes_and_auc_is_macro_one_vs_rest():
    y_true = [0, 1, 2]
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    got = probability_metrics(y_true, probs)
    assert got["brier"] == pytest.approx(((0.04 + 0.01 + 0.01) + (0.04 + 0.09 + 0.01)
                                          + (0.01 + 0.01 + 0.04)) / 3)
    assert got["roc_auc"] == 1.0 and got["pr_auc"] == 1.0


def test_reliability_bins_hold_counts_confidence_and_accuracy():
    bins = reliability_bins([1, 0, 0, 1], np.array([[0.1, 0.9], [0.2, 0.8], [0.6, 0.4],
                                                    [0.15, 0.85]]))
    assert len(bins) == 15
    top = bins[13]  # (13/15, 14/15] holds 0.9; 0.85 is in bin 12, (12/15, 13/15]
    assert top["count"] == 1 and top["accuracy"] == 1.0
    assert bins[12]["count"] == 1 and bins[12]["confidence"] == pytest.approx(0.85)
    assert sum(b["count"] for b in bins) == 4
    assert bins[0]["count"] == 0 and bins[0]["accuracy"] is None


def test_aucs_are_none_when_the_split_has_one_class():
    got = probability_metrics([1, 1], np.array([[0.2, 0.8], [0.4, 0.6]]))
    assert got["roc_auc"] is None and got["pr_auc"] is None
