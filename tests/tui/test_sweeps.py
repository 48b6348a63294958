"""The Sweeps screen: studies and trials from a real journal study (fake trainer), the
best-so-far curve and importances, stop, open a trial, and starting a sweep from the form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Select, Static

from densexp_tui.core.runstore import RunStore
from densexp_tui.core.sweepconfig import FloatRange, load_sweep
from densexp_tui.tui.screens.sweeps import SweepsScreen
from densexp_tui.tui.widgets.line_chart import LineChart
from tests.sweep.conftest import Sweeper, write_sweep
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import ScreenTestApp

SWEEP = """
[sweep]
name = "tui-study"
n_trials = 5
pruner = "none"
[space]
"train.learning_rate" = {low = 1e-5, high = 1e-1, log = true}
"model.dropout" = {low = 0.0, high = 0.5}
"""


@pytest.fixture(scope="module")
def study_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs directory holding one finished 5-trial study (trained by the fake trainer)."""
    folder = tmp_path_factory.mktemp("sweeps-tui")
    sweeper = Sweeper(folder / "runs")
    outcome = sweeper.run(write_sweep(folder, SWEEP))
    assert outcome.finished == 5
    return sweeper.runs


def _app(runs: Path) -> ScreenTestApp:
    store = RunStore(runs)
    return ScreenTestApp(lambda: SweepsScreen(store), store=store)


def _screen(app: ScreenTestApp) -> SweepsScreen:
    screen = app.screen
    assert isinstance(screen, SweepsScreen)
    return screen


async def test_lists_the_study_its_trials_curve_and_importances(study_runs: Path) -> None:
    app = _app(study_runs)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = _screen(app)
        trials = screen.query_one("#trials-table", DataTable)
        await wait_for(pilot, lambda: trials.row_count == 5)
        studies = screen.query_one("#studies-table", DataTable)
        assert studies.row_count == 1 and str(studies.get_row_at(0)[0]) == "tui-study"
        headers = [str(c.label) for c in trials.columns.values()]
        # The outcome before the parameters: at 80 columns it stays on the screen.
        assert headers[:5] == ["#", "state", "value", "learning_rate", "dropout"]
        assert {"state", "value", "epochs", "duration", "pruned at", "run"} <= set(headers)
        chart = screen.query_one("#best-curve", LineChart)
        assert chart.series and chart.series[0].points
        importances = str(screen.query_one("#importances", Static).render())
        assert "learning_rate" in importances and "dropout" in importances


async def test_stop_key_writes_the_stop_file(study_runs: Path) -> None:
    app = _app(study_runs)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = _screen(app)
        await wait_for(pilot, lambda: screen.snapshot is not None and
                       screen.snapshot.selected is not None)
        await pilot.press("s")
        stop_file = study_runs / ".sweeps" / "tui-study.stop"
        await wait_for(pilot, stop_file.exists)
        stop_file.unlink()


async def test_open_trial_pushes_its_dashboard(study_runs: Path) -> None:
    from densexp_tui.tui.screens.dashboard import DashboardScreen

    app = _app(study_runs)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = _screen(app)
        trials = screen.query_one("#trials-table", DataTable)
        await wait_for(pilot, lambda: trials.row_count == 5)
        trials.focus()
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_a_new_sweep_from_the_form_is_launched(study_runs: Path, tmp_path: Path,
                                                     monkeypatch) -> None:
    launched: list[tuple[Any, ...]] = []

    class FakeProcess:
        pid = 4242

        def poll(self) -> None:
            return None

    def fake_launch(*args: Any) -> FakeProcess:
        launched.append(args)
        return FakeProcess()

    monkeypatch.setattr("densexp_tui.sweep.launch.launch_sweep_process", fake_launch)
    runs = tmp_path / "runs"
    app = _app(runs)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = _screen(app)
        await pilot.press("n")
        screen.query_one("#new-name", Input).value = "from-form"
        screen.query_one("#new-workers", Input).value = "2"
        screen.query_one("#space-key-2", Select).clear()
        for index in (2,):
            screen.query_one(f"#space-low-{index}", Input).value = ""
            screen.query_one(f"#space-high-{index}", Input).value = ""
        screen.start_new_sweep()
        await pilot.pause()
        assert str(screen.query_one("#new-problem", Static).render()) == ""
    assert len(launched) == 1
    sweep_file, runs_dir, name = launched[0][:3]
    cfg = load_sweep(sweep_file)
    assert name == "from-form" and runs_dir == RunStore(runs).root
    assert list(launched[0][4]) == ["--workers", "2"]  # the form's workers choice
    assert set(cfg.space) == {"train.learning_rate", "train.batch_size"}
    learning_rate = cfg.space["train.learning_rate"]
    assert isinstance(learning_rate, FloatRange) and learning_rate.log
    assert cfg.sweep.pruner == "median"


