"""The runs screen's e key makes an ensemble of the marked runs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from densexp_tui.core.ensemble import ENSEMBLE_KIND
from densexp_tui.core.runstore import RunStore
from densexp_tui.tui.app import DensexpApp
from tests.tui.conftest import wait_for
from tests.unit.ensemble_runs import finished_run, random_probs, true_labels

pytestmark = pytest.mark.timeout(120)


def _ensembles(store: RunStore) -> list[str]:
    return [run.run_id for run in store.list_runs() if run.kind == ENSEMBLE_KIND]


async def test_marked_runs_become_an_ensemble_run(make_app: Callable[..., DensexpApp],
                                                  runs_dir: Path) -> None:
    store = RunStore(runs_dir)
    true = true_labels(40)
    members = [finished_run(store, f"m{i}", random_probs(40, 3, i), true) for i in range(2)]
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("e")  # nothing marked: refused with a hint, no run
        await pilot.pause()
        assert _ensembles(store) == []
        await pilot.press("space", "space", "e")
        await wait_for(pilot, lambda: len(_ensembles(store)) == 1, timeout=30)
        assert sorted(store.read_summary(_ensembles(store)[0]).members) == sorted(members)
        await wait_for(pilot, lambda: any("vs best member" in n.message
                                          for n in app._notifications), timeout=10)


async def test_an_ensemble_replays_to_its_test_metrics(runs_dir: Path) -> None:
    from densexp_tui.core.ensemble import make_ensemble
    from densexp_tui.tui.screens.dashboard import DashboardScreen
    from tests.tui.helpers_dashboard import ScreenTestApp

    store = RunStore(runs_dir)
    true = true_labels(40)
    members = [finished_run(store, f"m{i}", random_probs(40, 3, i), true) for i in range(2)]
    result = make_ensemble(store, members)
    app = ScreenTestApp(lambda: DashboardScreen(result.run_dir, "replay", None,
                                                replay_speed=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.source_finished)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert screen.view.status == "completed"
        assert screen.view.test is not None
        assert screen.view.test["f1"] == pytest.approx(result.test["f1"])
