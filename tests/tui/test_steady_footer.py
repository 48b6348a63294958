"""The runs screen's footer relabels the Re-run/Resume slot in place as the cursor moves
(a rebuilt footer cost a layout pass, 40-50 ms at 100,000 runs, about every other move)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from textual.widgets._footer import FooterKey

from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.home import HomeScreen
from densexp_tui.tui.widgets.steady_footer import SteadyFooter

pytestmark = pytest.mark.timeout(60)


def status(screen: HomeScreen) -> str:
    run = screen.selected_run()
    assert run is not None
    return run.status


def keys(app: DensexpApp) -> list[FooterKey]:
    return list(app.screen.query_one(SteadyFooter).query(FooterKey))


async def test_the_turn_of_rerun_and_resume_relabels_one_key_in_place(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, HomeScreen)
        await pilot.pause()
        assert status(screen) == "interrupted"
        before = keys(app)
        slot = [key.description for key in before].index("Resume")
        while status(screen) != "diverged":
            await pilot.press("down")
        await pilot.pause()
        after = keys(app)
        assert after == before  # the same widgets: nothing was rebuilt
        assert (after[slot].key, after[slot].description) == ("r", "Re-run")
        assert after[slot].tooltip == "Open the selected run's settings as a new experiment"
        while status(screen) != "interrupted":
            await pilot.press("up")
        await pilot.pause()
        assert keys(app) == before
        assert (before[slot].key, before[slot].description) == ("R", "Resume")
