"""Is B really better than A? Paired tests on one test split, and tests over seed groups.

Two runs tested on the same examples are compared example by example: the 95% CI of the
difference ``B - A`` comes from a paired bootstrap over test examples
(``scipy.stats.bootstrap`` resampling example indices, so both runs see the same resample),
the p-value from an exact McNemar test (``scipy.stats.binomtest`` on the examples exactly
one run gets right) for accuracy, and from the same bootstrap shifted to the null for the
other metrics. Two groups of runs (seeds) are compared with the seeds as samples: Welch's
t-test, which does not assume equal spread and is exact for normal data however few seeds.

The bootstrap evaluates every metric on thousands of resamples, so the statistics here are
vectorised NumPy on confusion counts; they agree with core/metrics.py (scikit-learn) on the
full sample, which the tests check.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from densexp_tui.core import metrics as metric_fns
from densexp_tui.core.errors import BadInput
from densexp_tui.core.predictions import Predictions

HIGHER_IS_BETTER = {"accuracy": True, "precision": True, "recall": True, "f1": True,
                    "roc_auc": True, "pr_auc": True, "loss": False, "ece": False,
                    "brier": False}
DISPLAY_NAMES = {"accuracy": "accuracy", "precision": "precision", "recall": "recall",
                 "f1": "F1", "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "loss": "loss",
                 "ece": "ECE", "brier": "Brier score"}
# Shares in [0, 1] read as points (x100); loss and Brier are shown in their own units.
IN_POINTS = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "ece"}
RESAMPLES = 1000  # Efron & Tibshirani: ~1000 for a percentile CI; each costs n gathers
ALPHA = 0.05

Statistic = Callable[[np.ndarray], np.ndarray]  # (resamples, n) indices -> (resamples,)


@dataclass(frozen=True)
class Comparison:
    """B against A on one metric; ``to_json()`` is ``densexp compare --json``'s shape."""

    metric: str  # e.g. "test.f1"
    a: float | None
    b: float | None
    diff: float | None  # b - a
    ci95: tuple[float | None, float | None]
    p_value: float | None
    n: int  # test examples (paired) or seeds (groups, both together)
    test: str  # which test, in words

    @property
    def base_metric(self) -> str:
        return self.metric.split(".", 1)[-1]

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA

    @property
    def sentence(self) -> str:
        """"B is better by 2.1 F1 points, 95% CI 0.4 to 3.8; p = 0.01" or "no detectable
        difference ..."."""
        return describe(self)

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "a": self.a, "b": self.b, "diff": self.diff,
                "ci95": list(self.ci95), "p_value": self.p_value, "n": self.n,
                "test": self.test, "summary": self.sentence}


def metric_name(metric: str) -> str:
    """``test.f1`` or ``f1`` -> ``f1``; BadInput naming the allowed ones otherwise."""
    base = metric.removeprefix("test.")
    if base not in HIGHER_IS_BETTER:
        allowed = ", ".join(f"test.{name}" for name in HIGHER_IS_BETTER)
        raise BadInput(f"unknown metric {metric!r}; allowed: {allowed}", key="--metric")
    return base


# ---------------------------------------------------------------------------------------
# Two runs on the same test split


def paired_comparison(a: Predictions, b: Predictions, metric: str = "f1", *,
                      n_resamples: int | None = None, seed: int = 0) -> Comparison:
    """B - A on ``metric`` over the same test examples (see the module docstring)."""
    from scipy import stats

    name = metric_name(metric)
    b = align_labels(a, b)
    check_same_split(a, b)
    diff_of = _paired_statistic(a, b, name)
    resamples = n_resamples or RESAMPLES
    value_a, value_b = metric_value(a, name), metric_value(b, name)
    diff = None if value_a is None or value_b is None else value_b - value_a
    if diff is None:
        return Comparison(f"test.{name}", value_a, value_b, None, (None, None), None,
                          len(a), f"undefined: {DISPLAY_NAMES[name]} needs both classes")
    result = stats.bootstrap((np.arange(len(a)),), diff_of, n_resamples=resamples,
                             vectorized=True, method="percentile", batch=_batch(len(a)),
                             rng=np.random.default_rng(seed))
    low, high = (float(x) for x in result.confidence_interval)
    if name == "accuracy":
        p_value, test = mcnemar_exact(a.correct, b.correct), "exact McNemar test"
    else:
        p_value = _bootstrap_p(result.bootstrap_distribution, diff)
        test = f"paired bootstrap ({resamples} resamples)"
    return Comparison(f"test.{name}", value_a, value_b, diff, (low, high), p_value, len(a),
                      f"{test}; CI: paired bootstrap over {len(a)} test examples")


