"""FGM under MirroredStrategy on two logical CPU devices: the perturbation's norm per replica
and the FGM train_step fitting under the strategy. Called by distributed_main.py in its
fresh process (logical devices must be made before TensorFlow starts its devices), so the
cpu:2 checks pay for one TensorFlow start and one device set-up between them.
"""

from __future__ import annotations

from typing import Any

import densexp_tui  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
from densexp_tui.core.config import DeviceSection, TrainSection

EPSILON = 0.7
# A task tiny-bert learns in a few dozen steps even under FGM: the label is which half of
# the vocabulary an example's tokens come from.
N_EXAMPLES, LENGTH, VOCAB = 64, 12, 40


def perturbation_per_replica(strategy: Any) -> dict[str, Any]:
    """fgm_perturbation inside strategy.run: the global batch gets epsilon * scale, each
    replica the slice a single device computes for the whole batch's gradient."""
    import numpy as np
    import tensorflow as tf

    from densexp_tui.engine.adversarial import embedding_scale, fgm_perturbation

    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 5, 8)).astype(np.float32) * factor for factor in (0.5, 40.0)]
    matrix = tf.constant(rng.normal(size=(30, 8)).astype(np.float32) * 0.02)
    scale = float(embedding_scale(matrix))
    per_replica = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(grads[context.replica_id_in_sync_group]))

    @tf.function  # as in the train step: a graph with one all-reduce per step
    def perturb(values: Any) -> Any:
        return strategy.run(lambda g: fgm_perturbation(g, EPSILON, embedding_scale(matrix)),
                            args=(values,))

    result = perturb(per_replica)
    local = [t.numpy() for t in strategy.experimental_local_results(result)]
    whole = np.concatenate(grads)
    single = EPSILON * scale * whole / np.sqrt((whole ** 2).sum())
    return {"expected": EPSILON * scale,
            "replica_norms": [float(np.sqrt((t ** 2).sum())) for t in local],
            "expected_replica_norms": [float(np.sqrt((part ** 2).sum()))
                                       for part in np.split(single, 2)],
            "max_error": float(np.abs(np.concatenate(local) - single).max()),
            "replicas": int(strategy.num_replicas_in_sync)}


def _task() -> tuple[dict[str, Any], Any]:
    import numpy as np

    rng = np.random.default_rng(1)
    labels = np.arange(N_EXAMPLES, dtype=np.int32) % 2
    middle = (5 + VOCAB) // 2
    low = rng.integers(5, middle, size=(N_EXAMPLES, LENGTH))
    ids = np.where(labels[:, None] == 1, low + (middle - 5), low).astype(np.int32)
    ids[:, 0] = 2  # [CLS]
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}, labels


def fgm_step_trains(strategy: Any) -> dict[str, Any]:
    """tiny-bert compiled and given the FGM train_step under the strategy: fit lowers the
    loss and the accuracy reaches the task."""
    import tensorflow as tf
    import tf_keras

    from densexp_tui.engine.adversarial import install_fgm
    from densexp_tui.engine.losses import training_loss
    from densexp_tui.engine.models import build_from_config, tiny_bert_config

    tf_keras.utils.set_random_seed(3)
    features, labels = _task()
    train = TrainSection(adversarial="fgm")
    with strategy.scope():
        model = build_from_config(tiny_bert_config(VOCAB, ["a", "b"], dropout=0.0,
                                                   max_length=LENGTH))
        model.compile(optimizer=tf_keras.optimizers.Adam(3e-3), loss=training_loss(train),
                      metrics=[tf_keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
        install_fgm(model, train)
    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(16).repeat()
    history = model.fit(data, epochs=6, steps_per_epoch=N_EXAMPLES // 16, verbose=0)
    return {"losses": history.history["loss"], "accuracy": history.history["accuracy"][-1],
            "replicas": int(strategy.num_replicas_in_sync)}


def strategy_checks() -> dict[str, Any]:
    from densexp_tui.engine.devices import select_placement

    placement = select_placement(DeviceSection(device="cpu:2"))
    with placement.context():
        strategy = placement.strategy
        return {"perturbation": perturbation_per_replica(strategy),
                "step": fgm_step_trains(strategy)}
