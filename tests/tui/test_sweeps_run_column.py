"""The Sweeps screen's trials table shows which run each trial made, as a user sees it at
120x40 and 80x24 (a new user saw the run column cut to ``20261``: only its time stamp), and
at 80x24 the best-so-far curve keeps room beside the importances."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial
from textual.geometry import Region
from textual.widgets import Static

from densexp_tui.core.runstore import RunStore, run_id_without_time
from densexp_tui.sweep import storage as storage_mod
from densexp_tui.tui.screens.sweeps import NARROW_BAR_WIDTH, SweepsScreen, importance_text
from densexp_tui.tui.widgets.line_chart import LineChart
from densexp_tui.tui.widgets.trials_table import TrialsTable
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import ScreenTestApp

pytestmark = pytest.mark.timeout(120)
TRIALS = 4


def run_id(number: int) -> str:
    return f"20261201-1015{number:02d}-reviews-tpe-t{number}-a1b2c{number}"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study of three searched keys (as the example sweep) whose trials name real-looking
    run ids; the screen needs only the journal to list them."""
    runs = tmp_path_factory.mktemp("run-column") / "runs"
    runs.mkdir()
    spec = storage_mod.parse_storage(None, runs, "reviews-tpe")
    study = optuna.create_study(study_name="reviews-tpe", direction="maximize",
                                storage=storage_mod.open_storage(spec))
    distributions = {"train.learning_rate": FloatDistribution(1e-4, 3e-3, log=True),
                     "train.batch_size": CategoricalDistribution([16, 32, 64]),
                     "model.dropout": FloatDistribution(0.0, 0.3)}
    for number in range(TRIALS):
        study.add_trial(create_trial(
            params={"train.learning_rate": 1e-4 * (number + 1), "train.batch_size": 32,
                    "model.dropout": 0.1}, distributions=distributions, value=0.5,
            user_attrs={"run_id": run_id(number), "epochs": 2}, state=TrialState.COMPLETE))
    return runs


def painted(table: TrialsTable) -> list[str]:
    """The table's lines as the terminal shows them (what fits its width, scrolled)."""
    width, height = table.size
    return [strip.text for strip in table.render_lines(Region(0, 0, width, height))]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_every_trial_row_names_its_run(runs_dir: Path, size: tuple[int, int]) -> None:
    store = RunStore(runs_dir)
    app = ScreenTestApp(lambda: SweepsScreen(store), store=store)
    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one("#trials-table", TrialsTable)
        await wait_for(pilot, lambda: table.row_count == TRIALS and table.filled)
        await pilot.pause()
        if size[0] < 100:  # the run is one scroll to the right of the parameters
            table.focus()
            for _ in range(60):
                await pilot.press("right")
            await pilot.pause()
        runs = [f"reviews-tpe-t{number}-a1b2c{number}" for number in range(TRIALS)]

        def every_run_shown() -> bool:
            lines = painted(table)
            return all(any(run in line for line in lines) for run in runs)

        # The columns take their widths on the table's next idle: wait for that, not longer.
        await wait_for(pilot, every_run_shown, timeout=10)


def test_a_run_id_without_its_time_stamp_keeps_name_and_suffix() -> None:
    assert run_id_without_time("20261201-101500-quick-t3-a1b2c3") == "quick-t3-a1b2c3"
    assert run_id_without_time("20261201-101500-x-1-2") == "x-1-2"
    assert run_id_without_time("run-3") == "run-3"  # not a new_run_id: shown whole
    assert run_id_without_time("2026120-101500-a-b") == "2026120-101500-a-b"


async def test_at_80x24_the_curve_keeps_room_beside_the_importances(runs_dir: Path) -> None:
    store = RunStore(runs_dir)
    app = ScreenTestApp(lambda: SweepsScreen(store), store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("#trials-table", TrialsTable)
        await wait_for(pilot, lambda: table.row_count == TRIALS)
        assert screen.query_one("#best-curve", LineChart).size.width >= 20  # was 7
        box = screen.query_one("#importances", Static).content_size.width
        text = importance_text({"train.learning_rate": 0.93, "model.dropout": 0.07}, 4,
                               bar_width=NARROW_BAR_WIDTH)
        assert all(len(line) <= box for line in text.plain.splitlines())
