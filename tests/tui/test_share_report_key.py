"""The report key: x on the runs screen (marked runs) and on the dashboard (its run)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.dashboard import DashboardScreen
from tests.share.fake_sweep import copy_runs
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.timeout(180)


def _reports(runs_dir: Path) -> list[Path]:
    folder = runs_dir / "reports"
    return sorted(folder.glob("*.html")) if folder.is_dir() else []


async def test_x_on_the_runs_screen_reports_the_marked_runs(
        make_app: Callable[..., DensexpApp], runs_dir: Path) -> None:
    ids = copy_runs(runs_dir, 3)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space", "space")  # mark the two newest runs (space moves down)
        await pilot.press("x")
        await wait_for(pilot, lambda: bool(_reports(runs_dir)), timeout=150)
        (report,) = _reports(runs_dir)
        html = report.read_text()
        assert report.name.startswith("compare-2-runs-")
        assert ids[2] in html and ids[1] in html and ids[0] not in html
        assert "Comparison" in html


async def test_x_on_the_dashboard_reports_its_run(
        make_app: Callable[..., DensexpApp], runs_dir: Path) -> None:
    (run_id,) = copy_runs(runs_dir, 1)
    app = make_app(replay=run_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("x")
        await wait_for(pilot, lambda: bool(_reports(runs_dir)), timeout=150)
        assert [p.name for p in _reports(runs_dir)] == [f"{run_id}.html"]
        assert "Validation at the best epoch" in _reports(runs_dir)[0].read_text()