def mcnemar_exact(a_correct: np.ndarray, b_correct: np.ndarray) -> float:
    """Exact McNemar p: of the examples exactly one run gets right, is B's share 1/2?"""
    from scipy.stats import binomtest

    b_fixes = int(np.sum(~a_correct & b_correct))
    a_fixes = int(np.sum(a_correct & ~b_correct))
    if b_fixes + a_fixes == 0:
        return 1.0
    return float(binomtest(b_fixes, b_fixes + a_fixes, 0.5).pvalue)


def align_labels(a: Predictions, b: Predictions) -> Predictions:
    """``b`` with its labels in ``a``'s order; BadInput when the label sets differ."""
    if a.label_names == b.label_names:
        return b
    if set(a.label_names) != set(b.label_names):
        raise BadInput(f"the runs have different label sets ({', '.join(a.label_names)} vs "
                       f"{', '.join(b.label_names)}); allowed: runs of the same labels")
    order = [b.label_names.index(name) for name in a.label_names]
    remap = np.argsort(order)  # b's index -> a's index
    return Predictions(b.rows, a.label_names, remap[b.true], remap[b.pred], b.probs[:, order],
                       b.texts, b.source)


def check_same_split(a: Predictions, b: Predictions) -> None:
    """BadInput unless both files hold the same examples with the same true labels."""
    same = (len(a) == len(b) and np.array_equal(a.rows, b.rows)
            and np.array_equal(a.true, b.true)
            and (a.texts is None or b.texts is None or a.texts == b.texts))
    if not same:
        raise BadInput(f"the runs were tested on different test splits ({len(a)} vs {len(b)} "
                       "examples, or other rows or labels), so no paired test is possible; "
                       "allowed: runs with the same data settings and split seed (set "
                       "data.split_seed to share one split across run seeds), or groups")


def metric_value(preds: Predictions, name: str) -> float | None:
    """``name`` on the full test split, computed by core/metrics.py (scikit-learn)."""
    if name in ("accuracy", "precision", "recall", "f1"):
        value = metric_fns.classification_metrics(preds.true, preds.pred, preds.label_names)
        return float(value[name])
    if name == "loss":
        return float(np.mean(_example_loss(preds)))
    return metric_fns.probability_metrics(preds.true, preds.probs)[name]


def _bootstrap_p(distribution: np.ndarray, diff: float) -> float:
    """Two-sided p of "no difference": how often the bootstrap, shifted to centre on 0,
    lands at least as far from 0 as the observed difference."""
    distance = np.abs(np.asarray(distribution) - diff)
    extreme = int(np.sum(distance >= abs(diff) - 1e-12))
    return min(1.0, (extreme + 1) / (len(distance) + 1))


