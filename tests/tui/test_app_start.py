"""Starting the app: no TensorFlow, themes registered and remembered, help, palette, launch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

from densexp_tui.core.config import FIELD_SPECS
from densexp_tui.tui.app import DensexpApp, run_app
from densexp_tui.tui.commands import declared_bindings
from densexp_tui.tui.dialogs import ErrorDialog
from densexp_tui.tui.screens.help import HelpScreen
from densexp_tui.tui.screens.home import HomeScreen
from densexp_tui.tui.screens.new_experiment import NewExperimentScreen
from densexp_tui.tui.settings import load_settings
from densexp_tui.tui.widgets.experiment_form import CARRIED_KEYS, FORM_KEYS

REPO = Path(__file__).resolve().parents[2]


def test_start_does_not_import_tensorflow(tmp_path: Path) -> None:
    """In a fresh interpreter (other tests load TF): first frame, then no tensorflow, nor
    the other libraries that each cost a second or more to import (scikit-learn and scipy
    once took the first frame from 0.6 s to 3.5 s through a message's type import)."""
    script = textwrap.dedent(f"""
        import asyncio, sys
        from densexp_tui.tui.app import DensexpApp

        async def main():
            app = DensexpApp(runs_dir={str(tmp_path / 'runs')!r})
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                assert type(app.screen).__name__ == "HomeScreen", app.screen
                heavy = [m for m in ("tensorflow", "tf_keras", "transformers", "sklearn", "scipy",
                                     "matplotlib", "optuna", "pandas") if m in sys.modules]
                print("HEAVY", heavy)

        asyncio.run(main())
    """)
    env = {"DENSEXP_CONFIG_DIR": str(tmp_path / "config"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY []" in done.stdout


async def test_themes_registered_and_choice_remembered(
        make_app: Callable[..., DensexpApp], tui_environment: Path) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        assert {"densexp-dark", "densexp-light"} <= set(app.available_themes)
        assert app.theme == "densexp-dark"
        assert app.theme_variables["status-failed"]  # the app's own variables are there
        app.theme = "densexp-light"
        await pilot.pause()
    assert load_settings()[0].theme == "densexp-light"
    assert (tui_environment / "settings.toml").exists()
    again = make_app()
    async with again.run_test():
        assert again.theme == "densexp-light"


async def test_user_theme_is_loaded_and_a_bad_one_reported(
        make_app: Callable[..., DensexpApp], tui_environment: Path) -> None:
    themes = tui_environment / "themes"
    themes.mkdir(parents=True)
    (themes / "mine.toml").write_text('name = "mine"\nprimary = "#336699"\ndark = true\n')
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    app = make_app()
    async with app.run_test() as pilot:
        assert "mine" in app.available_themes
        assert "broken" not in app.available_themes
        app.theme = "mine"  # no status colours of its own: the fallbacks fill them in
        await pilot.pause()
        assert app.theme_variables["status-completed"]
        notes = [n.message for n in app._notifications]
        assert any("broken.toml" in note and "primary" in note for note in notes)


async def test_unusable_settings_file_gives_defaults(
        make_app: Callable[..., DensexpApp], tui_environment: Path) -> None:
    tui_environment.mkdir(parents=True, exist_ok=True)
    (tui_environment / "settings.toml").write_text("theme = [not toml")
    app = make_app()
    async with app.run_test():
        assert app.theme == "densexp-dark"


def _help_text(app: DensexpApp) -> str:
    console = Console(width=120, record=True, file=open("/dev/null", "w"))
    for section in app.screen.query(".help-section"):
        console.print(section.content)
    return console.export_text()


async def test_help_lists_every_binding_of_every_screen(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = _help_text(app)
        for screen_class in (HomeScreen, NewExperimentScreen, ErrorDialog, DensexpApp):
            for info in declared_bindings(screen_class):
                if info.description:
                    assert info.description in text, (screen_class, info)
                    first_words = " ".join(info.tooltip.split()[:2])
                    assert first_words in text, (screen_class, info)
        assert "Launch" in text and "Re-run" in text and "Compare" in text
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


def test_every_binding_has_an_id_and_a_tooltip() -> None:
    from densexp_tui.tui.dialogs import ConfirmDialog, PathPrompt
    from densexp_tui.tui.widgets.runs_table import RunsTable

    for node_class in (DensexpApp, HomeScreen, RunsTable, NewExperimentScreen, HelpScreen,
                       ConfirmDialog, ErrorDialog, PathPrompt):
        for info in declared_bindings(node_class):
            assert info.binding_id and info.tooltip, (node_class.__name__, info)


def test_the_form_covers_every_config_key() -> None:
    assert sorted([*FORM_KEYS, *CARRIED_KEYS]) == sorted(FIELD_SPECS)


async def test_palette_offers_what_the_screen_can_do(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        home_titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"New", "Re-run", "Compare", "Delete", "Theme", "Quit"} <= home_titles
        assert "Launch" not in home_titles
        await pilot.press("n")
        form_titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Launch", "Save", "Load", "Review"} <= form_titles
        assert "Re-run" not in form_titles


async def test_launch_of_a_bad_toml_shows_the_one_line_error(
        make_app: Callable[..., DensexpApp], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nlearnig_rate = 0.1\n")
    app = make_app(launch=bad)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)
        assert "did you mean learning_rate" in app.screen.message
        assert not app.training.busy
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


def test_run_app_refuses_bad_input_with_exit_code_2(tmp_path: Path, capfd: Any) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nepochs = 0\n")
    assert run_app(runs_dir=tmp_path / "runs", launch=bad) == 2
    assert "train.epochs" in capfd.readouterr().err
    assert run_app(runs_dir=tmp_path / "runs", replay="nothing-like-this") == 2
