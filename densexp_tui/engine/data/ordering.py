"""The order rows are visited in each epoch: a pure function of (seed, epoch).

Kept apart from the tf.data pipelines (and free of TensorFlow) so the order can be checked,
reasoned about and reused by resume without building a pipeline.
"""

from __future__ import annotations

import math

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
