"""The New experiment form has data.split_seed: checked as typed, in the review's TOML."""

from __future__ import annotations

from typing import Callable

import pytest
from textual.widgets import Input, Static

from densexp_tui.core.config import validate_field
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.new_experiment import NewExperimentScreen

pytestmark = pytest.mark.timeout(120)


async def test_the_split_seed_field_validates_and_reaches_the_config(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("n")
        screen = app.screen
        assert isinstance(screen, NewExperimentScreen)
        field = screen.config_field("data.split_seed")
        editor = field.editor
        assert isinstance(editor, Input)
        editor.focus()
        await pilot.press("end", "ctrl+u", *"-2")
        expected = validate_field("data.split_seed", "-2")[1]
        assert expected and expected in str(field.query_one(".field-message", Static).content)
        assert field.has_class("-invalid")
        await pilot.press("end", "ctrl+u", *"5")
        assert not field.has_class("-invalid")
        cfg, problems = screen.collect()
        assert not problems and cfg is not None and cfg.data.split_seed == 5
        assert cfg.effective_split_seed == 5
