"""predictions/test.jsonl: written atomically, read strictly (bad files are one-line BadInput)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from densexp_tui.core.errors import BadInput
from densexp_tui.core.predictions import (
    predictions_from_arrays,
    read_predictions,
    run_label_names,
    write_predictions,
)

pytestmark = pytest.mark.timeout(30)
LABELS = ("neg", "pos")


def _preds(texts: list[str] | None = None):
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
    return predictions_from_arrays(LABELS, [0, 1, 1], probs, texts=texts)


def test_round_trip_keeps_rows_labels_probs_and_texts(tmp_path: Path):
    path = write_predictions(tmp_path / "predictions" / "test.jsonl", _preds(["a", "b", "c"]))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[2] == {"row": 2, "label": "pos", "pred": "neg", "probs": [0.6, 0.4],
                        "text": "c"}
    back = read_predictions(path, LABELS)
    assert back.label_names == LABELS
    assert back.rows.tolist() == [0, 1, 2]
    assert back.true.tolist() == [0, 1, 1] and back.pred.tolist() == [0, 1, 0]
    np.testing.assert_allclose(back.probs, _preds().probs)
    assert back.texts == ["a", "b", "c"]
    assert back.correct.tolist() == [True, True, False]
    np.testing.assert_allclose(back.confidence, [0.9, 0.7, 0.6])
    assert not list(path.parent.glob(".test-*"))  # no temp file left behind


def test_tabular_rows_have_no_text(tmp_path: Path):
    path = write_predictions(tmp_path / "test.jsonl", _preds())
    assert read_predictions(path, LABELS).texts is None


def test_label_order_comes_from_the_runs_run_started_event(tmp_path: Path):
    run = tmp_path / "run"
    path = write_predictions(run / "predictions" / "test.jsonl", _preds())
    (run / "events.jsonl").write_text(
        json.dumps({"v": 1, "seq": 0, "time": 0, "kind": "run_started", "labels": ["neg", "pos"]})
        + "\n")
    assert run_label_names(path) == LABELS
    assert read_predictions(path).pred.tolist() == [0, 1, 0]


@pytest.mark.parametrize("line, problem", [
    ("not json", "line 2 is not JSON"),
    ('{"row": "x", "label": "neg", "pred": "neg", "probs": [1, 0]}', "row must be an integer"),
    ('{"row": 1, "label": "cat", "pred": "neg", "probs": [1, 0]}', "'cat' is not one of"),
    ('{"row": 1, "label": "neg", "pred": "neg", "probs": [1]}', "list of 2 numbers"),
    ('{"row": 1, "label": "neg", "pred": "neg", "probs": [0.9, 0.9]}', "summing to 1"),
    ('{"row": 1, "label": "neg", "pred": "neg", "probs": [NaN, 0]}', "summing to 1"),
])
def test_a_bad_line_is_one_line_naming_file_and_line(tmp_path: Path, line: str, problem: str):
    path = tmp_path / "test.jsonl"
    good = '{"row": 0, "label": "neg", "pred": "neg", "probs": [1.0, 0.0]}'
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(BadInput) as err:
        read_predictions(path, LABELS)
    assert problem in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file_says_how_to_make_it(tmp_path: Path):
    with pytest.raises(BadInput, match="densexp evaluate RUN"):
        read_predictions(tmp_path / "nope.jsonl", LABELS)


def test_unknown_label_order_is_bad_input(tmp_path: Path):
    path = write_predictions(tmp_path / "predictions" / "test.jsonl", _preds())
    with pytest.raises(BadInput, match="label order"):
        read_predictions(path)
