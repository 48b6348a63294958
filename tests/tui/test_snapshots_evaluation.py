"""Snapshots of the dashboard's Calibration and Errors views on the fixed quickstart run
(predictions from tests/tui/helpers_evaluation.py), at 80x24 and 120x40."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from densexp_tui.tui.screens.dashboard import DashboardScreen
from densexp_tui.tui.widgets.calibration_view import CalibrationView
from densexp_tui.tui.widgets.error_browser import ErrorBrowser
from tests.tui.conftest import wait_for
from tests.tui.helpers_evaluation import quickstart_with_predictions

SIZES = [(80, 24), (120, 40)]
pytestmark = pytest.mark.timeout(120)


def _open_tab(tab: str) -> Callable[[Pilot], Any]:
    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.source_finished)
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one(CalibrationView).data is not None
                       and bool(screen.query_one(ErrorBrowser).shown))
        screen.query_one(TabbedContent).active = tab
        await pilot.pause(0.25)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_calibration_view(snap_compare, make_app: Callable[..., Any], runs_dir: Path,
                          size: tuple[int, int]) -> None:
    run_id = quickstart_with_predictions(runs_dir)
    app = make_app(replay=run_id)
    assert snap_compare(app, terminal_size=size, run_before=_open_tab("calibration"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_errors_view(snap_compare, make_app: Callable[..., Any], runs_dir: Path,
                     size: tuple[int, int]) -> None:
    run_id = quickstart_with_predictions(runs_dir)
    app = make_app(replay=run_id)
    assert snap_compare(app, terminal_size=size, run_before=_open_tab("errors"))
