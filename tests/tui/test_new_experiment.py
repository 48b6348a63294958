"""New experiment: as-you-type validation, save/load round trip, preview, review, launch.

Two tests train for real (an mlp on iris; TensorFlow loads in the worker thread): one walks
the screens by keyboard and waits for ``completed``; one quits mid-run and finds the run
``cancelled``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static, TabbedContent

from densexp_tui.core.config import load_config, validate_field
from densexp_tui.core.events import read_events
from densexp_tui.core.runstore import RunStore
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.dialogs import ConfirmDialog, ErrorDialog, PathPrompt
from densexp_tui.tui.screens.dashboard import DashboardScreen
from densexp_tui.tui.screens.home import HomeScreen
from densexp_tui.tui.screens.new_experiment import NewExperimentScreen
from densexp_tui.tui.widgets.form import ConfigField
from densexp_tui.tui.widgets.run_header import RunHeader
from tests.tui.conftest import cells, wait_for

REPO = Path(__file__).resolve().parents[2]


def form(app: DensexpApp) -> NewExperimentScreen:
    assert isinstance(app.screen, NewExperimentScreen), app.screen
    return app.screen


def message_of(field: ConfigField) -> str:
    return str(field.query_one(".field-message", Static).content)


async def type_into(pilot, field: ConfigField, text: str) -> None:
    """Focus a field's Input, empty it and type ``text`` key by key."""
    editor = field.editor
    assert isinstance(editor, Input)
    editor.focus()
    await pilot.press("end", "ctrl+u", *text)


async def open_training_step(pilot) -> None:
    """Data -> Model -> Training; focus lands in the step (typing into a hidden step
    would have the tab switch move focus to its first field)."""
    await pilot.press("ctrl+n", "ctrl+n")
    await pilot.pause()


async def test_bad_value_shows_the_engines_message_and_launch_is_refused(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("n")
        screen = form(app)
        await pilot.press("ctrl+n", "ctrl+n")  # Data -> Model -> Training
        field = screen.config_field("train.learning_rate")
        await type_into(pilot, field, "-1")
        expected = validate_field("train.learning_rate", "-1")[1]
        assert expected and expected in message_of(field)
        assert field.has_class("-invalid")
        assert "train.learning_rate" in str(screen.query_one("#form-status", Static).content)
        assert screen.query_one("#launch-button", Button).disabled
        await pilot.press("ctrl+r", "ctrl+l")
        assert isinstance(app.screen, NewExperimentScreen)  # refused: still here
        assert not app.training.busy
        assert any("train.learning_rate" in n.message for n in app._notifications)
        assert screen.query_one("#steps", TabbedContent).active == "tab-training"
        assert app.focused is field.editor  # taken to the field to fix
        await type_into(pilot, field, "3e-4")
        assert not field.has_class("-invalid")
        assert not screen.query_one("#launch-button", Button).disabled


async def test_steps_cycle_by_keyboard_and_focus_their_first_field(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("n")
        screen = form(app)
        tabs = screen.query_one("#steps", TabbedContent)
        seen = []
        for _ in range(4):
            await pilot.press("ctrl+n")
            await pilot.pause()
            seen.append((tabs.active, app.focused.id if app.focused else None))
        assert seen == [("tab-model", "model-catalog"), ("tab-training", "field-run-name"),
                        ("tab-review", "launch-button"), ("tab-data", "field-data-source")]


async def test_cross_field_problem_blocks_launch(make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("n")
        screen = form(app)
        await type_into(pilot, screen.config_field("data.val_fraction"), "0.6")
        await type_into(pilot, screen.config_field("data.test_fraction"), "0.5")
        cfg, problems = screen.collect()
        assert cfg is None and "nothing to train on" in problems[0][1]
        assert "nothing to train on" in str(screen.query_one("#form-status", Static).content)


async def test_save_then_load_gives_back_the_same_settings(
        make_app: Callable[..., DensexpApp], tmp_path: Path) -> None:
    target = tmp_path / "saved.toml"
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("n")
        screen = form(app)
        # Values set as Load TOML sets them: typing into fields of hidden steps raced with
        # the keys that follow on a loaded machine (the typing paths have their own tests).
        screen.config_field("run.name").set_value("roundtrip")
        screen.config_field("train.learning_rate").set_value(3e-05)
        screen.config_field("model.lora_targets").set_value(["query", "key", "value"])
        screen.config_field("model.finetune").set_value("lora")
        screen.config_field("train.optimizer").set_value("sgd")
        screen.config_field("run.deterministic").set_value(True)
        await pilot.pause()
        saved, problems = screen.collect()
        assert problems == [] and saved is not None
        assert saved.run.name == "roundtrip" and saved.model.lora_targets == [
            "query", "key", "value"]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt), timeout=30)
        prompt_input = app.screen.query_one(Input)
        prompt_input.value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists, timeout=30)
        assert load_config(target) == saved
        await pilot.press("escape")  # leave the changed form: asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=30)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), timeout=30)

        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewExperimentScreen), timeout=30)
        fresh = form(app)
        assert fresh.collect()[0] != saved
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt), timeout=30)
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, NewExperimentScreen)
                       and form(app).collect() == (saved, []), timeout=30)
        assert fresh.config_field("model.lora_rank").display  # lora fields shown for lora


