"""Subsampling to ``max_samples`` and the stratified train/val/test split.

Both are deterministic from the run's seed; scikit-learn is imported where used.
"""

from __future__ import annotations

import numpy as np

from densexp_tui.core.errors import DataError
from densexp_tui.engine.data.dataset import Dataset, Splits, first_line, seed_entropy


def subsample(dataset: Dataset, max_samples: int, seed: int) -> Dataset:
    """At most ``max_samples`` rows, keeping class proportions; file order is kept."""
    if not max_samples or max_samples >= len(dataset):
        return dataset
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(dataset))
    try:
        picked, _ = train_test_split(
            indices,
            train_size=max_samples,
            stratify=dataset.labels,
            random_state=seed % (2**32),
        )
    except ValueError:  # a class too small to stratify: a plain random subset is the best we can do
        picked = np.random.default_rng(seed_entropy(seed)).permutation(indices)[:max_samples]
    subset = dataset.subset(np.sort(picked))
    if len(np.unique(subset.labels)) < 2:
        raise DataError(
            f"max_samples = {max_samples} leaves a single class; "
            f"allowed: 0 (all rows) or at least {dataset.n_classes}",
            key="data.max_samples",
        )
    return subset


def split_dataset(
    dataset: Dataset, val_fraction: float, test_fraction: float, seed: int
) -> Splits:
    """Stratified train/val/test split, deterministic from ``seed``.

    The test part is taken first, then the validation part from the rest; both are their
    fraction of *all* rows. A fraction of 0 gives an empty part. When a
    class has too few rows to stratify, the split falls back to a plain random one and
    ``Splits.note`` says why.
    """
    _check_fractions(val_fraction, test_fraction)
    labels = dataset.labels
    try:
        parts = _split_indices(labels, val_fraction, test_fraction, seed, stratify=True)
        stratified, note = True, ""
    except ValueError as err:  # scikit-learn's reason, e.g. "the least populated class ..."
        parts = _plain_split(labels, val_fraction, test_fraction, seed)
        stratified, note = False, f"split not stratified: {first_line(err)}"
    train, val, test = (dataset.subset(indices) for indices in parts)
    return Splits(train, val, test, list(dataset.label_names), stratified, note)


def _plain_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-stratified fallback; too few rows for any split is a DataError."""
    try:
        return _split_indices(labels, val_fraction, test_fraction, seed, stratify=False)
    except ValueError as err:
        raise DataError(
            f"{len(labels)} rows are too few to split ({first_line(err)}); allowed: more "
            "rows or smaller val_fraction/test_fraction",
            key="data.val_fraction",
        ) from None


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for key, value in (("data.val_fraction", val_fraction), ("data.test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise DataError(f"{value} is out of range; allowed: 0 <= fraction < 1", key=key)
    if val_fraction + test_fraction >= 1:
        raise DataError(
            f"val_fraction + test_fraction = {val_fraction + test_fraction:g} leaves no "
            "training rows; allowed: a sum below 1",
            key="data.val_fraction",
        )


def _split_indices(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) row indices; raises ValueError when stratifying is impossible.

    Part sizes are rounded from fractions of *all* rows (at least 1 row for a non-zero
    fraction), so 150 rows at 0.1/0.1 give exactly 120/15/15.
    """
    n_test = _part_size(len(labels), test_fraction)
    n_val = _part_size(len(labels), val_fraction)
    rest, test = _take(np.arange(len(labels)), labels, n_test, seed, stratify)
    train, val = _take(rest, labels, n_val, seed + 1, stratify)
    return train, val, test


def _part_size(n_rows: int, fraction: float) -> int:
    return max(1, round(n_rows * fraction)) if fraction > 0 else 0


def _take(
    indices: np.ndarray, labels: np.ndarray, count: int, seed: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, taken): ``count`` of ``indices`` taken out, possibly stratified by label."""
    if count == 0:
        return indices, indices[:0]
    from sklearn.model_selection import train_test_split

    kept, taken = train_test_split(
        indices,
        test_size=count,
        random_state=seed % (2**32),
        stratify=labels[indices] if stratify else None,
    )
    return kept, taken
