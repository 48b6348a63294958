"""Resume an interrupted or cancelled run from its last epoch checkpoint, in place.

What makes a resumed run end with the same numbers as one never interrupted:
- weights from ``checkpoints/last.weights.h5`` and the optimizer's variables (moments and
  iteration count, hence the learning-rate schedule's position) from ``optimizer.npz``;
- the data order of epoch ``e`` is a pure function of ``(seed, e)`` (engine/data/ordering.py);
- dropout draws from per-layer ``tf.random.Generator``s that are re-seeded from
  ``(seed, epoch, layer)`` at every epoch start (``dropout.reseed_dropout``), so the masks of an
  epoch do not depend on what ran before it in the process;
- best epoch, patience and the step counter come from ``checkpoints/state.json``.

The pieces the trainer itself needs (the resume point, restoring the optimizer,
re-seedable dropout) live in the leaf modules ``resume_state.py`` and ``dropout.py``, so
this module may import the trainer without a cycle.
TensorFlow is imported only inside the functions that need it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from densexp_tui.core.config import RunConfig, load_config
from densexp_tui.core.errors import RunStoreError
from densexp_tui.core.events import Event
from densexp_tui.core.runstore import RunStore
from densexp_tui.core.statuses import RESUMABLE_STATUSES  # re-exported
from densexp_tui.engine.dropout import (  # re-exported
    reseed_dropout,
    use_generator_dropout,
)
from densexp_tui.engine.resume_state import (  # re-exported: the contract names them here
    ResumePoint,
    load_resume_point,
    restore_optimizer,
)

__all__ = [
    "RESUMABLE_STATUSES", "ResumePlan", "ResumePoint", "load_resume_point", "plan_resume",
    "reseed_dropout", "restore_optimizer", "resume", "use_generator_dropout",
]


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