async def test_a_bad_form_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    app = _app(tmp_path / "runs")
    async with app.run_test(size=(160, 45)) as pilot:
        screen = _screen(app)
        await pilot.press("n")
        screen.query_one("#space-low-0", Input).value = "0.1"
        screen.query_one("#space-high-0", Input).value = "0.01"
        screen.start_new_sweep()
        await pilot.pause()
        problem = str(screen.query_one("#new-problem", Static).render())
        assert "low 0.1 is not below high 0.01" in problem and "\n" not in problem
    assert not (tmp_path / "runs" / ".sweeps").exists()


async def test_a_storage_url_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    app = _app(tmp_path / "runs")
    async with app.run_test(size=(160, 45)) as pilot:
        screen = _screen(app)
        storage = screen.query_one("#sweeps-storage", Input)
        storage.value = "postgresql://u:hidden@127.0.0.1:9/db"
        storage.focus()
        await pilot.press("enter")
        problem = screen.query_one("#sweeps-problem", Static)
        await wait_for(pilot, lambda: "127.0.0.1:9" in str(problem.render()))
        assert "hidden" not in str(problem.render())


# -- worker errors reach the screen (the app's one handler) ----------------------------------
@pytest.mark.timeout(300)
async def test_a_failing_stop_shows_the_error_and_the_app_keeps_running(
        study_runs: Path, tui_environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.tui.app import DensexpApp
    from tests.tui.conftest import shown_error_dialog

    def refused(*args: Any) -> None:
        raise PermissionError("[Errno 13] Permission denied: '.sweeps/tui-study.stop'")

    monkeypatch.setattr("densexp_tui.sweep.runner.request_stop", refused)
    app = DensexpApp(runs_dir=study_runs)
    async with app.run_test(size=(160, 45)) as pilot:
        app.open_sweeps()
        await wait_for(pilot, lambda: isinstance(app.screen, SweepsScreen)
                       and app.screen.snapshot is not None
                       and app.screen.snapshot.selected is not None)
        await pilot.press("s")
        await wait_for(pilot, lambda: shown_error_dialog(app) is not None)
        dialog = shown_error_dialog(app)
        assert dialog.title_text == "Error while stopping the study"
        assert "PermissionError: [Errno 13] Permission denied" in dialog.message
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepsScreen))
        assert app.is_running


@pytest.mark.timeout(300)
async def test_a_failing_study_read_shows_one_dialog_not_one_a_second(
        tmp_path: Path, tui_environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.sweep.reader import StudyReader
    from densexp_tui.tui.app import DensexpApp
    from tests.tui.conftest import shown_error_dialog

    calls: list[int] = []

    def broken(self: StudyReader, url: str, selected: str | None,
               since: tuple[int, int] | None = None) -> Any:
        calls.append(1)
        raise RuntimeError("journal storage is corrupt")

    monkeypatch.setattr(StudyReader, "snapshot", broken)
    app = DensexpApp(runs_dir=tmp_path / "runs")
    async with app.run_test(size=(160, 45)) as pilot:
        app.open_sweeps()
        await wait_for(pilot, lambda: shown_error_dialog(app) is not None)
        dialog = shown_error_dialog(app)
        assert (dialog.title_text, dialog.message) == (
            "Error while reading the studies", "RuntimeError: journal storage is corrupt")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepsScreen))
        seen = len(calls)
        # The refresh timer reads again every second; the same error is not shown again.
        await wait_for(pilot, lambda: len(calls) >= seen + 2)
        assert isinstance(app.screen, SweepsScreen) and app.is_running


