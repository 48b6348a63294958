"""A screen's worker that fails shows the error dialog, and the app keeps running.

One test per screen that loads in a worker: the failure is forced with monkeypatch, the test
waits for the dialog the user sees, checks what it says, closes it and finds the screen
still there (no more "scanning models…" or "loading…" for ever, no app exit). The sweeps
screen's workers are tested in test_sweeps.py (they need its study fixture).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Callable

import pytest
from textual.screen import Screen
from textual.widgets import Select, Static

from densexp_tui.core.runstore import RunStore
from densexp_tui.tui import screens as screens_package
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.services import UsesWorkbench
from tests.tui.conftest import shown_error_dialog, wait_for

pytestmark = pytest.mark.timeout(120)
TUI_PACKAGE = Path(__file__).resolve().parents[2] / "densexp_tui" / "tui"


async def close_dialog_and_see(pilot: object, app: DensexpApp, screen_type: type) -> None:
    await pilot.press("escape")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, screen_type), timeout=10)
    assert app.is_running


async def test_a_failing_catalog_scan_shows_the_error_and_the_form_stays(
        make_app: Callable[..., DensexpApp], monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.tui.screens import new_experiment

    def broken_catalog() -> list[new_experiment.CatalogModel]:
        raise PermissionError("[Errno 13] Permission denied: '/hf-cache/models--bert'")

    monkeypatch.setattr(new_experiment, "catalog_models", broken_catalog)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: shown_error_dialog(app) is not None, timeout=20)
        dialog = shown_error_dialog(app)
        assert dialog.title_text == "Error while scanning the model catalog"
        assert dialog.message == ("PermissionError: [Errno 13] Permission denied: "
                                  "'/hf-cache/models--bert'")
        assert dialog.log_path is None  # the form shows no run: no run log to offer
        await close_dialog_and_see(pilot, app, new_experiment.NewExperimentScreen)
        catalog = app.screen.query_one("#model-catalog", Select)
        assert catalog.prompt == "no catalog (the scan failed)"


async def test_a_compare_load_error_shows_the_error_instead_of_loading_for_ever(
        make_app: Callable[..., DensexpApp], fixture_runs: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.tui.screens import compare

    def broken_load(store: RunStore, run_ids: list[str]) -> list[compare.LoadedRun]:
        raise ValueError(f"events of {run_ids[0]} are not JSON")

    monkeypatch.setattr(compare, "load_runs", broken_load)  # the name the screen calls
    ids = [run.run_id for run in RunStore(fixture_runs).list_runs()[:2]]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_compare(ids)
        await wait_for(pilot, lambda: shown_error_dialog(app) is not None, timeout=20)
        dialog = shown_error_dialog(app)
        assert dialog.title_text == "Error while loading the runs to compare"
        assert dialog.message == f"ValueError: events of {ids[0]} are not JSON"
        await close_dialog_and_see(pilot, app, compare.CompareScreen)
        title = str(app.screen.query_one("#compare-title", Static).render())
        assert "loading" not in title and "could not load them" in title


async def test_a_dashboard_whose_events_cannot_be_read_shows_the_error_and_the_runs_log(
        make_app: Callable[..., DensexpApp], fixture_runs: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.core.sources import ReplaySource
    from densexp_tui.tui.screens.dashboard import DashboardScreen

    def broken_poll(self: ReplaySource) -> list[object]:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ReplaySource, "poll", broken_poll)
    run = RunStore(fixture_runs).list_runs()[0]
    log_path = fixture_runs / run.run_id / "log.txt"
    log_path.write_text("epoch 1/3\nreading events.jsonl from a dying disk\n")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(run.run_id, live=False)
        await wait_for(pilot, lambda: shown_error_dialog(app) is not None, timeout=20)
        dialog = shown_error_dialog(app)
        assert dialog.title_text == "Error while reading the run's events"
        assert dialog.message == "OSError: [Errno 5] Input/output error"
        assert dialog.log_path == log_path
        log = dialog.query_one("#error-log")
        await wait_for(pilot, lambda: "reading events.jsonl from a dying disk" in log.lines,
                       timeout=10)
        await close_dialog_and_see(pilot, app, DashboardScreen)


def screen_modules() -> list[str]:
    return [f"{screens_package.__name__}.{info.name}"
            for info in pkgutil.iter_modules(screens_package.__path__)]


def runs_workers(source: str) -> bool:
    return "@work" in source or "run_worker(" in source


@pytest.mark.parametrize("module_name", screen_modules())
def test_every_screen_with_workers_reports_their_errors_to_the_app(module_name: str) -> None:
    """Worker.StateChanged does not bubble: a screen that runs workers without UsesWorkbench
    would swallow their errors silently."""
    module = importlib.import_module(module_name)
    if not runs_workers(inspect.getsource(module)):
        pytest.skip(f"{module_name} runs no workers")
    screens = [obj for obj in vars(module).values() if inspect.isclass(obj)
               and issubclass(obj, Screen) and obj.__module__ == module_name]
    assert screens, f"{module_name} defines no screen"
    for screen in screens:
        assert issubclass(screen, UsesWorkbench), screen


def test_no_screen_or_widget_reaches_into_the_app_by_getattr() -> None:
    offenders = []
    for path in sorted(TUI_PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("getattr", "hasattr") and node.args
                    and ast.unparse(node.args[0]) == "self.app"):
                offenders.append(f"{path.relative_to(TUI_PACKAGE)}:{node.lineno}")
    assert offenders == []
