"""Adversarial training with the fast gradient method (FGM) on the word embeddings.

Each step (Miyato et al. 2017, "Adversarial training methods for semi-supervised text
classification"):

1. clean pass: look up the word embeddings ``e`` of the batch, compute the loss ``L(e)``;
2. ``g = dL/de``; the perturbation is ``r = epsilon * s * g / ||g||_2``, the L2 norm taken
   over the whole gradient tensor of the global batch (every example, position and hidden
   unit, on every replica), as the FGM code BERT users copy normalises the embedding
   gradient as one tensor; never per token or per element. So the batch is pushed by
   ``epsilon * s`` in total, each example by its share (about ``epsilon * s /
   sqrt(batch_size)``); padding gets no gradient (the attention mask hides it).
   ``s`` is the root mean square of the word-embedding matrix's entries: Miyato et al.
   perturb *normalised* embeddings (each coordinate of unit scale), so epsilon is in units
   of one embedding coordinate, and ``s`` converts that unit to this model's raw
   embeddings (one global scale, not their per-dimension frequency-weighted one). That is
   what lets the default 1.0 train models of any embedding scale. Measured on tiny-bert
   (random init: s ~ 0.018, ~0.14 per token; 1500 reviews, 4 epochs, val acc; plain 0.82):
   raw epsilon 1.0 per example 0.33 and per batch 0.33 (it stops learning), 1.0 * s per
   example 0.55, 1.0 * s per batch (this) 0.80;
3. adversarial pass: the loss ``L(e + r)`` (``r`` held constant);
4. the optimizer steps on ``L(e) + L(e + r)``.

So a step costs about two forward and two backward passes. The step replaces only Keras'
``train_step`` of the model object (``install_fgm``): ``fit``, its callbacks (events,
cancel, checkpoints, early stopping), ``save_weights`` and resume see the same model and
the same weights as an ordinary run, and ``load_trained_model`` rebuilds it without FGM.

Strategy-safe: the squared norm of ``g`` is summed over the replicas (one all-reduce of a
scalar) so the global batch gets norm ``epsilon * s`` whatever the number of devices, each
replica's part ``epsilon * s * ||g_replica|| / ||g||`` (``s`` comes from the mirrored
embedding matrix, the same on every replica); the adversarial loss is scaled by
``1 / replicas`` the way Keras scales the compiled loss, and ``optimizer.minimize`` does
the gradient all-reduce as in Keras' own step. LoRA
and the other fine-tuning modes only change which variables train: the perturbation is on
the embedding *output*, a tensor, so frozen embeddings still get their gradient ``g``.

Imports TensorFlow at module level: the trainer imports it inside ``train()``.
"""

from __future__ import annotations

import types
from typing import Any

import tensorflow as tf
import tf_keras

from densexp_tui.core.config import TrainSection
from densexp_tui.core.errors import ModelError
from densexp_tui.engine.losses import per_example_loss, replica_mean

FGM_COST_MESSAGE = (
    "adversarial training (FGM, epsilon {epsilon:g}) is on: each step costs about two "
    "forward/backward passes, so expect roughly half the speed; the train loss shown is "
    "the clean loss; epsilon is in units of one embedding coordinate (RMS {scale:.3g} here, "
    "Miyato et al.'s normalised embeddings) and the norm is the whole batch's, so a batch's "
    "perturbation has norm {raw:.3g}, each example about {raw:.3g} / sqrt(batch size), against "
    "word embeddings of {token_norm:.3g} per token")


def embedding_matrix(model: Any) -> tf.Variable:
    """The word-embedding matrix of a transformers model (BERT, DistilBERT, RoBERTa...)."""
    getter = getattr(model, "get_input_embeddings", None)
    layer = getter() if callable(getter) else None
    matrix = getattr(layer, "weight", None)
    if matrix is None:
        matrix = getattr(layer, "embeddings", None)  # a plain Keras Embedding layer
    if matrix is None:
        raise ModelError(f"adversarial 'fgm' needs a model with word embeddings; "
                         f"{type(model).__name__} has none; allowed: adversarial = none")
    return matrix


