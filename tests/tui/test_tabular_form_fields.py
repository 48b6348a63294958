"""New experiment on tabular data: the form does not ask about words and tokens.

Found by re-running an MLP sweep trial on `wine` from the runs screen: the form showed Max
length, Batching, Pad to multiple of, Augment, Augment prob and Adversarial, none of which
does anything for a table of numbers (augmentation and FGM are even refused at launch).
"""

from __future__ import annotations

from typing import Callable

import pytest

from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.new_experiment import NewExperimentScreen
from densexp_tui.tui.widgets.experiment_form import TEXT_ONLY_KEYS
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)


def shown_text_keys(screen: NewExperimentScreen) -> list[str]:
    return [key for key in TEXT_ONLY_KEYS if screen.config_field(key).display]


async def open_form(pilot, app: DensexpApp) -> NewExperimentScreen:
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, NewExperimentScreen), timeout=30)
    screen = app.screen
    assert isinstance(screen, NewExperimentScreen)
    return screen


async def test_the_mlp_and_a_tabular_builtin_hide_the_text_only_fields(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        assert shown_text_keys(screen) == list(TEXT_ONLY_KEYS)  # tiny-bert on reviews
        screen.config_field("model.name").set_value("mlp")
        await pilot.pause()
        assert shown_text_keys(screen) == []
        screen.config_field("model.name").set_value("tiny-bert")
        await pilot.pause()
        assert shown_text_keys(screen) == list(TEXT_ONLY_KEYS)
        screen.config_field("data.name").set_value("wine")  # a table, whatever the model
        await pilot.pause()
        assert shown_text_keys(screen) == []
        screen.config_field("data.name").set_value("reviews")
        await pilot.pause()
        assert shown_text_keys(screen) == list(TEXT_ONLY_KEYS)


async def test_augmentation_set_before_switching_to_the_mlp_stays_in_sight(
        make_app: Callable[..., DensexpApp]) -> None:
    """The launch is refused for it, so its field must stay where the user can clear it."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        screen.config_field("data.augment").set_value(["swap"])
        await pilot.pause()
        screen.config_field("model.name").set_value("mlp")
        await pilot.pause()
        assert shown_text_keys(screen) == ["data.augment"]
        status = str(screen.query_one("#form-status").render())
        assert "data.augment" in status