@pytest.mark.timeout(240)
async def test_a_big_running_study_shows_every_trial_and_the_ones_that_finish(
        tmp_path: Path) -> None:
    """300 trials (the table fills in slices) and a running one: the running trial that
    completes and a new trial show on a later refresh, the other rows untouched."""
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial

    from tests.sweep.study_factory import write_study

    study = write_study(tmp_path, "big", 300, running=1)
    app = _app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        trials = _screen(app).query_one("#trials-table", DataTable)
        await wait_for(pilot, lambda: trials.row_count == 301)
        headers = [str(c.label) for c in trials.columns.values()]
        state = headers.index("state")

        def shown(key: str, column: int) -> str:
            return str(trials.get_row(key)[column])

        assert [str(trials.get_row_at(i)[0]) for i in (0, 150, 300)] == ["0", "150", "300"]
        assert shown("300", state) == "running" and shown("10", state) == "complete"
        before = shown("10", headers.index("value"))
        running = next(t for t in study.get_trials() if t.state == TrialState.RUNNING)
        study.tell(running.number, 0.99)
        study.add_trial(create_trial(
            params={"train.learning_rate": 1e-3, "train.batch_size": 16},
            distributions={"train.learning_rate": FloatDistribution(1e-5, 1e-2, log=True),
                           "train.batch_size": IntDistribution(8, 64)},
            value=0.5, state=TrialState.COMPLETE))
        await wait_for(pilot, lambda: trials.row_count == 302
                       and shown("300", state) == "complete")
        assert shown("300", headers.index("value")) == "0.9900"
        assert shown("301", state) == "complete" and shown("10", headers.index("value")) == before


async def test_a_study_whose_journal_is_removed_leaves_no_trials_shown(tmp_path: Path) -> None:
    from densexp_tui.sweep import storage as storage_mod
    from tests.sweep.study_factory import write_study

    write_study(tmp_path, "gone", 5)
    app = _app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = _screen(app)
        trials = screen.query_one("#trials-table", DataTable)
        await wait_for(pilot, lambda: trials.row_count == 5)
        storage_mod.journal_path(tmp_path, "gone").unlink()
        await pilot.press("r")  # a refresh forgets what the table was given: still emptied
        title = screen.query_one("#study-title", Static)
        await wait_for(pilot, lambda: trials.row_count == 0
                       and "No study here yet" in str(title.render()))
        assert screen.query_one("#studies-table", DataTable).row_count == 0


async def test_a_sweep_started_from_the_form_is_shown_once_its_study_exists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the launched sweep's study is created, the screen shows the first study; the
    launched one must then take over, not stay hidden behind it (found by trying it)."""
    class FakeProcess:
        pid = 4243

        def poll(self) -> None:
            return None

    monkeypatch.setattr("densexp_tui.sweep.launch.launch_sweep_process",
                        lambda *args: FakeProcess())
    sweeper = Sweeper(tmp_path / "runs")
    assert sweeper.run(write_sweep(tmp_path / "first", SWEEP)).finished == 5
    later = write_sweep(tmp_path / "later", SWEEP.replace("tui-study", "later-study")
                        .replace("n_trials = 5", "n_trials = 2"))
    app = _app(sweeper.runs)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = _screen(app)
        await wait_for(pilot, lambda: screen.snapshot is not None and
                       screen.snapshot.selected is not None)
        screen._launch(later, "later-study")
        before = screen.snapshot
        await wait_for(pilot, lambda: screen.snapshot is not before)  # read before it exists
        assert sweeper.run(later).finished == 2
        title = screen.query_one("#study-title", Static)
        await wait_for(pilot, lambda: str(title.render()).startswith("later-study"))
        studies = screen.query_one("#studies-table", DataTable)
        assert studies.cursor_row == studies.get_row_index("later-study")
