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
