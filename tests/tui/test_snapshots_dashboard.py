"""Snapshots of the dashboard replaying a fixed run, and of compare on two fixed runs.

Both go through the real app (``make_app`` from conftest: its themes, isolated settings) the
way a user gets there: ``densexp replay RUN`` and the app's compare action. The runs in
tests/data/runs/ have fixed times and seeded noise (regenerate with
``python -m tests.tui.helpers_dashboard``), and replays show recorded time, never the wall
clock, so every frame is reproducible. Update with ``pytest --snapshot-update``.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from textual.pilot import Pilot

from densexp_tui.tui.screens.compare import CompareScreen
from densexp_tui.tui.screens.dashboard import DashboardScreen
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import DATA_RUNS, LORA_FAST, QUICKSTART

SIZES = [(80, 24), (120, 40)]


async def replay_to_the_end(pilot: Pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                   and app.screen.source_finished)
    await pilot.pause(0.25)  # past the next redraw tick


async def open_compare(pilot: Pilot) -> None:
    app: Any = pilot.app
    app.open_compare([QUICKSTART.run_id, LORA_FAST.run_id])
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                   and bool(app.screen.runs))
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_replayed_to_the_end(snap_compare, make_app: Callable[..., Any],
                                       size: tuple[int, int]) -> None:
    app = make_app(runs_dir=DATA_RUNS, replay=QUICKSTART.run_id)
    assert snap_compare(app, terminal_size=size, run_before=replay_to_the_end)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_two_runs(snap_compare, make_app: Callable[..., Any],
                          size: tuple[int, int]) -> None:
    app = make_app(runs_dir=DATA_RUNS)
    assert snap_compare(app, terminal_size=size, run_before=open_compare)
