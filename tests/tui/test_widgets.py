"""Dashboard widgets found wanting in use: chart axis labels, the log tail, progress."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import TabbedContent

from densexp_tui.core.events import Event
from densexp_tui.core.runview import RunView
from densexp_tui.tui.screens.dashboard import DashboardScreen
from densexp_tui.tui.widgets.line_chart import ChartSeries, LineChart, tick_labels
from densexp_tui.tui.widgets.log_pane import LogPane
from densexp_tui.tui.widgets.progress import ProgressPanel
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import QUICKSTART, ScreenTestApp, write_run_dir


def test_tick_labels_tell_close_values_apart() -> None:
    # A loss stuck at ln(3) once labelled its axis 1.1, 1.1, 1.1.
    assert tick_labels([1.1012, 1.0995, 1.0978]) == ["1.101", "1.099", "1.098"]
    assert tick_labels([1.37, 0.744, 0.117]) == ["1.37", "0.744", "0.117"]  # unchanged
    assert tick_labels([300.0, 150.0, 0.0]) == ["300", "150", "0"]


class ChartScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield LineChart("Loss", "step", id="chart")


async def test_a_flat_loss_gets_distinct_axis_labels() -> None:
    app = ScreenTestApp(ChartScreen)
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ChartScreen))
        chart = app.screen.query_one(LineChart)
        chart.set_series([ChartSeries("train", [(1, 1.1005), (10, 1.0991), (20, 1.0986)])])
        await pilot.pause()
        text = chart.render().plain
        labels = [line.split("┤")[0].strip() for line in text.splitlines() if "┤" in line]
        assert len(labels) == 3 and len(set(labels)) == 3, labels


async def test_log_tab_opens_on_the_newest_lines(tmp_path: Path) -> None:
    run_dir = write_run_dir(tmp_path, QUICKSTART)
    (run_dir / "log.txt").write_text("".join(f"library line {i}\n" for i in range(200)))
    app = ScreenTestApp(lambda: DashboardScreen(run_dir, "live"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        pane = screen.query_one(LogPane)
        await wait_for(pilot, lambda: pane.line_count >= 200)
        screen.query_one(TabbedContent).active = "log"
        await wait_for(pilot, lambda: pane.max_scroll_y > 0
                       and pane.scroll_y == pane.max_scroll_y)


class ProgressScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield ProgressPanel(id="progress")


async def test_the_progress_panel_shows_padding_efficiency_next_to_samples_per_second() -> None:
    view = RunView()
    view.apply(Event(1, 10.0, "step", {"epoch": 1, "step": 4, "loss": 0.9,
                                        "samples_per_sec": 58.0}))
    view.apply(Event(2, 11.0, "epoch", {"epoch": 1, "train": {}, "val": {},
                                         "tokens": {"real": 9_430, "padded": 10_000}}))
    app = ScreenTestApp(ProgressScreen)
    async with app.run_test(size=(100, 10)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        panel = app.screen.query_one(ProgressPanel)
        panel.show(view, live=False)
        await pilot.pause()
        assert "58 samples/s · 94% real tokens" in panel.render().plain
