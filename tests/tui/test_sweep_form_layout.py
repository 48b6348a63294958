"""The New sweep form as a person reads it: the screen's title, the search space's keys read
whole at 80 columns, and a "log" box that shows its X only when it is on."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select

from densexp_tui.core.runstore import RunStore
from densexp_tui.tui.screens.sweeps import SweepsScreen
from densexp_tui.tui.widgets.sweep_form import LogScaleBox
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import ScreenTestApp

pytestmark = pytest.mark.timeout(60)


def _app(runs: Path) -> ScreenTestApp:
    store = RunStore(runs)
    return ScreenTestApp(lambda: SweepsScreen(store), store=store)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_search_space_keys_are_read_whole(tmp_path: Path, size: tuple[int, int]) -> None:
    app = _app(tmp_path / "runs")
    async with app.run_test(size=size) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.sub_title == "Sweeps"
        key = app.screen.query_one("#space-key-0", Select)
        assert key.value == "train.learning_rate"
        # The label, a space and the arrow must fit inside the box's borders and padding.
        assert key.content_region.width >= len("train.learning_rate") + 3


async def test_the_log_box_shows_x_only_when_on(tmp_path: Path) -> None:
    app = _app(tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await pilot.pause()
        on_box = app.screen.query_one("#space-log-0", LogScaleBox)
        off_box = app.screen.query_one("#space-log-1", LogScaleBox)
        assert on_box.value and "X" in on_box.render().plain
        assert not off_box.value and "X" not in off_box.render().plain
        off_box.focus()
        await pilot.press("space")
        await pilot.pause()
        assert off_box.value and "X" in off_box.render().plain


async def test_a_sweep_the_command_refuses_says_why_in_its_end_notice(tmp_path: Path) -> None:
    """A real `densexp sweep` started from the form, whose base names a data file that is
    not there: it exits 2 before any study exists, and the notice quotes its one line."""
    from textual.widgets import Input

    base = tmp_path / "base.toml"
    base.write_text('[run]\nname = "gone"\n[data]\nsource = "csv"\npath = "gone.csv"\n')
    app = _app(tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SweepsScreen)
        screen.query_one("#new-name", Input).value = "refused"
        screen.query_one("#new-base-path", Input).value = str(base)
        screen.start_new_sweep()

        def said() -> list[str]:
            return [str(n.message) for n in app._notifications if "ended" in str(n.message)]

        await wait_for(pilot, lambda: bool(said()), timeout=45)
        assert said() == [f"Sweep refused ended (exit 2: {tmp_path / 'gone.csv'}: data.path: "
                          "not found; allowed: an existing csv file)"]
