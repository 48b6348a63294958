"""The train pipeline of a text run with ``data.augment``: fresh augmented texts each epoch.

Epoch ``e`` trains on ``core.augment.augment_texts(texts, plan, seed, e)`` re-tokenised,
batched exactly as an unaugmented epoch (same order, padding, bucketing: the per-epoch
batches come from ``engine.data.make_text_pipeline``). Epochs are built one at a time, when
training reaches them, so memory and start-up do not grow with ``train.epochs``; and since
every epoch is a pure function of ``(seed, epoch)``, a resumed run (``epoch`` > 0) trains on
the very texts an uninterrupted run would have.

Only the train split is ever augmented: the trainer calls this for ``part == "train"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from densexp_tui.core.augment import AugmentPlan, augment_texts, make_plan
from densexp_tui.core.config import RunConfig

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

# make_text_pipeline(token_ids, labels, epoch=e) -> the batches of epoch e only
EpochPipeline = Callable[[list[list[int]], np.ndarray, int], "tf.data.Dataset"]


def plan_for(cfg: RunConfig, train_texts: Sequence[str]) -> AugmentPlan | None:
    """The augmentation of this run (None when ``data.augment`` is empty)."""
    if not cfg.data.augment:
        return None
    return make_plan(cfg.data.augment, cfg.data.augment_prob, train_texts)


def augmented_train_pipeline(
    texts: Sequence[str], labels: np.ndarray, plan: AugmentPlan, tokenize: Callable[
        [list[str]], list[list[int]]], epoch_pipeline: EpochPipeline, *, seed: int,
    epoch: int, num_epochs: int,
) -> tf.data.Dataset:
    """Epochs ``epoch .. epoch + num_epochs - 1``, each augmented, tokenised and batched when
    reached; same element structure as the unaugmented pipeline."""
    import tensorflow as tf

    def epoch_batches(current: int) -> tf.data.Dataset:
        ids = tokenize(augment_texts(texts, plan, seed, current))
        return epoch_pipeline(ids, labels, current)

    first = epoch_batches(epoch)  # built now: its element spec types the whole pipeline

    def batches() -> Iterator[Any]:
        yield from first
        for current in range(epoch + 1, epoch + num_epochs):
            yield from epoch_batches(current)

    return tf.data.Dataset.from_generator(batches, output_signature=first.element_spec) \
        .prefetch(tf.data.AUTOTUNE)


def trainer_train_pipeline(cfg: RunConfig, built: Any, split: Any,
                           shape: dict[str, Any]) -> tf.data.Dataset:
    """The trainer's train pipeline with augmentation: ``shape`` holds the batching
    arguments of ``make_text_pipeline`` (batch_size, shuffle, seed, epoch, num_epochs)."""
    from densexp_tui.engine import data

    plan = plan_for(cfg, split.texts)
    assert plan is not None  # the trainer calls this only when data.augment is set
    pad = built.tokenizer.pad_token_id or 0
    per_epoch = {k: v for k, v in shape.items() if k not in ("epoch", "num_epochs")}

    def tokenize(texts: list[str]) -> list[list[int]]:
        return data.tokenize_texts(built.tokenizer, texts, built.max_length)

    def epoch_pipeline(ids: list[list[int]], labels: np.ndarray, epoch: int) -> tf.data.Dataset:
        return data.make_text_pipeline(ids, labels, pad_id=pad, epoch=epoch, num_epochs=1,
                                       **per_epoch)

    return augmented_train_pipeline(split.texts, np.asarray(split.labels), plan, tokenize,
                                    epoch_pipeline, seed=cfg.run.seed, epoch=shape["epoch"],
                                    num_epochs=shape["num_epochs"])
