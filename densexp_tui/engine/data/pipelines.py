"""Tokenizing and the tf.data pipelines: the only module of the package importing TensorFlow.

TensorFlow is imported inside the functions (on first use), so importing the package for
loading or previewing data never pays for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from densexp_tui.core.augment import AugmentPlan, augment_texts, make_plan
from densexp_tui.core.config import BATCHING_MODES, RunConfig
from densexp_tui.engine.data.ordering import (
    TokenLedger,
    epoch_batches,
    padded_width,
    token_counts,
)

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf


def tokenize_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of every text, truncated to ``max_length``, unpadded.

    One batch call up front: a fast (Rust) tokenizer does all texts in parallel, and no
    epoch pays for tokenizing again. Padding happens per batch in the pipeline.
    """
    if not texts:
        return []
    encoded = tokenizer(
        list(texts),
        truncation=True,
        max_length=max_length,
        padding=False,
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    return [list(ids) for ids in encoded["input_ids"]]


def make_text_pipeline(
    token_ids: Sequence[Sequence[int]],
    labels: Sequence[int] | np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    *,
    epoch: int = 0,
    num_epochs: int = 1,
    pad_id: int = 0,
    pad_to_multiple_of: int = 1,
    batching: str = "random",
    max_width: int | None = None,
    token_ledger: TokenLedger | None = None,
) -> tf.data.Dataset:
    """Batches of ``({"input_ids", "attention_mask"}, labels)`` for epochs
    ``epoch .. epoch + num_epochs - 1``, padded to each batch's own longest sequence
    (rounded up to ``pad_to_multiple_of``: 8 keeps the number of distinct shapes small,
    which helps kernel caches, XLA and GPU tensor cores, for a little extra padding; never
    past ``max_width``, the tokenizer's max_length).

    ``batching="bucketed"`` batches rows of similar length together when shuffling (see
    :func:`~densexp_tui.engine.data.ordering.epoch_batches`); ``"random"`` draws batches
    at random. Either way the batches of epoch ``e`` are a pure function of ``(seed, e)``,
    independent of how many epochs were iterated before, so shuffling is reproducible and
    resumable. ``token_ledger`` receives each epoch's real and padded token counts.

    Design: the token ids live in one ragged tensor; the pipeline iterates over batches of
    row indices with their padded widths (one epoch after another, no batch straddling two
    epochs) and gathers + pads each batch in one vectorized op, then prefetches.

    With Keras: ``model.fit(make_text_pipeline(..., epoch=start, num_epochs=epochs - start),
    epochs=epochs, initial_epoch=start, steps_per_epoch=steps_per_epoch(n, batch_size))``.
    When ``num_epochs > 1`` the dataset holds several epochs, so ``steps_per_epoch`` must be
    given; Keras then keeps one iterator across epochs. ``input_ids`` and ``attention_mask``
    are int32; labels int32.
    """
    if batching not in BATCHING_MODES:
        raise ValueError(f"batching must be one of {BATCHING_MODES}, got {batching!r}")
    if pad_to_multiple_of < 1:
        raise ValueError(f"pad_to_multiple_of must be at least 1, got {pad_to_multiple_of}")
    tf = _tensorflow()
    lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
    flat_ids = np.fromiter(
        itertools.chain.from_iterable(token_ids), dtype=np.int32, count=int(lengths.sum())
    )
    all_ids = tf.RaggedTensor.from_row_lengths(flat_ids, lengths)
    all_labels = tf.constant(np.asarray(labels, dtype=np.int32))

    # Tensors are typed Any here: ``tf`` is the lazily imported module, not a type.
    def gather_batch(indices: Any, width: Any) -> tuple[dict[str, Any], Any]:
        rows = tf.gather(all_ids, indices)
        shape = tf.stack([tf.cast(tf.size(indices), tf.int64), width])
        inputs = {
            "input_ids": rows.to_tensor(default_value=pad_id, shape=shape),
            "attention_mask": tf.ones_like(rows).to_tensor(default_value=0, shape=shape),
        }
        return inputs, tf.gather(all_labels, indices)

    bucket_by = lengths if batching == "bucketed" else None
    batches: list[np.ndarray] = []
    widths: list[int] = []
    for current in range(epoch, epoch + num_epochs):
        epoch_rows = epoch_batches(len(lengths), batch_size, seed, current, shuffle=shuffle,
                                   bucket_by=bucket_by)
        if token_ledger is not None:
            token_ledger.record(current, token_counts(epoch_rows, lengths, pad_to_multiple_of,
                                                      max_width))
        batches += epoch_rows
        widths += [_batch_width(rows, lengths, pad_to_multiple_of, max_width)
                   for rows in epoch_rows]
    dataset = tf.data.Dataset.from_tensor_slices(
        (_ragged_indices(batches), np.asarray(widths, dtype=np.int64)))
    return dataset.map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


def _batch_width(rows: np.ndarray, lengths: np.ndarray, pad_to_multiple_of: int,
                 max_width: int | None) -> int:
    longest = int(lengths[rows].max()) if len(rows) else 0
    return padded_width(longest, pad_to_multiple_of, max_width)


def make_tabular_pipeline(
    features: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    *,
    epoch: int = 0,
    num_epochs: int = 1,
) -> tf.data.Dataset:
    """Batches of ``(float32 features, int32 labels)``; epochs and order as in
    :func:`make_text_pipeline`."""
    tf = _tensorflow()
    all_features = tf.constant(np.asarray(features, dtype=np.float32))
    all_labels = tf.constant(np.asarray(labels, dtype=np.int32))

    def gather_batch(indices: Any) -> tuple[Any, Any]:
        return tf.gather(all_features, indices), tf.gather(all_labels, indices)

    batches = _index_batches(len(all_labels), batch_size, shuffle, seed, epoch, num_epochs)
    return batches.map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


def _index_batches(
    n_examples: int, batch_size: int, shuffle: bool, seed: int, epoch: int, num_epochs: int
) -> tf.data.Dataset:
    """A dataset of int32 index vectors: the batches of each epoch in turn."""
    batches: list[np.ndarray] = []
    for current in range(epoch, epoch + num_epochs):
        batches += epoch_batches(n_examples, batch_size, seed, current, shuffle=shuffle)
    return _tensorflow().data.Dataset.from_tensor_slices(_ragged_indices(batches))


def _ragged_indices(batches: list[np.ndarray]) -> Any:
    """The index batches as one int32 ragged tensor (one row per batch)."""
    tf = _tensorflow()
    lengths = np.asarray([len(batch) for batch in batches], dtype=np.int64)
    flat = np.concatenate(batches).astype(np.int32) if batches else np.zeros(0, np.int32)
    return tf.RaggedTensor.from_row_lengths(flat, lengths)


def _tensorflow() -> Any:
    """TensorFlow, imported on first use (densexp_tui/__init__ already chose tf_keras)."""
    import tensorflow as tf

    return tf

# ---------------------------------------------------------------------------------------
# The train pipeline of a text run with ``data.augment``: fresh augmented texts each epoch.
# Epoch ``e`` trains on ``core.augment.augment_texts(texts, plan, seed, e)``, re-tokenised and
# batched exactly as an unaugmented epoch (same order, padding and bucketing: each epoch's
# batches come from the trainer's own ``make_text_pipeline`` call, asked for that one epoch).
# Epochs are built when training reaches them, so memory and start-up do not grow with
# ``train.epochs``; every epoch is a pure function of ``(seed, epoch)``, so a resumed run
# trains on the very texts an uninterrupted run would have. Only the train split is augmented.
# It lives here because it builds tf.data: this file is the package's TensorFlow boundary.

# (token ids, epoch=e, num_epochs=1) -> the batches of epoch e, as the trainer builds them
EpochPipeline = Callable[..., "tf.data.Dataset"]


def plan_for(cfg: RunConfig, train_texts: Sequence[str]) -> AugmentPlan | None:
    """The augmentation of this run (None when ``data.augment`` is empty)."""
    if not cfg.data.augment:
        return None
    return make_plan(cfg.data.augment, cfg.data.augment_prob, train_texts)


def augmented_train_pipeline(cfg: RunConfig, built: Any, texts: Sequence[str],
                             text_pipeline: EpochPipeline, *, epoch: int,
                             num_epochs: int) -> tf.data.Dataset:
    """Epochs ``epoch .. epoch + num_epochs - 1``, each augmented, tokenised and batched when
    reached; the same element structure as the unaugmented pipeline."""
    import tensorflow as tf

    plan = plan_for(cfg, texts)
    if plan is None:
        raise ValueError("augmented_train_pipeline needs data.augment to name an op")

    def augmented_epoch(current: int) -> tf.data.Dataset:
        augmented = augment_texts(texts, plan, cfg.run.seed, current)
        ids = tokenize_texts(built.tokenizer, augmented, built.max_length)
        return text_pipeline(ids, epoch=current, num_epochs=1)

    first = augmented_epoch(epoch)  # built now: its element spec types the whole pipeline

    def batches() -> Iterator[Any]:
        yield from first
        for current in range(epoch + 1, epoch + num_epochs):
            yield from augmented_epoch(current)

    return tf.data.Dataset.from_generator(batches, output_signature=first.element_spec) \
        .prefetch(tf.data.AUTOTUNE)
