"""Compare: differing hyperparameters, results, sorting and overlaid curves."""

from __future__ import annotations

from textual.widgets import DataTable

from densexp_tui.core.runstore import RunStore
from densexp_tui.tui.screens.compare import CompareScreen, SortCell, differing_keys
from densexp_tui.tui.widgets.line_chart import LineChart
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import DATA_RUNS, LORA_FAST, QUICKSTART, ScreenTestApp

RUN_IDS = [QUICKSTART.run_id, LORA_FAST.run_id]


def compare_app() -> ScreenTestApp:
    return ScreenTestApp(lambda: CompareScreen(RUN_IDS, RunStore(DATA_RUNS)))


def compare(app: ScreenTestApp) -> CompareScreen:
    screen = app.screen
    assert isinstance(screen, CompareScreen)
    return screen


def column_text(table: DataTable, column: str) -> list[str]:
    return [str(cell.text.plain if isinstance(cell, SortCell) else cell)
            for cell in table.get_column(column)]


def test_differing_keys_come_from_the_configs() -> None:
    keys = differing_keys([QUICKSTART.config(), LORA_FAST.config()])
    assert keys == ["model.finetune", "train.batch_size", "train.learning_rate"]


async def test_compare_shows_differing_hyperparameters_results_and_both_curves() -> None:
    app = compare_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                       and bool(compare(app).runs))
        screen = compare(app)
        table = screen.query_one(DataTable)
        keys = [str(key.value) for key in table.columns]
        assert keys[:4] == ["run", "model.finetune", "train.batch_size", "train.learning_rate"]
        assert "train.epochs" not in keys  # the same in both runs
        assert column_text(table, "train.learning_rate") == ["0.0005", "0.001"]
        assert column_text(table, "model.finetune") == ["full", "lora"]
        assert column_text(table, "val_acc") == ["0.792", "0.808"]
        assert column_text(table, "trainable_pct") == ["100.0%", "3.9%"]
        chart = screen.query_one(LineChart)
        assert [s.label for s in chart.series] == ["quickstart", "lora-fast"]
        assert all(len(s.points) == 5 for s in chart.series)
        assert {s.color_index for s in chart.series} == {0, 1}
        assert chart.title == "Val loss"


async def test_metric_key_switches_the_chart() -> None:
    app = compare_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                       and bool(compare(app).runs))
        chart = compare(app).query_one(LineChart)
        await pilot.press("m")
        assert chart.title == "Val accuracy"
        await pilot.press("m", "m")
        assert chart.title == "Train loss"
        # Train loss is per logged step, placed in epochs so batch sizes line up.
        assert all(len(s.points) > 100 for s in chart.series)
        assert max(x for s in chart.series for x, _ in s.points) <= 5.0


async def test_sorting_by_a_column_and_reversing() -> None:
    app = compare_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                       and bool(compare(app).runs))
        screen = compare(app)
        table = screen.query_one(DataTable)
        screen.sort_by("val_loss")
        await pilot.pause()
        assert column_text(table, "run")[0].endswith("lora-fast")  # lower loss first
        screen.sort_by("val_loss")
        await pilot.pause()
        assert column_text(table, "run")[0].endswith("quickstart")
        table.focus()
        table.move_cursor(column=keys_index(table, "trainable"))
        await pilot.press("s")
        assert column_text(table, "trainable") == ["4.3k", "107.3k"]


def keys_index(table: DataTable, key: str) -> int:
    return [str(k.value) for k in table.columns].index(key)
