"""Resume from the runs screen: a cancelled run continues in place and completes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import pytest

from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.runstore import RunStore
from densexp_tui.tui.app import DensexpApp
from tests.tui.conftest import cells, wait_for

pytestmark = pytest.mark.slow


def _cancelled_after_first_epoch(runs_dir: Path) -> str:
    from densexp_tui.engine.trainer import train

    cfg = apply_overrides(RunConfig(), ["run.name=paused", "data.name=iris", "model.name=mlp",
                                        "train.epochs=3", "train.batch_size=16"])
    cancel = threading.Event()

    def cancel_after_epoch_one(event) -> None:
        if event.kind == "epoch":
            cancel.set()

    result = train(cfg, RunStore(runs_dir), cancel=cancel, on_event=cancel_after_epoch_one)
    assert result.status == "cancelled"
    return result.run_id


async def test_resume_key_continues_a_cancelled_run(
        make_app: Callable[..., DensexpApp], runs_dir: Path) -> None:
    run_id = _cancelled_after_first_epoch(runs_dir)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: any("paused" in " ".join(row) for row in cells(app)),
                       timeout=10)
        await pilot.press("R")
        await wait_for(pilot, lambda: RunStore(runs_dir).get(run_id).status == "completed",
                       timeout=120)
        await wait_for(pilot, lambda: not app.training.busy, timeout=30)
    summary = RunStore(runs_dir).get(run_id)
    assert summary.epochs_done == 3
    assert len(RunStore(runs_dir).list_runs()) == 1  # continued in place, not a new run
