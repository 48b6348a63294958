"""Where a run picks up: the state an epoch checkpoint left, and restoring the optimizer.

A leaf module (it imports nothing from the engine): the trainer restores from a
``ResumePoint`` and ``engine/resume.py`` plans a resume from one, and ``resume.py`` imports
the trainer, so these pieces cannot live there without an import cycle.
TensorFlow is imported only inside the functions that need it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from densexp_tui.core.errors import RunStoreError
from densexp_tui.core.events import read_events


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
