"""Resume an interrupted or cancelled run from its last epoch checkpoint, in place.

What makes a resumed run end with the same numbers as one never interrupted:
- weights from ``checkpoints/last.weights.h5`` and the optimizer's variables (moments and
  iteration count, hence the learning-rate schedule's position) from ``optimizer.npz``;
- the data order of epoch ``e`` is a pure function of ``(seed, e)`` (engine/data.py);
- dropout draws from per-layer ``tf.random.Generator``s that are re-seeded from
  ``(seed, epoch, layer)`` at every epoch start (:func:`reseed_dropout`), so the masks of an
  epoch do not depend on what ran before it in the process;
- best epoch, patience and the step counter come from ``checkpoints/state.json``.

TensorFlow is imported only inside the functions that need it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from densexp_tui.core.config import RunConfig, load_config
from densexp_tui.core.errors import RunStoreError
from densexp_tui.core.events import Event, read_events
from densexp_tui.core.runstore import RunStore
from densexp_tui.core.statuses import RESUMABLE_STATUSES


@dataclass
class ResumePoint:
    """Where a run picks up: the last finished epoch and the training state after it."""

    epoch: int
    global_step: int
    optimizer_iterations: int
    best_epoch: int | None
    best_score: float | None
    wait: int
    best_val: dict[str, Any] | None = None
    optimizer_file: Path | None = None
    optimizer_variables: list[str] = field(default_factory=list)


def load_resume_point(run_dir: Path) -> ResumePoint:
    """Read ``checkpoints/state.json``; RunStoreError when no epoch was ever finished."""
    state_path = run_dir / "checkpoints" / "state.json"
    weights = run_dir / "checkpoints" / "last.weights.h5"
    if not state_path.is_file() or not weights.is_file():
        raise RunStoreError("no epoch finished before it stopped, so there is nothing to "
                            "resume from; allowed: re-run it (r on the runs screen)",
                            file=run_dir)
    state = json.loads(state_path.read_text(encoding="utf-8"))
    optimizer_file = run_dir / "checkpoints" / (state.get("optimizer_state") or "")
    return ResumePoint(
        epoch=int(state["epoch"]),
        global_step=int(state["global_step"]),
        optimizer_iterations=int(state["optimizer_iterations"]),
        best_epoch=state.get("best_epoch"),
        best_score=state.get("best_score"),
        wait=int(state.get("wait", 0)),
        best_val=_best_val_from_log(run_dir, state.get("best_epoch")),
        optimizer_file=optimizer_file if optimizer_file.is_file() else None,
        optimizer_variables=list(state.get("optimizer_variables") or []),
    )


def _best_val_from_log(run_dir: Path, best_epoch: int | None) -> dict[str, Any] | None:
    """The validation metrics of the best epoch, as its epoch event recorded them."""
    if best_epoch is None:
        return None
    for event in read_events(run_dir / "events.jsonl").events:
        if event.kind == "epoch" and event.get("epoch") == best_epoch:
            return event.get("val") or event.get("train")
    return None


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


def restore_optimizer(optimizer: Any, trainable: list[Any], point: ResumePoint) -> bool:
    """Create the optimizer's variables and load them from optimizer.npz (same order as
    they were saved). False, with fresh moments, when the file was too big to keep."""
    import numpy as np

    optimizer.build(trainable)
    if point.optimizer_file is None:
        optimizer.iterations.assign(point.optimizer_iterations)
        return False
    found = optimizer.variables
    variables = list(found() if callable(found) else found)
    with np.load(point.optimizer_file) as arrays:
        if len(arrays.files) != len(variables):
            raise RunStoreError(
                f"optimizer state has {len(arrays.files)} variables but the model needs "
                f"{len(variables)}; allowed: resume with the config the run started with",
                file=point.optimizer_file)
        for i, variable in enumerate(variables):
            variable.assign(arrays[f"v{i:05d}"])
    return True


@dataclass
class ResumePlan:
    """A run checked and ready to continue."""

    run_id: str
    cfg: RunConfig  # from the run's own config.toml
    point: ResumePoint


def plan_resume(run_ref: str, store: RunStore) -> ResumePlan:
    """Check that ``run_ref`` can be resumed; RunStoreError (bad input) when it is running,
    finished, or stopped before its first epoch checkpoint. Changes nothing."""
    summary = store.get(run_ref)
    if summary.status not in RESUMABLE_STATUSES:
        raise RunStoreError(
            f"run {summary.run_id} is {summary.status}; allowed: resume a run that is "
            + ", ".join(RESUMABLE_STATUSES), file=store.root)
    run_dir = store.run_dir(summary.run_id)
    point = load_resume_point(run_dir)
    cfg = load_config(run_dir / "config.toml")
    if point.epoch >= cfg.train.epochs:
        raise RunStoreError(f"run {summary.run_id} already finished all {cfg.train.epochs} "
                            "epochs; allowed: re-run it", file=store.root)
    return ResumePlan(summary.run_id, cfg, point)


def resume(run_ref: str, store: RunStore, *, cancel: threading.Event | None = None,
           on_event: Callable[[Event], None] | None = None,
           plan: ResumePlan | None = None) -> Any:
    """Continue run ``run_ref`` in its own directory; returns the trainer's RunResult."""
    from densexp_tui.engine.trainer import train

    plan = plan or plan_resume(run_ref, store)
    handle = store.open_run(plan.run_id)
    handle.claim()
    return train(plan.cfg, store, cancel=cancel, on_event=on_event, handle=handle,
                 resume=plan.point)
