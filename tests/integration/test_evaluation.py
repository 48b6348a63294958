"""A real tiny run keeps its test predictions; evaluate, compare and show --errors use them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from densexp_tui.cli import main
from densexp_tui.core.events import read_events
from densexp_tui.core.predictions import PREDICTIONS_FILE, read_predictions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def text_run(small_text_run: Path) -> Path:
    """tiny-bert, 300 reviews, 1 epoch: a copy of the session's run (tests/conftest.py)."""
    return small_text_run


def _test_event(run_dir: Path) -> dict:
    return [e.data for e in read_events(run_dir / "events.jsonl").events if e.kind == "test"][-1]


def test_the_trainer_writes_predictions_that_match_its_test_metrics(text_run: Path,
                                                                    capsys, runs_dir: Path):
    preds = read_predictions(text_run / PREDICTIONS_FILE)
    test = _test_event(text_run)
    assert len(preds) == sum(sum(row) for row in test["confusion"])
    assert preds.texts is not None and all(preds.texts)
    assert float(np.mean(preds.correct)) == pytest.approx(test["accuracy"])
    for key in ("ece", "brier", "roc_auc", "pr_auc"):
        assert isinstance(test[key], float), key
    assert 0 <= test["ece"] <= 1

    # show --errors lists exactly the rows where pred != label, most confidently wrong first
    lines = [json.loads(line) for line in (text_run / PREDICTIONS_FILE).read_text().splitlines()]
    wrong = {line["row"] for line in lines if line["pred"] != line["label"]}
    assert wrong, "one epoch on 300 reviews should leave some errors to list"
    assert main(["show", text_run.name, "--errors", "--limit", "0", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {item["row"] for item in listed} == wrong and len(listed) == len(wrong)
    confidences = [item["confidence"] for item in listed]
    assert confidences == sorted(confidences, reverse=True)


def _twin(run_dir: Path) -> Path:
    """A copy of the run under another id (compare refuses a run against itself): its
    predictions are the original ones."""
    suffix = "5e7147" if run_dir.name.endswith("7417e5") else "7417e5"
    twin = run_dir.parent / (run_dir.name[:-6] + suffix)
    shutil.copytree(run_dir, twin)
    summary = json.loads((twin / "summary.json").read_text())
    summary["run_id"] = twin.name
    (twin / "summary.json").write_text(json.dumps(summary))
    return twin


def test_evaluate_rebuilds_the_predictions_of_an_older_run(text_run: Path, capsys):
    original = read_predictions(text_run / PREDICTIONS_FILE)
    twin = _twin(text_run)
    (text_run / PREDICTIONS_FILE).unlink()
    assert main(["compare", text_run.name, twin.name]) == 2
    err = capsys.readouterr().err
    assert f"densexp evaluate {text_run.name}" in err and len(err.strip().splitlines()) == 1

    assert main(["evaluate", text_run.name]) == 0
    again = read_predictions(text_run / PREDICTIONS_FILE)
    assert again.rows.tolist() == original.rows.tolist()
    assert again.pred.tolist() == original.pred.tolist()
    np.testing.assert_allclose(again.probs, original.probs, atol=1e-5)
    assert _test_event(text_run)["rescored"] is True

    capsys.readouterr()  # the rebuilt predictions against the twin's, i.e. the original ones
    assert main(["compare", text_run.name, twin.name, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["diff"] == 0 and out["p_value"] == 1.0 and out["n"] == len(original)


def test_evaluate_refuses_a_running_or_unknown_run(runs_dir: Path, capsys):
    assert main(["evaluate", "no-such-run"]) == 2
    assert "no run matches" in capsys.readouterr().err
