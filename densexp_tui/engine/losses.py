"""The training loss: sparse cross-entropy from logits, with optional label smoothing.

tf_keras' ``SparseCategoricalCrossentropy`` has no ``label_smoothing``, so smoothing one-hots
the integer labels and uses the categorical form. With smoothing ``s`` over ``K`` classes the
target is ``(1 - s) * onehot + s / K``, so per example

    loss = (1 - s) * CE(label) + s * mean_k(-log p_k)

Validation and test losses are never computed here: the trainer measures them as the plain
cross-entropy in NumPy (``trainer.cross_entropy``), so runs with and without smoothing stay
comparable. ``loss_includes_smoothing`` is what step/epoch events say about the train loss,
and ``loss_excludes_adversarial`` that an FGM run's train loss is the clean loss only (the
optimizer steps on clean + adversarial; the clean one stays comparable with plain runs).

Imports TensorFlow at module level: only the trainer imports it, inside ``train()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
import tf_keras

from densexp_tui.core.config import TrainSection


def loss_includes_smoothing(train: TrainSection) -> bool:
    """Whether the reported training loss is the smoothed one (validation never is)."""
    return train.label_smoothing > 0.0


def loss_excludes_adversarial(train: TrainSection) -> bool:
    """Whether the reported training loss leaves out a loss the optimizer also steps on
    (FGM's adversarial loss)."""
    return train.adversarial != "none"


def labelled_loss_events(emit: Callable[..., Any], train: TrainSection) -> Callable[..., Any]:
    """``emit`` that adds ``loss_includes_smoothing`` and ``loss_excludes_adversarial`` to
    step and epoch events, so every view can say what the train loss it shows is."""
    smoothed, clean_only = loss_includes_smoothing(train), loss_excludes_adversarial(train)

    def emit_labelled(kind: str, **fields: Any) -> Any:
        if kind in ("step", "epoch"):
            fields.setdefault("loss_includes_smoothing", smoothed)
            fields.setdefault("loss_excludes_adversarial", clean_only)
        return emit(kind, **fields)

    return emit_labelled


def per_example_loss(labels: tf.Tensor, logits: tf.Tensor, smoothing: float) -> tf.Tensor:
    """Cross-entropy of each example, with label smoothing ``smoothing`` (0 = plain)."""
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    logits = tf.cast(logits, tf.float32)  # mixed precision: the loss in float32
    if smoothing <= 0.0:
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    n_classes = tf.shape(logits)[-1]
    target = tf.one_hot(labels, n_classes, dtype=logits.dtype)
    target = target * (1.0 - smoothing) + smoothing / tf.cast(n_classes, logits.dtype)
    return tf.nn.softmax_cross_entropy_with_logits(labels=target, logits=logits)


class SmoothedSparseCrossentropy(tf_keras.losses.Loss):
    """``SparseCategoricalCrossentropy(from_logits=True)`` plus ``label_smoothing``."""

    def __init__(self, label_smoothing: float = 0.0, name: str = "smoothed_sparse_ce",
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return per_example_loss(y_true, y_pred, self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def training_loss(train: TrainSection) -> tf_keras.losses.Loss:
    """The loss the trainer compiles: Keras' own for no smoothing (unchanged behaviour)."""
    if train.label_smoothing <= 0.0:
        return tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return SmoothedSparseCrossentropy(train.label_smoothing)


def replica_mean(per_example: tf.Tensor) -> tf.Tensor:
    """Mean over the local batch, scaled for ``tf.distribute`` the way Keras' compiled loss is
    (gradients are summed over replicas, so each contributes 1 / replicas of the mean)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return tf.reduce_mean(per_example) / tf.cast(replicas, per_example.dtype)
