"""Optimizers and learning-rate schedules for the trainer (imports TensorFlow: load lazily).

Only ``engine/trainer.py`` imports this module, inside ``train()``, after library output is
being captured, so TensorFlow's import-time messages land in the run's log.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf
import tf_keras

from densexp_tui.core.config import TrainSection

# AdamW leaves these out of weight decay, as BERT and Hugging Face do: decaying biases and
# LayerNorm scales towards zero hurts fine-tuning and is not what "weight decay" means.
NO_DECAY_NAMES = ["bias", "LayerNorm", "layer_norm"]


@tf_keras.utils.register_keras_serializable(package="densexp")
class WarmupDecay(tf_keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak`` over ``warmup_steps``, then linear or cosine decay to 0.

    ``step`` is the optimizer's iteration count (0 for the first update). Warm-up counts
    from step + 1 so the very first update already moves the weights.
    """

    def __init__(self, peak: float, total_steps: int, warmup_steps: int, decay: str = "linear"):
        super().__init__()
        if decay not in ("linear", "cosine"):
            raise ValueError(f"decay must be linear or cosine, got {decay!r}")
        self.peak = float(peak)
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = max(int(warmup_steps), 0)
        self.decay = decay

    def __call__(self, step: Any) -> tf.Tensor:
        step = tf.cast(step, tf.float32)
        warmup = tf.constant(float(self.warmup_steps))
        warm_lr = self.peak * tf.minimum(1.0, (step + 1.0) / tf.maximum(warmup, 1.0))
        span = float(max(self.total_steps - self.warmup_steps, 1))
        progress = tf.clip_by_value((step - warmup) / span, 0.0, 1.0)
        if self.decay == "linear":
            decayed = self.peak * (1.0 - progress)
        else:
            decayed = self.peak * 0.5 * (1.0 + tf.cos(math.pi * progress))
        return tf.where(step < warmup, warm_lr, decayed)

    def value_at(self, step: int) -> float:
        """The same value in plain Python: step events report it without a TensorFlow op."""
        if step < self.warmup_steps:
            return self.peak * min(1.0, (step + 1) / max(self.warmup_steps, 1))
        span = max(self.total_steps - self.warmup_steps, 1)
        progress = min(max((step - self.warmup_steps) / span, 0.0), 1.0)
        if self.decay == "linear":
            return self.peak * (1.0 - progress)
        return self.peak * 0.5 * (1.0 + math.cos(math.pi * progress))

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "decay": self.decay}


def make_schedule(train: TrainSection, total_steps: int) -> float | WarmupDecay:
    """A float for ``constant``, else a warm-up + decay schedule over the whole run."""
    if train.lr_schedule == "constant":
        return float(train.learning_rate)
    warmup = int(round(train.warmup_ratio * total_steps))
    return WarmupDecay(train.learning_rate, total_steps, warmup, decay=train.lr_schedule)


def learning_rate_at(schedule: float | WarmupDecay, step: int) -> float:
    """The learning rate used for the update at ``step`` (0-based), for step events."""
    if isinstance(schedule, WarmupDecay):
        return schedule.value_at(step)
    return float(schedule)


def make_optimizer(train: TrainSection, schedule: float | WarmupDecay) -> Any:
    """Adam, AdamW (decoupled weight decay) or SGD, with global-norm clipping when asked."""
    clip: dict[str, Any] = {}
    if train.grad_clip_norm > 0:
        # One norm over all gradients (as in BERT), not per tensor like ``clipnorm``.
        clip["global_clipnorm"] = float(train.grad_clip_norm)
    if train.optimizer == "adam":
        return tf_keras.optimizers.Adam(learning_rate=schedule, **clip)
    if train.optimizer == "adamw":
        optimizer = tf_keras.optimizers.AdamW(
            learning_rate=schedule, weight_decay=float(train.weight_decay), **clip
        )
        optimizer.exclude_from_weight_decay(var_names=NO_DECAY_NAMES)
        return optimizer
    if train.optimizer == "sgd":
        return tf_keras.optimizers.SGD(learning_rate=schedule, **clip)
    raise ValueError(f"unknown optimizer {train.optimizer!r}")  # config validation stops this
