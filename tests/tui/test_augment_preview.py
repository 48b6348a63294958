"""The New experiment form previews augmented examples next to the originals."""

from __future__ import annotations

from typing import Callable

import pytest
from textual.widgets import Static

from densexp_tui.core.augment import augment_preview_lines
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.new_experiment import NewExperimentScreen
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)


async def test_augment_ops_show_originals_and_augmented_rows(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        screen = app.screen
        assert isinstance(screen, NewExperimentScreen)
        summary = screen.query_one("#preview-summary", Static)
        await wait_for(pilot, lambda: "rows" in str(summary.content), timeout=30)
        shown = screen.query_one("#augment-preview", Static)
        assert not shown.display  # augmentation off: nothing extra
        screen.config_field("data.augment").set_value(["delete", "swap"])
        screen.config_field("data.augment_prob").set_value(0.3)
        await pilot.pause()
        await wait_for(pilot, lambda: shown.display, timeout=10)
        texts = screen._preview_texts
        seed = screen.config_field("run.seed").check()[0]
        expected = augment_preview_lines(texts, ["delete", "swap"], 0.3, seed)
        assert str(shown.content) == "\n".join(expected)
        assert expected[1].strip() != expected[2].removeprefix("→").strip()
        screen.config_field("data.augment_prob").set_value(0.0)  # invalid: preview hides
        await pilot.pause()
        await wait_for(pilot, lambda: not shown.display, timeout=10)
