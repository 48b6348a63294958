"""The compare screen's verdict lines: paired test in words, or why it cannot be done."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from densexp_tui.core.config import RunConfig
from densexp_tui.core.predictions import (
    PREDICTIONS_FILE,
    predictions_from_arrays,
    write_predictions,
)
from densexp_tui.core.runstore import RunStore
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.compare import CompareScreen
from densexp_tui.tui.widgets.paired_comparison import PairedComparison, verdict_lines
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)
LABELS = ("neg", "pos")


def _run(store: RunStore, skill: float, n: int = 400, predictions: bool = True) -> str:
    handle = store.create_run(RunConfig())
    handle.events.append("run_started", labels=list(LABELS))
    rng = np.random.default_rng(0)
    true = np.arange(n) % 2
    logits = rng.normal(size=(n, 2))
    logits[np.arange(n), true] += skill
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if predictions:
        preds = predictions_from_arrays(LABELS, true, probs)
        write_predictions(handle.dir / PREDICTIONS_FILE, preds)
    handle.update_summary(status="completed")
    handle.close()
    return handle.run_id


def test_lines_say_which_run_is_better_and_why_a_test_is_refused(runs_dir: Path):
    store = RunStore(runs_dir)
    weak, strong, old = _run(store, 0.3), _run(store, 3.0), _run(store, 1.0, predictions=False)
    lines = verdict_lines(store, [weak, strong, old])
    texts = [line.text for line in lines]
    assert texts[0].startswith("B is better by") and "F1 points" in texts[0]
    assert "McNemar" in texts[1]
    assert not lines[2].ok and f"densexp evaluate {old}" in texts[2]


async def test_the_compare_screen_shows_the_verdict(runs_dir: Path,
                                                    make_app: Callable[..., DensexpApp]):
    store = RunStore(runs_dir)
    ids = [_run(store, 0.3), _run(store, 3.0)]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(CompareScreen(ids, store))
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                       and any(panel.lines for panel in app.screen.query(PairedComparison)))
        rendered = str(app.screen.query_one(PairedComparison).render())
        assert "B is better by" in rendered and f"A = {ids[0]}" in rendered
