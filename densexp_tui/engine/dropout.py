"""Re-seedable dropout: what makes an epoch's dropout masks independent of what ran before.

A leaf module (it imports nothing from the engine): the trainer switches it on before the
model is built and the epoch callback re-seeds at every epoch start, without either
importing ``engine/resume.py`` (which imports the trainer).
TensorFlow is imported only inside the functions that need it.
"""

from __future__ import annotations

from typing import Any


def use_generator_dropout() -> None:
    """Make Keras dropout draw from tf.random.Generator objects (state we can re-seed)
    instead of stateful ops whose hidden state can be neither saved nor reset."""
    import tf_keras

    tf_keras.backend.experimental.enable_tf_random_generator()


def reseed_dropout(model: Any, seed: int, epoch: int) -> None:
    """Re-seed every random layer from (seed, epoch, its index): an epoch's dropout masks
    are then the same whether the process trained the epochs before it or not."""
    index = 0
    for layer in model.submodules:
        random = getattr(layer, "_random_generator", None)
        if random is None:
            continue
        random._maybe_init()  # generators are made lazily on first use: make them now
        generator = getattr(random, "_generator", None)
        if generator is None:
            continue
        generator.reset_from_seed([int(seed), int(epoch), index])
        index += 1
