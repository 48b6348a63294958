"""Footers and help agree with what a screen offers, and footers fit in 80 columns.

A footer wider than the terminal silently cuts its last keys (it once lost "n By row" and
"t Tab" on a replay); the help screen once listed keys the screen hid (Resume without the
resume engine, Cancel on a replay).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest
from rich.console import Console
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.dashboard import DashboardScreen
from densexp_tui.tui.screens.help import HelpScreen
from densexp_tui.tui.screens.home import HomeScreen
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import DATA_RUNS, QUICKSTART
from tests.tui.test_dashboard import live_run

NARROW = (80, 24)


def footer_keys(app: DensexpApp) -> list[FooterKey]:
    footer = app.screen.query_one(Footer)
    return [key for key in footer.query(FooterKey) if not key.has_class("-command-palette")]


def shown(app: DensexpApp) -> list[str]:
    return [key.description for key in footer_keys(app)]


def cut_off(app: DensexpApp) -> list[str]:
    """Footer keys that do not fit: past the palette hint (or the screen's right edge)."""
    footer = app.screen.query_one(Footer)
    palette = [key for key in footer.query(FooterKey) if key.has_class("-command-palette")]
    right = palette[0].region.x if palette else app.size.width
    return [key.description for key in footer_keys(app) if key.region.right > right]


def help_text(app: DensexpApp) -> str:
    console = Console(width=120, record=True, file=open(os.devnull, "w"))
    for section in app.screen.query(".help-section"):
        console.print(section.content)
    return console.export_text()


async def test_the_check_catches_a_footer_that_is_cut_off(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=(50, 24)) as pilot:
        await pilot.pause()
        assert cut_off(app)


async def test_home_footer_offers_resume_or_rerun_by_the_selected_run_and_fits(
        make_app: Callable[..., DensexpApp], fixture_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        screen = app.screen
        assert isinstance(screen, HomeScreen)
        await pilot.pause()
        assert screen.selected_run().status == "interrupted"  # newest first
        assert "Resume" in shown(app) and "Re-run" not in shown(app)
        assert not cut_off(app)
        while screen.selected_run().status != "diverged":
            await pilot.press("down")
        await pilot.pause()
        assert "Re-run" in shown(app) and "Resume" not in shown(app)
        assert {"New", "Mark", "Compare", "Help", "Quit"} <= set(shown(app))
        assert not cut_off(app)
        # Display only: R still answers on a run that cannot resume, and says why.
        await pilot.press("R")
        await pilot.pause()
        assert not app.training.busy


@pytest.mark.parametrize("mode", ["replay", "live"])
async def test_dashboard_footer_fits_in_80_columns(make_app: Callable[..., DensexpApp],
                                                   tmp_path: Path, mode: str) -> None:
    if mode == "replay":
        app = make_app(runs_dir=DATA_RUNS, replay=QUICKSTART.run_id)
    else:
        run_dir, _ = live_run(tmp_path, epochs_written=1, pid=os.getpid())
        app = make_app(runs_dir=run_dir.parent)
    async with app.run_test(size=NARROW) as pilot:
        if mode == "live":
            app.open_run(QUICKSTART.run_id, live=True)
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.view.latest_epoch is not None)
        expected = {"Back", "Re-run", "By row", "Tab"} if mode == "replay" else \
            {"Back", "Cancel run", "By row", "Tab"}
        # The footer is rebuilt when the run's status arrives (on a loaded machine it was
        # still empty 0.3 s after the first epoch): wait for the keys the user reads.
        await wait_for(pilot, lambda: expected <= set(shown(app)), timeout=30)
        await pilot.pause()  # their places are laid out after they mount
        assert not cut_off(app), shown(app)


async def test_help_from_a_replay_lists_its_keys_and_not_cancel(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app(runs_dir=DATA_RUNS, replay=QUICKSTART.run_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=10)
        text = help_text(app)
        assert text.lstrip().startswith("Dashboard (replay)")
        assert "Scrub back" in text and "Re-run" in text
        assert "Cancel run" not in text


async def test_help_from_a_live_dashboard_lists_cancel_and_no_replay_keys(
        make_app: Callable[..., DensexpApp], tmp_path: Path) -> None:
    run_dir, _ = live_run(tmp_path, epochs_written=1, pid=os.getpid())
    app = make_app(runs_dir=run_dir.parent)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(QUICKSTART.run_id, live=True)
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.view.latest_epoch is not None)
        await pilot.pause(0.3)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=10)
        text = help_text(app)
        assert text.lstrip().startswith("Dashboard (live)")
        assert "Cancel run" in text
        assert "Scrub back" not in text and "Replay ten times" not in text


async def test_help_lists_resume(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=10)
        assert "Resume" in help_text(app)


async def test_a_checkbox_says_whether_it_is_on(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        screen: Any = app.screen
        # The run keys are on the Training step: go there as a person would (Next twice), so
        # the key goes to a checkbox that is on screen.
        await pilot.press("ctrl+n", "ctrl+n")
        await wait_for(pilot, lambda: screen.query_one("#steps").active == "tab-training",
                       timeout=10)
        checkbox = screen.config_field("run.deterministic").editor
        assert checkbox.value is False and str(checkbox.label) == "off"
        checkbox.focus()
        await pilot.press("space")
        await pilot.pause()
        assert checkbox.value is True and str(checkbox.label) == "on"
        assert screen.config_field("run.deterministic").raw_text() == "true"
