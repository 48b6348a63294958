"""Ensembles: averaged test probabilities saved as a run of kind ensemble."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from densexp_tui.cli import main
from densexp_tui.core.ensemble import ENSEMBLE_KIND, make_ensemble, metrics_of
from densexp_tui.core.predictions import PREDICTIONS_FILE, read_predictions
from densexp_tui.core.runstore import RunStore
from densexp_tui.core.significance import metric_value
from tests.unit.ensemble_runs import finished_run, random_probs, true_labels

pytestmark = pytest.mark.timeout(60)

N = 60


def test_an_ensemble_of_identical_runs_equals_each_member(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    probs, true = random_probs(N, 3, seed=1), true_labels(N)
    ids = [finished_run(store, f"same{i}", probs, true) for i in range(3)]
    result = make_ensemble(store, ids)
    member = read_predictions(store.run_dir(ids[0]) / PREDICTIONS_FILE)
    ensemble = read_predictions(result.run_dir / PREDICTIONS_FILE)
    np.testing.assert_allclose(ensemble.probs, member.probs, atol=1e-12)
    assert np.array_equal(ensemble.pred, member.pred)
    for key in ("accuracy", "f1", "precision", "recall", "loss", "ece", "brier", "roc_auc"):
        assert result.test[key] == pytest.approx(metrics_of(member)[key])
    assert result.comparison.diff == pytest.approx(0.0)


def test_the_metrics_are_those_of_the_members_mean_probabilities(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    true = true_labels(N)
    member_probs = [random_probs(N, 3, seed=s) for s in (1, 2, 3)]
    ids = [finished_run(store, f"m{i}", p, true) for i, p in enumerate(member_probs)]
    result = make_ensemble(store, ids)
    files = [read_predictions(store.run_dir(i) / PREDICTIONS_FILE) for i in ids]
    mean = np.mean([f.probs for f in files], axis=0)
    expected_pred = mean.argmax(axis=1)
    assert result.test["accuracy"] == pytest.approx(float(np.mean(expected_pred == true)))
    saved = read_predictions(result.run_dir / PREDICTIONS_FILE)
    for name in ("f1", "ece", "brier", "roc_auc", "pr_auc", "loss"):
        assert result.test[name] == pytest.approx(metric_value(saved, name), rel=1e-9)
    assert result.test["loss"] == pytest.approx(
        float(np.mean(-np.log(mean[np.arange(N), true]))))


def test_the_ensemble_is_a_run_that_lists_shows_and_compares(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    runs = tmp_path / "runs"
    store = RunStore(runs)
    true = true_labels(N)
    ids = [finished_run(store, f"m{i}", random_probs(N, 3, seed=s), true)
           for i, s in enumerate((4, 5, 6))]
    assert main(["ensemble", *ids, "--json", "--runs-dir", str(runs)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"run_id", "members", "test", "best_member"}
    assert out["members"] == ids and out["best_member"]["run_id"] in ids
    assert set(out["best_member"]["test"]) >= {"accuracy", "f1", "ece"}
    summary = store.read_summary(out["run_id"])
    assert (summary.kind, summary.members, summary.status) == (ENSEMBLE_KIND, ids, "completed")
    assert summary.config_hash == ""  # sweeps reuse results by config hash: never this one
    run_dir = store.run_dir(out["run_id"])
    assert not (run_dir / "checkpoints").exists()
    kinds = [json.loads(line)["kind"] for line in (run_dir / "events.jsonl").open()]
    assert kinds == ["run_started", "test", "status", "run_finished"]
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    assert out["run_id"] in capsys.readouterr().out
    assert main(["show", out["run_id"], "--runs-dir", str(runs)]) == 0
    capsys.readouterr()
    assert main(["compare", ids[0], out["run_id"], "--json", "--runs-dir", str(runs)]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == N


def test_sweep_top_k_takes_the_best_trials(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    store = RunStore(runs)
    true = true_labels(N)
    ids = [finished_run(store, f"t{i}", random_probs(N, 3, seed=i), true, sweep="s1",
                        val_f1=f1) for i, f1 in enumerate((0.4, 0.9, 0.7, 0.2))]
    assert main(["ensemble", "--sweep", "s1", "--top", "2", "--json",
                 "--runs-dir", str(runs)]) == 0
    assert json.loads(capsys.readouterr().out)["members"] == [ids[1], ids[2]]
