"""The user config in the app: keymap by binding id, effective keys in help, bad files."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import pytest
from rich.console import Console
from textual.widgets import Static

from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.keymap import app_bindings
from densexp_tui.tui.screens.help import HelpScreen
from densexp_tui.tui.screens.home import HomeScreen
from densexp_tui.tui.screens.new_experiment import NewExperimentScreen
from tests.tui.conftest import wait_for
from tests.tui.helpers_notes import record_notes

pytestmark = pytest.mark.timeout(120)


def _write_config(config_dir: Path, text: str) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "config.toml"
    path.write_text(text)
    return path


def _help_lines(app: DensexpApp) -> list[str]:
    """The help screen's text as it is drawn."""
    console = Console(width=160, record=True, file=io.StringIO())
    for section in app.screen.query(".help-section").results(Static):
        console.print(section.content)
    return console.export_text().splitlines()


def test_every_binding_has_an_id() -> None:
    missing = [f"{klass.__name__}: {binding.key} -> {binding.action}"
               for klass, binding in app_bindings() if not binding.id]
    assert missing == []


async def test_keymap_rebinds_a_key_and_help_shows_it(
        make_app: Callable[..., DensexpApp], tui_environment: Path) -> None:
    _write_config(tui_environment, '[keymap]\n"home.new" = "ctrl+n"\n')
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")  # no longer New
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        home_line = next(line for line in _help_lines(app) if "Set up a new experiment" in line)
        assert home_line.split()[0] == "^n", home_line
        await pilot.press("escape")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewExperimentScreen))


async def test_unknown_binding_id_is_named_and_the_rest_applies(
        make_app: Callable[..., DensexpApp], tui_environment: Path) -> None:
    path = _write_config(tui_environment,
                         '[keymap]\n"home.nwe" = "ctrl+n"\n"home.sweeps" = "ctrl+w"\n')
    app = make_app()
    notes = record_notes(app)
    async with app.run_test(size=(120, 40)):
        assert any(str(path) in n and "keymap.home.nwe" in n and "home.new" in n
                   for n in notes), notes
        assert app.keymap_in_use == {"home.sweeps": "ctrl+w"}


@pytest.mark.parametrize("text", ["theme = \n", "keymap = 3\n", "notifications = 'yes'\n",
                                  '[keymap]\n"home.new" = "ctrl+"\n'])
async def test_a_malformed_config_starts_with_defaults_and_says_so(
        text: str, make_app: Callable[..., DensexpApp], tui_environment: Path) -> None:
    path = _write_config(tui_environment, text)
    app = make_app()
    posted = record_notes(app)
    async with app.run_test(size=(120, 40)):
        assert isinstance(app.screen, HomeScreen)
        notes = [n for n in posted if str(path) in n]
        assert len(notes) == 1 and "using the defaults" in notes[0]
        assert "\n" not in notes[0]
        assert app.user_config.notifications is True and app.keymap_in_use == {}


async def test_theme_from_the_user_config(make_app: Callable[..., DensexpApp],
                                          tui_environment: Path) -> None:
    _write_config(tui_environment, 'theme = "densexp-light"\n')
    app = make_app()
    async with app.run_test(size=(120, 40)):
        assert app.theme == "densexp-light"
