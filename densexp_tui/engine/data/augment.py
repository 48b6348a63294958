"""The train pipeline of a text run with ``data.augment``: fresh augmented texts each epoch.

Epoch ``e`` trains on ``core.augment.augment_texts(texts, plan, seed, e)``, re-tokenised and
batched exactly as an unaugmented epoch (same order, padding and bucketing: each epoch's
batches come from the trainer's own ``make_text_pipeline`` call, asked for that one epoch).
Epochs are built one at a time, when training reaches them, so memory and start-up do not
grow with ``train.epochs``; and since every epoch is a pure function of ``(seed, epoch)``,
a resumed run (``epoch`` > 0) trains on the very texts an uninterrupted run would have.

Only the train split is ever augmented: the trainer calls this for the train split alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from densexp_tui.core.augment import AugmentPlan, augment_texts, make_plan
from densexp_tui.core.config import RunConfig
from densexp_tui.engine.data.pipelines import tokenize_texts

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

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

    def epoch_batches(current: int) -> tf.data.Dataset:
        augmented = augment_texts(texts, plan, cfg.run.seed, current)
        ids = tokenize_texts(built.tokenizer, augmented, built.max_length)
        return text_pipeline(ids, epoch=current, num_epochs=1)

    first = epoch_batches(epoch)  # built now: its element spec types the whole pipeline

    def batches() -> Iterator[Any]:
        yield from first
        for current in range(epoch + 1, epoch + num_epochs):
            yield from epoch_batches(current)

    return tf.data.Dataset.from_generator(batches, output_signature=first.element_spec) \
        .prefetch(tf.data.AUTOTUNE)
