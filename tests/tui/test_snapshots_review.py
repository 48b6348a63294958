"""Snapshots of the New experiment Review step at 80x24: the TOML that will run, and for a
re-run what changed against the parent run.

Same set-up as test_snapshots_home (fixture runs in ./runs of the test's own folder, UTC).
Update with ``pytest tests/tui/test_snapshots_review.py --snapshot-update`` and read the SVGs.
"""

from __future__ import annotations

from typing import Any, Callable

from textual.pilot import Pilot

from densexp_tui.tui.screens.new_experiment import NewExperimentScreen
from tests.tui.conftest import wait_for
from tests.tui.test_snapshots_home import open_new_experiment, runs_here, settle

SIZE = (80, 24)


async def review(pilot: Pilot) -> None:
    await pilot.press("ctrl+r")
    screen: Any = pilot.app.screen
    await wait_for(pilot, lambda: screen.query_one("#steps").active == "tab-review",
                   timeout=10)
    await settle(pilot)


def test_review_shows_the_toml(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    async def open_review(pilot: Pilot) -> None:
        await open_new_experiment(pilot)
        await review(pilot)

    app = make_app(runs_dir=runs_here())
    assert snap_compare(app, terminal_size=SIZE, run_before=open_review)


def test_review_of_a_rerun_shows_what_changed(snap_compare: Any,
                                              make_app: Callable[..., Any]) -> None:
    async def rerun_with_a_new_learning_rate(pilot: Pilot) -> None:
        app: Any = pilot.app
        await settle(pilot)
        while app.screen.selected_run().name != "quickstart":
            await pilot.press("down")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, NewExperimentScreen), timeout=10)
        screen: Any = app.screen
        await settle(pilot)  # the form's preview and catalog workers, as a person would wait
        # Set the value the way the field's own edit does (Input.value posts Changed): typing
        # into a field on a hidden tab raced with the keys that followed it.
        screen.config_field("train.learning_rate").editor.value = "0.001"
        await settle(pilot)
        await review(pilot)

    app = make_app(runs_dir=runs_here())
    assert snap_compare(app, terminal_size=SIZE, run_before=rerun_with_a_new_learning_rate)
