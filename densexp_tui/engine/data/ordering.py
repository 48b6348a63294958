"""The order rows are visited in each epoch: a pure function of (seed, epoch).

Kept apart from the tf.data pipelines (and free of TensorFlow) so the order can be checked,
reasoned about and reused by resume without building a pipeline. Length bucketing
(``data.batching = "bucketed"``) and the token counts of each epoch live here too: both are
plain functions of the batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from densexp_tui.engine.data.dataset import seed_entropy


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    """Batches in one epoch (the last one may be smaller)."""
    return math.ceil(n_examples / batch_size)


def epoch_order(n_examples: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """The order examples are visited in ``epoch`` (0-based): a pure function of (seed, epoch).

    Resuming at epoch k therefore replays exactly the order an uninterrupted run would
    have used, without replaying epochs 0..k-1.
    """
    if not shuffle:
        return np.arange(n_examples)
    rng = np.random.default_rng([seed_entropy(seed), epoch])
    return rng.permutation(n_examples)


# Rows are sorted by length within windows of this many batches (as Hugging Face's
# group_by_length does with its "megabatches"): wide enough that batches come out nearly
# length-homogeneous on long-tailed text, narrow enough that which rows share a batch
# still changes every epoch.
BUCKET_WINDOW_BATCHES = 50


def epoch_batches(
    n_examples: int,
    batch_size: int,
    seed: int,
    epoch: int,
    *,
    shuffle: bool,
    bucket_by: np.ndarray | None = None,
) -> list[np.ndarray]:
    """The row indices of each batch of ``epoch``: a pure function of (seed, epoch).

    Every row appears exactly once; only the epoch's last batch may be short (so the number
    of samples per step is the same with and without bucketing). With ``bucket_by`` (the
    rows' token lengths) and ``shuffle``, rows are sorted by length within shuffled windows
    of :data:`BUCKET_WINDOW_BATCHES` batches, and the full batches are then shuffled, so a
    batch holds rows of similar length while the order of lengths stays random.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = epoch_order(n_examples, seed, epoch, shuffle)
    if bucket_by is None or not shuffle:
        return _slices(order, batch_size)
    return _bucketed(order, np.asarray(bucket_by), batch_size, seed, epoch)


def _slices(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _bucketed(
    order: np.ndarray, lengths: np.ndarray, batch_size: int, seed: int, epoch: int
) -> list[np.ndarray]:
    window = batch_size * BUCKET_WINDOW_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        rows = order[start : start + window]
        batches += _slices(rows[np.argsort(lengths[rows], kind="stable")], batch_size)
    # Windows hold whole batches, so only the very last batch can be short: it stays last.
    short = [batches.pop()] if batches and len(batches[-1]) < batch_size else []
    # A stream of its own (the extra 1), so the batch shuffle never mirrors the row shuffle.
    rng = np.random.default_rng([seed_entropy(seed), epoch, 1])
    return [batches[i] for i in rng.permutation(len(batches))] + short


def padded_width(longest: int, pad_to_multiple_of: int, max_width: int | None = None) -> int:
    """The width a batch whose longest row has ``longest`` tokens is padded to.

    Rounded up to a multiple of ``pad_to_multiple_of`` but never past ``max_width`` (the
    tokenizer's max_length: the model may have no position embeddings beyond it).
    """
    width = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    return width if max_width is None else min(width, max(max_width, longest))


@dataclass(frozen=True)
class TokenCounts:
    """Tokens of one epoch: ``real`` ones and ``padded``, all the model processes."""

    real: int
    padded: int

    def as_event(self) -> dict[str, int]:
        return {"real": self.real, "padded": self.padded}


def token_counts(
    batches: list[np.ndarray],
    lengths: np.ndarray,
    pad_to_multiple_of: int,
    max_width: int | None = None,
) -> TokenCounts:
    """Real and padded tokens of ``batches``, each padded as :func:`padded_width` says."""
    real = padded = 0
    for batch in batches:
        if len(batch) == 0:
            continue
        rows = lengths[batch]
        real += int(rows.sum())
        padded += len(batch) * padded_width(int(rows.max()), pad_to_multiple_of, max_width)
    return TokenCounts(real, padded)


class TokenLedger:
    """Token counts by 0-based epoch, recorded as each epoch's batches are built.

    The trainer reads it when an epoch ends: the counts describe exactly the batches the
    pipeline built (the same index batches, the same widths), not an estimate.
    """

    def __init__(self) -> None:
        self._by_epoch: dict[int, TokenCounts] = {}

    def record(self, epoch: int, counts: TokenCounts) -> None:
        self._by_epoch[epoch] = counts

    def get(self, epoch: int) -> TokenCounts | None:
        return self._by_epoch.get(epoch)
