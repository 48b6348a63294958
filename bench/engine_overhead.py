"""Engine overhead: the same model, data and steps through ``trainer.train`` and a bare fit.

Both sides build tiny-bert on the built-in reviews with the same seed, tokenize the same
way, use the same tf.data pipeline and optimizer, and run the same number of steps:

- engine: ``densexp_tui.engine.trainer.train`` (events every ``log_every_steps``, cancel
          and NaN checks each batch, TensorBoard scalars, summary, checkpoints, validation).
- bare:   ``model.fit(pipeline, epochs, steps_per_epoch, verbose=0)``, no callbacks.

Printed figures (best of ``--rounds``, alternating sides to share the machine's noise):

- fit loop: ``fit`` wall time with our callback, *minus* the epoch-end work a bare fit
  does not do (validation predict, checkpoints), against the bare ``fit``: the per-step
  cost of the engine. Target <= 1.03.
- fit total: the same including the epoch-end work (depends on the val split size).
- run total: all of ``train()`` (data, tokenizer, model build, test) for context.

Run:  .venv/bin/python bench/engine_overhead.py [--epochs 2] [--samples 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf_keras, never Keras 3
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import densexp_tui  # noqa: E402,F401  (sets the TensorFlow environment before TF loads)
from densexp_tui.core.config import RunConfig, parse_config  # noqa: E402
from densexp_tui.core.runstore import RunStore  # noqa: E402


@dataclass
class Timing:
    fit: float  # wall time of model.fit
    epoch_end: float = 0.0  # of which: our on_epoch_end (validation, checkpoints)
    total: float = 0.0  # whole train() (engine) or build + fit (bare)
    # CPU seconds of the whole process (all threads): steadier than wall time when other
    # jobs share the machine.
    fit_cpu: float = 0.0
    epoch_end_cpu: float = 0.0


def make_config(epochs: int, samples: int, log_every: int) -> RunConfig:
    return parse_config({
        "run": {"name": "bench", "seed": 1},
        "data": {"source": "builtin", "name": "reviews", "max_samples": samples,
                 "max_length": 64},
        "model": {"name": "tiny-bert"},
        "train": {"epochs": epochs, "batch_size": 32, "learning_rate": 2e-3,
                  "log_every_steps": log_every},
        "device": {"device": "auto"},  # no tf.device scope on either side
    }, source="bench")


def time_engine(cfg: RunConfig) -> Timing:
    """train() with model.fit and the callback's epoch end timed from outside."""
    import tf_keras

    from densexp_tui.engine import callbacks
    from densexp_tui.engine.trainer import train

    timing = Timing(fit=0.0)
    real_fit, real_epoch_end = tf_keras.Model.fit, callbacks.EventCallback.on_epoch_end

    def timed_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return real_fit(self, *args, **kwargs)
        finally:
            timing.fit += time.perf_counter() - start
            timing.fit_cpu += time.process_time() - cpu

    def timed_epoch_end(self: Any, *args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return real_epoch_end(self, *args, **kwargs)
        finally:
            timing.epoch_end += time.perf_counter() - start
            timing.epoch_end_cpu += time.process_time() - cpu

    tf_keras.Model.fit = timed_fit
    callbacks.EventCallback.on_epoch_end = timed_epoch_end
    try:
        with tempfile.TemporaryDirectory() as runs:
            start = time.perf_counter()
            result = train(cfg, RunStore(runs))
            timing.total = time.perf_counter() - start
    finally:
        tf_keras.Model.fit, callbacks.EventCallback.on_epoch_end = real_fit, real_epoch_end
    assert result.status == "completed", result.message
    return timing


def time_bare(cfg: RunConfig) -> Timing:
    """The same pieces the engine uses, then a plain fit with no callbacks."""
    import tf_keras

    from densexp_tui.engine import data
    from densexp_tui.engine.models import build_model
    from densexp_tui.engine.optim import make_optimizer, make_schedule

    start = time.perf_counter()
    splits = data.split_dataset(data.load_dataset(cfg.data, seed=cfg.run.seed),
                                cfg.data.val_fraction, cfg.data.test_fraction, cfg.run.seed)
    built = build_model(cfg, splits, None)
    ids = data.tokenize_texts(built.tokenizer, splits.train.texts, built.max_length)
    per_epoch = data.steps_per_epoch(len(ids), cfg.train.batch_size)
    pipeline = data.make_text_pipeline(ids, splits.train.labels, cfg.train.batch_size, True,
                                       cfg.run.seed, num_epochs=cfg.train.epochs,
                                       pad_id=built.tokenizer.pad_token_id)
    schedule = make_schedule(cfg.train, per_epoch * cfg.train.epochs)
    built.model.compile(
        optimizer=make_optimizer(cfg.train, schedule),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[tf_keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    tf_keras.utils.set_random_seed(cfg.run.seed)
    fit_start, cpu = time.perf_counter(), time.process_time()
    built.model.fit(pipeline, epochs=cfg.train.epochs, steps_per_epoch=per_epoch, verbose=0)
    end = time.perf_counter()
    return Timing(fit=end - fit_start, total=end - start, fit_cpu=time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    cfg = make_config(args.epochs, args.samples, args.log_every)
    time_bare(make_config(1, 300, args.log_every))  # warm-up: TF import, first tracing
    engine: list[Timing] = []
    bare: list[Timing] = []
    for index in range(args.rounds):  # alternate who goes first: no side gets warmer caches
        if index % 2:
            engine.append(time_engine(cfg))
            bare.append(time_bare(cfg))
        else:
            bare.append(time_bare(cfg))
            engine.append(time_engine(cfg))
    report(engine, bare, cfg)


def report(engine: list[Timing], bare: list[Timing], cfg: RunConfig) -> None:
    steps = cfg.train.epochs * -(-int(cfg.data.max_samples * 0.8) // cfg.train.batch_size)
    best_bare = min(t.fit for t in bare)
    best_loop = min(t.fit - t.epoch_end for t in engine)
    best_fit = min(t.fit for t in engine)
    print(f"tiny-bert, reviews, {cfg.data.max_samples} samples, ~{steps} steps, "
          f"batch {cfg.train.batch_size}, events every {cfg.train.log_every_steps} steps; "
          f"best of {len(engine)} rounds")
    print(f"bare model.fit          {best_bare:7.2f} s")
    print(f"engine fit loop         {best_loop:7.2f} s   ratio {best_loop / best_bare:.3f}"
          "   (target <= 1.03)")
    print(f"engine fit incl. epoch  {best_fit:7.2f} s   ratio {best_fit / best_bare:.3f}"
          f"   (epoch ends: validation + checkpoints, "
          f"{min(t.epoch_end for t in engine):.2f} s)")
    print(f"run total: engine train() {min(t.total for t in engine):.2f} s, "
          f"bare build+fit {min(t.total for t in bare):.2f} s")
    bare_cpu = min(t.fit_cpu for t in bare)
    loop_cpu = min(t.fit_cpu - t.epoch_end_cpu for t in engine)
    print(f"CPU time (all threads): bare fit {bare_cpu:.2f} s, engine fit loop {loop_cpu:.2f} s"
          f"   ratio {loop_cpu / bare_cpu:.3f}")


if __name__ == "__main__":
    main()