def embedding_scale(matrix: tf.Tensor) -> tf.Tensor:
    """The root mean square of the embedding entries: one coordinate's typical size, the
    unit epsilon is measured in (a constant for the gradient)."""
    values = tf.stop_gradient(tf.cast(matrix, tf.float32))
    return tf.sqrt(tf.reduce_mean(tf.square(values)))


def _sum_over_replicas(value: tf.Tensor) -> tf.Tensor:
    """``value`` summed over the replicas of the current strategy (itself on one device)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def fgm_perturbation(gradient: tf.Tensor, epsilon: float,
                     scale: tf.Tensor | float = 1.0) -> tf.Tensor:
    """``epsilon * scale * g / ||g||`` with the L2 norm of the whole batch's gradient tensor
    over all replicas; ``scale`` is ``embedding_scale`` of the model's word embeddings."""
    gradient = tf.stop_gradient(tf.cast(gradient, tf.float32))
    squared_norm = _sum_over_replicas(tf.reduce_sum(tf.square(gradient)))
    return epsilon * tf.cast(scale, tf.float32) * gradient * tf.math.rsqrt(
        tf.maximum(squared_norm, 1e-12))


def _logits(outputs: Any) -> tf.Tensor:
    return getattr(outputs, "logits", outputs)


def _fgm_train_step(model: Any, data: Any, epsilon: float, smoothing: float) -> dict[str, Any]:
    """One FGM step (see the module docstring); returns the compiled metrics, like Keras."""
    x, y, sample_weight = tf_keras.utils.unpack_x_y_sample_weight(data)
    features = {key: value for key, value in x.items() if key != "input_ids"}
    matrix = embedding_matrix(model)
    with tf.GradientTape() as tape:
        embeds = tf.gather(matrix, x["input_ids"])
        with tf.GradientTape() as embed_tape:
            embed_tape.watch(embeds)
            logits = _logits(model(dict(features, inputs_embeds=embeds), training=True))
            clean_loss = model.compute_loss(x, y, logits, sample_weight)
        with tape.stop_recording():
            delta = fgm_perturbation(embed_tape.gradient(clean_loss, embeds), epsilon,
                                     embedding_scale(matrix))
        perturbed = embeds + tf.cast(delta, embeds.dtype)
        adv_logits = _logits(model(dict(features, inputs_embeds=perturbed), training=True))
        adv_loss = replica_mean(per_example_loss(y, adv_logits, smoothing))
        total = clean_loss + adv_loss
    model.optimizer.minimize(total, model.trainable_variables, tape=tape)
    return model.compute_metrics(x, y, logits, sample_weight)


def install_fgm(model: Any, train: TrainSection) -> None:
    """Make ``model.fit`` train with FGM: replaces this object's ``train_step`` only (before
    ``fit`` builds its train function). Checks up front that the model has embeddings."""
    embedding_matrix(model)
    epsilon, smoothing = float(train.adversarial_epsilon), float(train.label_smoothing)

    def train_step(self: Any, data: Any) -> dict[str, Any]:
        return _fgm_train_step(self, data, epsilon, smoothing)

    model.train_step = types.MethodType(train_step, model)
    model.train_function = None  # a train function built before would skip the new step


def apply_adversarial(model: Any, train: TrainSection) -> str | None:
    """Install what ``train.adversarial`` asks for; returns the status message the user
    sees (None when adversarial training is off)."""
    if train.adversarial == "none":
        return None
    install_fgm(model, train)
    matrix = embedding_matrix(model)
    token_norm = float(tf.reduce_mean(tf.norm(matrix, axis=1)))
    scale = float(embedding_scale(matrix))
    return FGM_COST_MESSAGE.format(epsilon=train.adversarial_epsilon, scale=scale,
                                   raw=train.adversarial_epsilon * scale, token_norm=token_norm)
