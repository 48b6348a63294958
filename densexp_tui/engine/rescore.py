"""`densexp evaluate RUN`: re-score a finished run's best checkpoint on its test split.

For runs that predate predictions/test.jsonl (or whose file was lost): the data, split and
best weights are rebuilt as the run had them, and the trainer's own pipeline builder feeds
the test rows, so the numbers are the ones training would have written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from densexp_tui.core.errors import RunStoreError
from densexp_tui.core.predictions import PREDICTIONS_FILE
from densexp_tui.engine.evaluation import score_test_split

if TYPE_CHECKING:
    from densexp_tui.core.runstore import RunStore

FINISHED_STATUSES = ("completed", "cancelled", "diverged", "failed", "interrupted")


@dataclass
class EvaluateResult:
    run_id: str
    run_dir: Path
    test: dict[str, Any]
    predictions: Path


def evaluate_run(run_ref: str, store: RunStore) -> EvaluateResult:
    """Re-score a finished run's best checkpoint on its test split: a ``test`` event (marked
    ``rescored``) and predictions/test.jsonl. BadInput for an unknown, running or
    checkpoint-less run, before anything is written."""
    from densexp_tui.core.events import EventWriter
    from densexp_tui.engine.logcapture import capture_library_output

    summary = store.get(run_ref)
    run_dir = store.run_dir(summary.run_id)
    _check_evaluable(summary.status, run_dir)
    with capture_library_output(run_dir / "log.txt"):
        test = _score_saved_run(run_dir)
    with EventWriter(run_dir / "events.jsonl") as events:
        events.append("test", rescored=True, **test)
    return EvaluateResult(summary.run_id, run_dir, test, run_dir / PREDICTIONS_FILE)


def _check_evaluable(status: str, run_dir: Path) -> None:
    if status not in FINISHED_STATUSES:
        raise RunStoreError(f"the run is {status}; allowed: a finished run "
                            f"({', '.join(FINISHED_STATUSES)})", file=run_dir)
    checkpoints = run_dir / "checkpoints"
    if not any(checkpoints.glob("*.weights.h5")) and not (run_dir / "adapters.npz").is_file():
        raise RunStoreError("the run has no checkpoint to score (it never finished an "
                            "epoch); allowed: a run with checkpoints/best.weights.h5",
                            file=run_dir)


def _score_saved_run(run_dir: Path) -> dict[str, Any]:
    """Rebuild data, split and best weights as the run had them, then score the test split."""
    from densexp_tui.core.config import load_config, resolve_paths
    from densexp_tui.engine.data import load_dataset, split_dataset
    from densexp_tui.engine.models import load_trained_model
    from densexp_tui.engine.trainer import Prepared, _inputs

    cfg = resolve_paths(load_config(run_dir / "config.toml"))
    dataset = load_dataset(cfg.data, cfg.base_dir, seed=cfg.effective_split_seed)
    splits = split_dataset(dataset, cfg.data.val_fraction, cfg.data.test_fraction,
                           cfg.effective_split_seed)
    built = load_trained_model(run_dir, "best")
    # The trainer's own pipeline builder, so the rows go through exactly what training used.
    prepared = Prepared(cfg, None, splits, built, "cpu")  # type: ignore[arg-type]
    test = score_test_split(built.model, _inputs(prepared, "test"), splits.test.texts, run_dir)
    if test is None:
        raise RunStoreError("the run's test split is empty (data.test_fraction = 0); "
                            "allowed: a run with test examples", file=run_dir)
    return test
