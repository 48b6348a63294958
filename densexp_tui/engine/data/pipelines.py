"""Tokenizing and the tf.data pipelines: the only module of the package importing TensorFlow.

TensorFlow is imported inside the functions (on first use), so importing the package for
loading or previewing data never pays for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from densexp_tui.engine.data.ordering import epoch_order

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
) -> tf.data.Dataset:
    """Batches of ``({"input_ids", "attention_mask"}, labels)`` for epochs
    ``epoch .. epoch + num_epochs - 1``, padded to each batch's own longest sequence
    (rounded up to ``pad_to_multiple_of``: 8 keeps the number of distinct shapes small,
    which helps kernel caches and GPU tensor cores, for a little extra padding).

    Design: the token ids live in one ragged tensor; the pipeline iterates over batches of
    row indices (one epoch after another, each epoch ordered by :func:`epoch_order`, no batch
    straddling two epochs) and gathers + pads each batch in one vectorized op, then
    prefetches. Shuffling is thus reproducible and resumable: the order of epoch ``e`` is a
    pure function of ``(seed, e)``, independent of how many epochs were iterated before.

    With Keras: ``model.fit(make_text_pipeline(..., epoch=start, num_epochs=epochs - start),
    epochs=epochs, initial_epoch=start, steps_per_epoch=steps_per_epoch(n, batch_size))``.
    When ``num_epochs > 1`` the dataset holds several epochs, so ``steps_per_epoch`` must be
    given; Keras then keeps one iterator across epochs. ``input_ids`` and ``attention_mask``
    are int32; labels int32.
    """
    tf = _tensorflow()
    lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
    flat_ids = np.fromiter(
        itertools.chain.from_iterable(token_ids), dtype=np.int32, count=int(lengths.sum())
    )
    all_ids = tf.RaggedTensor.from_row_lengths(flat_ids, lengths)
    all_labels = tf.constant(np.asarray(labels, dtype=np.int32))

    def gather_batch(indices: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        rows = tf.gather(all_ids, indices)
        longest = tf.reduce_max(rows.row_lengths())
        width = (longest + pad_to_multiple_of - 1) // pad_to_multiple_of * pad_to_multiple_of
        shape = tf.stack([tf.cast(tf.size(indices), tf.int64), width])
        inputs = {
            "input_ids": rows.to_tensor(default_value=pad_id, shape=shape),
            "attention_mask": tf.ones_like(rows).to_tensor(default_value=0, shape=shape),
        }
        return inputs, tf.gather(all_labels, indices)

    batches = _index_batches(len(lengths), batch_size, shuffle, seed, epoch, num_epochs)
    return batches.map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


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

    def gather_batch(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.gather(all_features, indices), tf.gather(all_labels, indices)

    batches = _index_batches(len(all_labels), batch_size, shuffle, seed, epoch, num_epochs)
    return batches.map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


def _index_batches(
    n_examples: int, batch_size: int, shuffle: bool, seed: int, epoch: int, num_epochs: int
) -> tf.data.Dataset:
    """A dataset of int32 index vectors: the batches of each epoch in turn."""
    tf = _tensorflow()
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    batches: list[np.ndarray] = []
    for current in range(epoch, epoch + num_epochs):
        order = epoch_order(n_examples, seed, current, shuffle).astype(np.int32)
        batches += [order[start : start + batch_size] for start in range(0, n_examples, batch_size)]
    lengths = np.asarray([len(batch) for batch in batches], dtype=np.int64)
    flat = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int32)
    return tf.data.Dataset.from_tensor_slices(tf.RaggedTensor.from_row_lengths(flat, lengths))


def _tensorflow() -> Any:
    """TensorFlow, imported on first use (densexp_tui/__init__ already chose tf_keras)."""
    import tensorflow as tf

    return tf