def _batch(n: int) -> int:
    """Resamples per vectorised batch: about 4 million indices at a time."""
    return max(1, 4_000_000 // max(n, 1))


def _paired_statistic(a: Predictions, b: Predictions, name: str) -> Callable[..., np.ndarray]:
    stat_a, stat_b = _statistic(a, name), _statistic(b, name)

    def diff_of(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        if idx.ndim == 1:  # the full sample, as scipy may ask for it
            return np.asarray((stat_b(idx[None]) - stat_a(idx[None]))[0])
        return stat_b(idx) - stat_a(idx)

    return diff_of


def _statistic(preds: Predictions, name: str) -> Statistic:
    """The metric of ``preds`` on each resample of example indices."""
    if name == "accuracy":
        correct = preds.correct.astype(np.float64)
        return lambda idx: np.asarray(correct[idx].mean(axis=1))
    if name in ("precision", "recall", "f1"):
        return _confusion_statistic(preds, name)
    if name in ("loss", "brier"):
        per_example = _example_loss(preds) if name == "loss" else _example_brier(preds)
        return lambda idx: np.asarray(per_example[idx].mean(axis=1))
    if name == "ece":
        return _ece_statistic(preds)
    return _auc_statistic(preds, "roc" if name == "roc_auc" else "pr")


def _confusion_statistic(preds: Predictions, name: str) -> Statistic:
    k = len(preds.label_names)
    codes = preds.true * k + preds.pred

    def statistic(idx: np.ndarray) -> np.ndarray:
        counts = _bincount_rows(codes[idx], k * k).reshape(-1, k, k)
        tp = np.diagonal(counts, axis1=1, axis2=2).astype(np.float64)
        actual, predicted = counts.sum(axis=2), counts.sum(axis=1)
        if name == "precision":
            per_class = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
        elif name == "recall":
            per_class = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
        else:
            both = actual + predicted
            per_class = np.divide(2 * tp, both, out=np.zeros_like(tp), where=both > 0)
        present = (actual + predicted) > 0  # scikit-learn's macro: classes seen in either
        return np.asarray((per_class * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1))

    return statistic


def _ece_statistic(preds: Predictions) -> Statistic:
    n_bins = metric_fns.ECE_BINS
    confidence = preds.probs.max(axis=1)
    correct = (preds.probs.argmax(axis=1) == preds.true).astype(np.float64)
    bins = metric_fns.confidence_bin(confidence, n_bins)

    def statistic(idx: np.ndarray) -> np.ndarray:
        conf_sum = _bincount_rows(bins[idx], n_bins, confidence[idx])
        right_sum = _bincount_rows(bins[idx], n_bins, correct[idx])
        # sum_b n_b/n |acc_b - conf_b| = sum_b |right_b - conf_b| / n
        return np.asarray(np.abs(right_sum - conf_sum).sum(axis=1) / idx.shape[1])

    return statistic


def _auc_statistic(preds: Predictions, curve: str) -> Statistic:
    """Macro one-vs-rest ROC-AUC or average precision of each resample, from per-class
    counts at each distinct score (ties grouped as scikit-learn groups them)."""
    per_class = []
    for c in range(len(preds.label_names)):
        scores, positive = preds.probs[:, c], (preds.true == c).astype(np.float64)
        order_scores = scores if curve == "roc" else -scores  # AP walks scores downwards
        _, group = np.unique(order_scores, return_inverse=True)
        per_class.append((group.reshape(-1), positive, int(group.max()) + 1))

    def statistic(idx: np.ndarray) -> np.ndarray:
        values = [_class_auc(group[idx], positive[idx], size, curve)
                  for group, positive, size in per_class]
        return np.asarray(np.nanmean(np.vstack(values), axis=0)) if values else np.zeros(0)

    return statistic


def _class_auc(group: np.ndarray, positive: np.ndarray, size: int, curve: str) -> np.ndarray:
    """One class's AUC per resample (NaN where the resample lacks positives or negatives)."""
    pos = _bincount_rows(group, size, positive)
    neg = _bincount_rows(group, size, 1.0 - positive)
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    defined = (n_pos > 0) & (n_neg > 0)
    if curve == "roc":  # Mann-Whitney: pairs ranked right, ties counting half
        below = np.cumsum(neg, axis=1) - neg
        wins = (pos * (below + 0.5 * neg)).sum(axis=1)
        value = wins / np.where(defined, n_pos * n_neg, 1.0)
    else:  # average precision: precision at each threshold, weighted by recall gained
        tps, fps = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
        precision = np.divide(tps, tps + fps, out=np.zeros_like(tps), where=(tps + fps) > 0)
        value = (pos * precision).sum(axis=1) / np.where(defined, n_pos, 1.0)
    return np.where(defined, value, np.nan)


def _bincount_rows(values: np.ndarray, size: int,
                   weights: np.ndarray | None = None) -> np.ndarray:
    """np.bincount of each row of a 2-D array at once: shape (rows, size)."""
    offsets = (np.arange(values.shape[0]) * size)[:, None]
    flat = (values + offsets).ravel()
    counts = np.bincount(flat, weights=None if weights is None else weights.ravel(),
                         minlength=values.shape[0] * size)
    return counts.reshape(values.shape[0], size)


def _example_loss(preds: Predictions) -> np.ndarray:
    picked = preds.probs[np.arange(len(preds)), preds.true]
    return np.asarray(-np.log(np.clip(picked, 1e-12, 1.0)))


def _example_brier(preds: Predictions) -> np.ndarray:
    """Each example's share of scikit-learn's Brier score (binary: the classic half)."""
    onehot = np.eye(len(preds.label_names))[preds.true]
    squared = ((preds.probs - onehot) ** 2).sum(axis=1)
    return np.asarray(squared / 2 if len(preds.label_names) == 2 else squared)


# ---------------------------------------------------------------------------------------
# Two groups of seeds


def group_comparison(a_values: Sequence[float], b_values: Sequence[float],
                     metric: str = "f1") -> Comparison:
    """Mean B - mean A with the seeds as samples: Welch's t-test and its 95% CI."""
    from scipy import stats

    name = metric_name(metric)
    a_arr = np.asarray([float(v) for v in a_values], dtype=np.float64)
    b_arr = np.asarray([float(v) for v in b_values], dtype=np.float64)
    if len(a_arr) < 2 or len(b_arr) < 2 or not np.all(np.isfinite(np.r_[a_arr, b_arr])):
        raise BadInput(f"a group comparison needs at least 2 finished seeds with test.{name} "
                       f"in each group (got {len(a_arr)} and {len(b_arr)}); allowed: groups "
                       "made with `densexp run CONFIG --seeds 1,2,3`")
    diff = float(b_arr.mean() - a_arr.mean())
    seeds = f"{len(a_arr)} + {len(b_arr)} seeds"
    n = len(a_arr) + len(b_arr)
    if np.ptp(a_arr) == 0 and np.ptp(b_arr) == 0:  # t is 0/0: nothing varies across seeds
        p_value = 1.0 if diff == 0 else None
        return Comparison(f"test.{name}", float(a_arr.mean()), float(b_arr.mean()), diff,
                          (diff, diff), p_value, n,
                          f"Welch's t-test over {seeds} (undefined: no seed-to-seed variance)")
    with warnings.catch_warnings():
        # One group without spread (e.g. every seed at 1.0) makes scipy warn about precision;
        # the result is still Welch's, with that group's variance 0.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(b_arr, a_arr, equal_var=False)
        interval = result.confidence_interval(0.95)
    return Comparison(f"test.{name}", float(a_arr.mean()), float(b_arr.mean()), diff,
                      (float(interval.low), float(interval.high)), float(result.pvalue), n,
                      f"Welch's t-test over {seeds}")


# ---------------------------------------------------------------------------------------
# In words


def describe(comparison: Comparison) -> str:
    """The comparison as a person says it, with the CI in the direction of the claim."""
    name = comparison.base_metric
    label = DISPLAY_NAMES.get(name, name)
    diff, (low, high) = comparison.diff, comparison.ci95
    if diff is None or low is None or high is None:
        return f"no comparison possible on {label}: {comparison.test}"
    scale = 100.0 if name in IN_POINTS else 1.0
    unit = f" {label} points" if name in IN_POINTS else f" in {label}"
    p_text = format_p(comparison.p_value)
    if not comparison.significant:
        return (f"no detectable difference in {label}: B - A = {_num(diff * scale)}"
                f"{' points' if name in IN_POINTS else ''}, 95% CI {_num(low * scale)} to "
                f"{_num(high * scale)}; {p_text}")
    b_better = (diff > 0) == HIGHER_IS_BETTER.get(name, True)
    sign = 1.0 if diff > 0 else -1.0  # express the gap as a positive size
    lo, hi = sorted((low * sign * scale, high * sign * scale))
    verdict = "better" if b_better else "worse"
    return (f"B is {verdict} by {_num(abs(diff) * scale)}{unit}, 95% CI {_num(lo)} to "
            f"{_num(hi)}; {p_text}")


def format_p(p_value: float | None) -> str:
    if p_value is None:
        return "p undefined"
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.2g}" if p_value < 0.1 else f"p = {p_value:.2f}"


def _num(value: float) -> str:
    digits = 1 if abs(value) >= 0.1 or value == 0 else 3
    return f"{value:.{digits}f}"