async def test_save_asks_before_overwriting(make_app: Callable[..., DensexpApp],
                                            tmp_path: Path) -> None:
    target = tmp_path / "exists.toml"
    target.write_text("# keep me\n")
    app = make_app()
    async with app.run_test() as pilot:
        await open_path_prompt(pilot, app, "ctrl+s")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=30)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt), timeout=30)
        assert target.read_text() == "# keep me\n"
        await pilot.press("enter")  # still in the prompt: enter again, then overwrite
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=30)
        await pilot.press("y")
        await wait_for(pilot, lambda: "[train]" in target.read_text(), timeout=30)


async def test_loading_a_bad_toml_says_why(make_app: Callable[..., DensexpApp],
                                           tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nfinetune = 'lorra'\n")
    app = make_app()
    async with app.run_test() as pilot:
        await open_path_prompt(pilot, app, "ctrl+o")
        app.screen.query_one(Input).value = str(bad)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, NewExperimentScreen)
                       and any("did you mean lora" in n.message for n in app._notifications),
                       timeout=30)


async def open_path_prompt(pilot: Pilot, app: DensexpApp, key: str) -> None:
    """Open the form, then its save (ctrl+s) or load (ctrl+o) prompt, each awaited."""
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, NewExperimentScreen), timeout=30)
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt), timeout=30)


