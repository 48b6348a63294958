"""The New experiment form's Seeds field launches one run per seed, as one group."""

from __future__ import annotations

from typing import Callable

import pytest
from textual.widgets import Input

from densexp_tui.core.config import RunConfig
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.new_experiment import NewExperimentScreen
from densexp_tui.tui.widgets.seeds_field import SeedsField

pytestmark = pytest.mark.timeout(60)


async def _type_seeds(app: DensexpApp, pilot, text: str) -> SeedsField:
    assert isinstance(app.screen, NewExperimentScreen)
    await pilot.press("ctrl+n", "ctrl+n")  # Data -> Model -> Training
    field = app.screen.query_one(SeedsField)
    editor = field.query_one(Input)
    editor.focus()
    await pilot.press("end", "ctrl+u", *text)
    return field


async def test_seeds_launch_one_run_per_seed_in_one_group(
        make_app: Callable[..., DensexpApp], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    launched: list[tuple[RunConfig, bool]] = []
    monkeypatch.setattr(app, "launch_run",
                        lambda cfg, watch=True: launched.append((cfg, watch)))
    async with app.run_test() as pilot:
        await pilot.press("n")
        await _type_seeds(app, pilot, "3,4")
        await pilot.press("ctrl+l")
        await pilot.pause()
    assert [cfg.run.seed for cfg, _ in launched] == [3, 4]
    assert [watch for _, watch in launched] == [True, False]
    groups = {cfg.run.group for cfg, _ in launched}
    assert len(groups) == 1 and groups.pop()


async def test_duplicate_seeds_are_refused_with_the_reason(
        make_app: Callable[..., DensexpApp], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    launched: list[RunConfig] = []
    monkeypatch.setattr(app, "launch_run", lambda cfg, watch=True: launched.append(cfg))
    async with app.run_test() as pilot:
        await pilot.press("n")
        field = await _type_seeds(app, pilot, "1,1")
        assert field.has_class("-invalid")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, NewExperimentScreen)
        assert any("given twice" in n.message for n in app._notifications)
    assert launched == []
