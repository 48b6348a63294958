"""Paired and group comparisons against scipy's own numbers on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from densexp_tui.core.errors import BadInput
from densexp_tui.core.metrics import classification_metrics, probability_metrics
from densexp_tui.core.predictions import Predictions, predictions_from_arrays
from densexp_tui.core.significance import (
    _statistic,
    describe,
    group_comparison,
    metric_value,
    paired_comparison,
)

pytestmark = pytest.mark.timeout(60)
LABELS = ("a", "b", "c")


def _run(seed: int, n: int = 300, skill: float = 2.0) -> Predictions:
    rng = np.random.default_rng(seed)
    true = np.arange(n) % 3
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), true] += skill
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return predictions_from_arrays(LABELS, true, probs)


def _fixing(base: Predictions, k: int) -> Predictions:
    """``base`` with its first k errors put right (and nothing else changed)."""
    probs = base.probs.copy()
    wrong = np.flatnonzero(~base.correct)[:k]
    probs[wrong] = np.eye(3)[base.true[wrong]] * 0.98 + 0.01 / 1.5
    probs /= probs.sum(axis=1, keepdims=True)
    return predictions_from_arrays(LABELS, base.true, probs)


@pytest.mark.parametrize("metric", ["accuracy", "f1", "precision", "recall", "loss", "ece",
                                    "brier", "roc_auc", "pr_auc"])
def test_identical_runs_differ_by_zero_with_p_one(metric: str):
    run = _run(1)
    result = paired_comparison(run, run, metric, n_resamples=200)
    assert result.diff == 0
    assert result.ci95[0] <= 0 <= result.ci95[1]
    assert result.p_value == 1.0
    assert result.n == 300
    assert "no detectable difference" in result.sentence


@pytest.mark.parametrize("k", [1, 3, 8])
def test_a_run_that_fixes_exactly_k_errors_gets_the_exact_binomial_p(k: int):
    base = _run(2)
    result = paired_comparison(base, _fixing(base, k), "accuracy", n_resamples=200)
    assert result.p_value == pytest.approx(stats.binomtest(k, k, 0.5).pvalue)
    assert result.p_value == pytest.approx(2 * 0.5 ** k)
    assert result.diff == pytest.approx(k / 300)
    assert "McNemar" in result.test


def test_mcnemar_counts_only_the_discordant_examples():
    base = _run(3)
    fixed = _fixing(base, 10)
    probs = fixed.probs.copy()
    right = np.flatnonzero(base.correct)[:4]  # B now breaks 4 that A got right
    probs[right] = np.roll(np.eye(3)[base.true[right]], 1, axis=1) * 0.9 + 0.05
    broken = predictions_from_arrays(LABELS, base.true, probs / probs.sum(1, keepdims=True))
    result = paired_comparison(base, broken, "accuracy", n_resamples=200)
    assert result.p_value == pytest.approx(stats.binomtest(10, 14, 0.5).pvalue)


@pytest.mark.parametrize("metric", ["accuracy", "f1", "precision", "recall", "ece", "brier",
                                    "loss"])
def test_vectorised_statistics_agree_with_scikit_learn_on_the_full_sample(metric: str):
    run = _run(4, skill=0.8)
    full = np.arange(len(run))[None]
    assert _statistic(run, metric)(full)[0] == pytest.approx(metric_value(run, metric))


def test_metric_values_are_the_reported_test_metrics():
    run = _run(5)
    reported = classification_metrics(run.true, run.pred, LABELS)
    assert metric_value(run, "f1") == pytest.approx(reported["f1"])
    assert metric_value(run, "ece") == pytest.approx(probability_metrics(run.true,
                                                                          run.probs)["ece"])


def test_a_clearly_better_run_is_called_better_with_a_ci_above_zero():
    weak, strong = _run(6, n=600, skill=0.5), _run(6, n=600, skill=3.0)
    result = paired_comparison(weak, strong, "test.f1")
    assert result.metric == "test.f1"
    assert 0 < result.ci95[0] < result.diff < result.ci95[1]
    assert result.p_value < 0.01
    assert result.sentence.startswith("B is better by ")
    assert "F1 points, 95% CI" in result.sentence
    # the other way round, B is worse by the same amount
    assert paired_comparison(strong, weak, "f1").sentence.startswith("B is worse by ")


def test_lower_is_better_metrics_call_a_drop_better():
    weak, strong = _run(7, n=600, skill=0.5), _run(7, n=600, skill=3.0)
    assert paired_comparison(weak, strong, "loss").sentence.startswith("B is better by")


def test_different_splits_and_label_sets_are_refused():
    with pytest.raises(BadInput, match="different test splits.*data.split_seed"):
        paired_comparison(_run(1, n=300), _run(1, n=301), "f1")
    other = _run(1)
    renamed = Predictions(other.rows, ("a", "b", "z"), other.true, other.pred, other.probs)
    with pytest.raises(BadInput, match="different label sets"):
        paired_comparison(_run(1), renamed, "f1")
    with pytest.raises(BadInput, match="unknown metric 'test.f2'"):
        paired_comparison(_run(1), _run(1), "test.f2")


def test_the_same_labels_in_another_order_are_aligned():
    run = _run(8)
    order = [2, 0, 1]
    remap = np.argsort(order)
    shuffled = Predictions(run.rows, tuple(LABELS[i] for i in order), remap[run.true],
                           remap[run.pred], run.probs[:, order])
    assert paired_comparison(run, shuffled, "f1", n_resamples=100).diff == pytest.approx(0)


def test_groups_use_welchs_t_test_from_scipy():
    a, b = [0.70, 0.72, 0.69], [0.80, 0.78, 0.83]
    result = group_comparison(a, b, "test.accuracy")
    expected = stats.ttest_ind(b, a, equal_var=False)
    assert result.p_value == pytest.approx(expected.pvalue)
    low, high = expected.confidence_interval(0.95)
    assert result.ci95 == (pytest.approx(low), pytest.approx(high))
    assert result.diff == pytest.approx(np.mean(b) - np.mean(a))
    assert result.n == 6 and "Welch" in result.test and "3 + 3 seeds" in result.test


def test_identical_groups_have_no_detectable_difference():
    result = group_comparison([0.5, 0.5], [0.5, 0.5], "f1")
    assert result.diff == 0 and result.p_value == 1.0
    assert "no detectable difference" in describe(result)


def test_one_seed_is_not_a_group():
    with pytest.raises(BadInput, match="at least 2"):
        group_comparison([0.5], [0.6, 0.7], "f1")


def test_sentence_reads_like_the_issue_asks():
    from densexp_tui.core.significance import Comparison

    result = Comparison("test.f1", 0.70, 0.721, 0.021, (0.004, 0.038), 0.01, 500, "x")
    assert result.sentence == "B is better by 2.1 F1 points, 95% CI 0.4 to 3.8; p = 0.01"
    json_out = result.to_json()
    assert set(json_out) >= {"metric", "a", "b", "diff", "ci95", "p_value", "n", "test"}


@pytest.mark.parametrize("metric", ["roc_auc", "pr_auc"])
def test_vectorised_aucs_agree_with_scikit_learn_also_on_a_resample_with_ties(metric: str):
    from densexp_tui.core.metrics import macro_ovr_auc

    run = _run(9, n=200, skill=0.7)
    probs = np.round(run.probs, 1)  # many ties
    probs /= probs.sum(axis=1, keepdims=True)
    tied = predictions_from_arrays(LABELS, run.true, probs)
    idx = np.random.default_rng(0).integers(0, 200, size=(3, 200))
    got = _statistic(tied, metric)(idx)
    curve = "roc" if metric == "roc_auc" else "pr"
    for row, value in zip(idx, got, strict=True):
        weight = np.bincount(row, minlength=200).astype(float)
        assert value == pytest.approx(macro_ovr_auc(tied.true, tied.probs, curve, weight))
