"""The types the data package passes around, and the two helpers every part of it uses.

:class:`Dataset` is one labelled dataset as a loader returns it; :class:`Splits` its
train/val/test parts. Nothing here imports TensorFlow or scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
@dataclass
class Dataset:
    """A labelled dataset: ``texts`` for kind "text", ``features`` (float32) for "tabular".

    ``labels[i]`` is an index into ``label_names``. Tabular features are raw; the model
    standardizes them (fitted on the training split only).
    """

    kind: str
    texts: list[str] | None
    features: np.ndarray | None
    labels: np.ndarray
    label_names: list[str]
    source_desc: str
    feature_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """The rows at ``indices``, in that order, with the same label names."""
        indices = np.asarray(indices, dtype=np.int64)
        return Dataset(
            kind=self.kind,
            texts=[self.texts[i] for i in indices] if self.texts is not None else None,
            features=self.features[indices] if self.features is not None else None,
            labels=self.labels[indices],
            label_names=self.label_names,
            source_desc=self.source_desc,
            feature_names=self.feature_names,
        )

    def class_counts(self) -> dict[str, int]:
        """{label name: number of rows} for every class, in label order."""
        counts = np.bincount(self.labels, minlength=self.n_classes)
        return {name: int(counts[i]) for i, name in enumerate(self.label_names)}


@dataclass
class Splits:
    """Train/val/test parts of one dataset; ``note`` says why a split is not stratified."""

    train: Dataset
    val: Dataset
    test: Dataset
    label_names: list[str]
    stratified: bool = True
    note: str = ""

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def seed_entropy(seed: int) -> int:
    """A non-negative seed for NumPy's SeedSequence (which rejects negatives)."""
    return seed % (2**63)


def first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]