async def test_file_source_offers_the_columns_and_previews(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        screen = form(app)
        screen.config_field("data.source").set_value("csv")
        await pilot.pause()
        assert screen.config_field("data.path").display
        assert not screen.config_field("data.name").display
        await type_into(pilot, screen.config_field("data.path"),
                        str(REPO / "tests/data/quoted.csv"))
        columns = screen.query_one("#columns-hint", Static)
        await wait_for(pilot, lambda: "Columns:" in str(columns.content), timeout=20)
        assert str(columns.content) == "Columns: id, text, label"
        assert "text" in screen.config_field("data.label_column").suggester.options
        summary = screen.query_one("#preview-summary", Static)
        await wait_for(pilot, lambda: "rows" in str(summary.content), timeout=20)
        assert "Classes:" in str(summary.content)
        await type_into(pilot, screen.config_field("data.label_column"), "nope")
        await wait_for(pilot, lambda: "nope" in str(summary.content), timeout=20)
        assert summary.has_class("-invalid")


async def test_builtin_dataset_preview_and_catalog(make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("n")
        screen = form(app)
        summary = screen.query_one("#preview-summary", Static)
        await wait_for(pilot, lambda: "rows" in str(summary.content), timeout=30)
        assert "4,000 rows" in str(summary.content)
        assert "negative" in str(summary.content)
        catalog = screen.query_one("#model-catalog", Select)
        await wait_for(pilot, lambda: catalog.value == "tiny-bert", timeout=10)
        catalog.value = "mlp"
        await pilot.pause()
        assert screen.config_field("model.name").raw_text() == "mlp"
        assert screen.config_field("model.hidden_units").display
        assert not screen.config_field("model.finetune").display


async def test_setting_a_data_field_to_its_own_value_keeps_the_preview(
        make_app: Callable[..., DensexpApp], monkeypatch: pytest.MonkeyPatch) -> None:
    """A Select re-posting its value (or a field typed back) must not reload the preview:
    on a slow machine the reload blanked the shown preview to "loading…"."""
    import densexp_tui.engine.data.preview as preview_module  # where the form's worker looks

    loads: list[str] = []
    real_preview = preview_module.preview_dataset

    def counting_preview(data, base_dir):  # type: ignore[no-untyped-def]
        loads.append(data.name)
        return real_preview(data, base_dir)

    monkeypatch.setattr(preview_module, "preview_dataset", counting_preview)
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("n")
        screen = form(app)
        summary = screen.query_one("#preview-summary", Static)
        await wait_for(pilot, lambda: "rows" in str(summary.content), timeout=30)
        await app.workers.wait_for_complete()
        shown = loads.copy()
        screen.config_field("data.name").set_value("reviews")
        screen._schedule_preview(0.0)  # what the debounce timer does when it fires
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert loads == shown
        assert "4,000 rows" in str(summary.content)
        await type_into(pilot, screen.config_field("data.max_samples"), "100")
        await wait_for(pilot, lambda: "100 rows" in str(summary.content), timeout=30)
        assert len(loads) == len(shown) + 1


async def test_rerun_review_shows_the_diff_against_the_parent(
        make_app: Callable[..., DensexpApp]) -> None:
    from densexp_tui.core.config import RunConfig

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_new_experiment(RunConfig(), parent="20250301-090000-parent-000001")
        await pilot.pause()
        screen = form(app)
        await type_into(pilot, screen.config_field("train.epochs"), "7")
        await pilot.press("ctrl+r")
        diff = screen.query_one("#review-diff", Static)
        console_text = _render(diff.content)
        assert "train.epochs" in console_text and "7" in console_text
        assert "run.parent" not in console_text
        toml = _render(screen.query_one("#review-toml", Static).content)
        assert 'parent = "20250301-090000-parent-000001"' in toml
        assert "epochs = 7" in toml


def _render(renderable: object) -> str:
    from rich.console import Console

    console = Console(width=100, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


# -- real training -------------------------------------------------------------------------


def _logged_run_finished(runs_dir: Path) -> bool:
    logs = list(runs_dir.glob("*/events.jsonl"))
    return len(logs) == 1 and any(e.kind == "run_finished" for e in read_events(logs[0]).events)


@pytest.mark.slow
async def test_walk_the_steps_launch_and_see_it_complete(
        make_app: Callable[..., DensexpApp], runs_dir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        screen = form(app)
        await pilot.press("tab")  # Source -> Dataset
        assert app.focused is screen.config_field("data.name").editor
        await pilot.press("enter", "down", "enter")  # reviews -> iris
        assert screen.config_field("data.name").raw_text() == "iris"
        await pilot.press("ctrl+n")  # Model step: the catalog picker has focus
        await pilot.press("tab", *"mlp")  # the free model field
        assert screen.config_field("model.name").raw_text() == "mlp"
        await pilot.press("ctrl+n")  # Training step
        await type_into(pilot, screen.config_field("run.name"), "walked")
        await type_into(pilot, screen.config_field("train.epochs"), "2")
        await type_into(pilot, screen.config_field("train.learning_rate"), "0.01")
        screen.config_field("device.device").set_value("cpu")
        await pilot.press("ctrl+r")
        assert app.focused is screen.query_one("#launch-button", Button)
        await pilot.press("enter")  # Launch
        # Wait on what lasts: the run's log ends with run_finished (or an error is shown).
        # Never on app.training.active: it exists only while the run trains, and a warm
        # process can start and finish this small run between two polls.
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog)
                       or _logged_run_finished(runs_dir), timeout=180)
        assert not isinstance(app.screen, ErrorDialog), app.screen.message
        # The dashboard opened on launch and shows how the run ended.
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.view.finished and not app.training.busy, timeout=30)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        assert dashboard.view.status == "completed" and dashboard.view.current_epoch == 2
        header = dashboard.query_one(RunHeader).render().plain.splitlines()[0]
        assert header.startswith("walked") and header.split()[2] == "completed", header
        progress = dashboard.view.progress()
        assert progress.fraction == 1.0 and progress.epoch == progress.epochs == 2, progress
        while not isinstance(app.screen, HomeScreen):
            app.pop_screen()
            await pilot.pause()
        app.screen.refresh_runs()
        row = cells(app)[0]
        assert row[1] == "walked" and row[2] == "✓ completed", row
        summary = RunStore(runs_dir).list_runs()[0]
        assert summary.status == "completed" and summary.epochs_done == 2


@pytest.mark.slow
async def test_quitting_while_training_asks_and_leaves_the_run_cancelled(
        make_app: Callable[..., DensexpApp], runs_dir: Path) -> None:
    from densexp_tui.core.config import RunConfig, apply_overrides

    cfg = apply_overrides(RunConfig(), [
        "run.name=long", "data.name=digits", "model.name=mlp", "train.epochs=2000",
        "train.batch_size=8", "device.device=cpu"])
    app = make_app()
    async with app.run_test() as pilot:
        app.launch_run(cfg, watch=False)
        await wait_for(pilot, lambda: app.training.active is not None
                       and app.training.active.run_id is not None, timeout=180)
        run_id = app.training.active.run_id
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # keep training
        assert app.is_running and app.training.active is not None
        await pilot.press("ctrl+q", "y")
        await wait_for(pilot, lambda: not app.is_running, timeout=120)
    summary = RunStore(runs_dir).read_summary(run_id)
    assert summary.status == "cancelled"
    assert summary.epochs_done < 2000


@pytest.mark.timeout(120)
async def test_a_new_sweep_starts_from_the_forms_saved_settings(
        make_app: Callable[..., DensexpApp], tmp_path: Path) -> None:
    from densexp_tui.tui.screens.sweeps import SweepsScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        screen = form(app)
        await open_training_step(pilot)
        await type_into(pilot, screen.config_field("train.epochs"), "7")
        await pilot.press("ctrl+r")  # reviewing checks the settings but keeps nothing
        assert app.last_experiment_config is None
        await pilot.press("ctrl+s")
        app.screen.query_one(Input).value = str(tmp_path / "seven.toml")
        await pilot.press("enter")  # saved: now they are the settings a sweep starts from
        assert app.last_experiment_config is not None
        assert app.last_experiment_config.train.epochs == 7
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, NewExperimentScreen)
                       or isinstance(app.screen, ConfirmDialog), timeout=10)
        if isinstance(app.screen, ConfirmDialog):
            await pilot.press("enter")  # discard: the saved settings stay the base
        app.open_sweeps()
        await pilot.pause()
        sweeps = app.screen
        assert isinstance(sweeps, SweepsScreen)
        await sweeps.action_new_sweep()  # the form is mounted on its first showing
        await pilot.pause()
        base = str(sweeps.query_one("#new-base", Static).render())
        assert "the New experiment settings" in base and "7 epochs" in base


@pytest.mark.timeout(120)
async def test_typing_and_leaving_the_form_keeps_no_settings_in_the_app(
        make_app: Callable[..., DensexpApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        screen = form(app)
        await open_training_step(pilot)
        await type_into(pilot, screen.config_field("train.epochs"), "9")
        await pilot.press("ctrl+r")
        assert screen.collect()[0] is not None  # valid settings, never launched nor saved
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), timeout=10)
        await pilot.press("y")  # discard
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), timeout=10)
        assert app.last_experiment_config is None


@pytest.mark.timeout(120)
async def test_launch_keeps_the_launched_settings(make_app: Callable[..., DensexpApp],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    launched: list[object] = []
    app = make_app()
    monkeypatch.setattr(app, "launch_run", lambda cfg, watch=True: launched.append(cfg))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await open_training_step(pilot)
        await type_into(pilot, form(app).config_field("train.epochs"), "4")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: bool(launched), timeout=10)
        assert app.last_experiment_config is launched[0]
        assert app.last_experiment_config.train.epochs == 4
