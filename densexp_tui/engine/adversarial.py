"""Adversarial training with the fast gradient method (FGM) on the word embeddings.

Each step (Miyato et al. 2017, "Adversarial training methods for semi-supervised text
classification"):

1. clean pass: look up the word embeddings ``e`` of the batch, compute the loss ``L(e)``;
2. ``g = dL/de``; the perturbation is ``r = epsilon * g / ||g||_2``, normalised per example
   over all its positions and hidden units, so every example is pushed by exactly
   ``epsilon`` (padding gets no gradient: the attention mask hides it);
3. adversarial pass: the loss ``L(e + r)`` (``r`` held constant);
4. the optimizer steps on ``L(e) + L(e + r)``.

So a step costs about two forward and two backward passes. The step replaces only Keras'
``train_step`` of the model object (``install_fgm``): ``fit``, its callbacks (events,
cancel, checkpoints, early stopping), ``save_weights`` and resume see the same model and
the same weights as an ordinary run, and ``load_trained_model`` rebuilds it without FGM.

Strategy-safe: everything is per example or per replica (no cross-replica reduction of
its own); the adversarial loss is scaled by ``1 / replicas`` the way Keras scales the
compiled loss, and ``optimizer.minimize`` does the all-reduce as in Keras' own step. LoRA
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
    "the clean loss; this model's word embeddings have a mean norm of {token_norm:.3g} per "
    "token (epsilon is per example, over all its tokens)")


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


def fgm_perturbation(gradient: tf.Tensor, epsilon: float) -> tf.Tensor:
    """``epsilon * g / ||g||`` with the L2 norm taken per example (all axes but the first)."""
    gradient = tf.stop_gradient(tf.cast(gradient, tf.float32))
    axes = list(range(1, gradient.shape.rank))
    return epsilon * tf.math.l2_normalize(gradient, axis=axes)


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
            delta = fgm_perturbation(embed_tape.gradient(clean_loss, embeds), epsilon)
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
    token_norm = float(tf.reduce_mean(tf.norm(embedding_matrix(model), axis=1)))
    return FGM_COST_MESSAGE.format(epsilon=train.adversarial_epsilon, token_norm=token_norm)
