"""The live dashboard: following a log another thread writes, matrix controls, cancelling."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from textual.widgets import TabbedContent

from densexp_tui.core.events import Event
from densexp_tui.tui.dialogs.confirm import ConfirmDialog
from densexp_tui.tui.screens.dashboard import DashboardScreen
from densexp_tui.tui.widgets.class_table import PerClassTable
from densexp_tui.tui.widgets.confusion import ConfusionMatrix
from densexp_tui.tui.widgets.line_chart import LineChart
from densexp_tui.tui.widgets.progress import ProgressPanel
from densexp_tui.tui.widgets.run_header import RunHeader
from tests.sigint_standin import start_standin
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import (
    DATA_RUNS,
    QUICKSTART,
    ScreenTestApp,
    summary_for,
    synthetic_events,
    write_run_dir,
)

FIXED_RUN = DATA_RUNS / QUICKSTART.run_id


def running_summary(events: list[Event], pid: int) -> dict[str, object]:
    summary = summary_for(QUICKSTART, events)
    summary.update(status="running", finished=None, duration=None, pid=pid,
                   pid_started=psutil.Process(pid).create_time(), host=socket.gethostname())
    return summary


def split_after_epoch(events: list[Event], epoch: int) -> int:
    """Index just after the given epoch's epoch event."""
    return next(i + 1 for i, e in enumerate(events)
                if e.kind == "epoch" and e.data["epoch"] == epoch)


def live_run(tmp_path: Path, epochs_written: int, pid: int) -> tuple[Path, list[Event]]:
    events = synthetic_events(QUICKSTART)
    cut = split_after_epoch(events, epochs_written)
    run_dir = write_run_dir(tmp_path, QUICKSTART, events=events[:cut],
                            summary=running_summary(events, pid))
    return run_dir, events[cut:]


def append_slowly(path: Path, events: list[Event]) -> threading.Thread:
    """Another writer (think: `densexp run` in a second terminal), a line at a time."""
    def write() -> None:
        with open(path, "a", encoding="utf-8") as handle:
            for event in events:
                handle.write(event.to_json() + "\n")
                handle.flush()
                time.sleep(0.001)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def dashboard(app: ScreenTestApp) -> DashboardScreen:
    screen = app.screen
    assert isinstance(screen, DashboardScreen)
    return screen


async def test_live_dashboard_follows_a_log_that_another_thread_appends_to(
        tmp_path: Path) -> None:
    run_dir, rest = live_run(tmp_path, epochs_written=1, pid=os.getpid())
    epoch_two = split_after_epoch(rest, 2)
    app = ScreenTestApp(lambda: DashboardScreen(run_dir, "live", None))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).view.latest_epoch == 1)
        screen = dashboard(app)
        assert screen.view.status == "running"
        writer = append_slowly(run_dir / "events.jsonl", rest[:epoch_two])
        await wait_for(pilot, lambda: screen.view.latest_epoch == 2)
        writer.join()
        await pilot.pause(0.15)  # one redraw tick
        matrix = screen.query_one("#confusion", ConfusionMatrix)
        assert matrix.matrix == rest[epoch_two - 1].data["val"]["confusion"]
        assert "epoch 2" in matrix.render().plain
        assert not screen.source_finished
        append_slowly(run_dir / "events.jsonl", rest[epoch_two:]).join()
        await wait_for(pilot, lambda: screen.source_finished)
        assert screen.view.status == "completed"


async def test_live_dashboard_notices_a_run_whose_process_died(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run_dir, _ = live_run(tmp_path, epochs_written=2, pid=os.getpid())
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["pid"] = dead.pid
    (run_dir / "summary.json").write_text(json.dumps(summary))
    app = ScreenTestApp(lambda: DashboardScreen(run_dir, "live", None))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).source_finished)
        assert dashboard(app).view.latest_epoch == 2


async def test_counts_and_normalised_toggle_changes_the_numbers() -> None:
    app = ScreenTestApp(lambda: DashboardScreen(FIXED_RUN, "live", None))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).source_finished)
        await pilot.pause(0.15)
        matrix = dashboard(app).query_one("#confusion", ConfusionMatrix)
        counts = matrix.cell_texts()
        assert counts[0][0] == str(matrix.matrix[0][0])
        await pilot.press("n")
        fractions = matrix.cell_texts()
        assert fractions != counts
        row = matrix.matrix[0]
        assert fractions[0][0] in (f"{row[0] / sum(row):.2f}", f"{row[0] / sum(row):.2f}"[1:])
        assert "by row" in matrix.render().plain
        await pilot.press("n")
        assert matrix.cell_texts() == counts


async def test_matrix_epoch_selector_steps_back_and_follows_again() -> None:
    events = synthetic_events(QUICKSTART)
    epoch_four = next(e for e in events if e.kind == "epoch" and e.data["epoch"] == 4)
    app = ScreenTestApp(lambda: DashboardScreen(FIXED_RUN, "live", None))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).source_finished)
        screen = dashboard(app)
        matrix = screen.query_one("#confusion", ConfusionMatrix)
        await pilot.press("left_square_bracket")
        assert matrix.matrix == epoch_four.data["val"]["confusion"]
        assert "epoch 4/5" in matrix.render().plain
        per_class = screen.query_one("#per-class", PerClassTable)
        assert per_class.per_class == epoch_four.data["val"]["per_class"]
        await pilot.press("right_square_bracket")
        assert screen.matrix_epoch is None and "epoch 5" in matrix.render().plain


async def test_80x24_shows_header_progress_loss_chart_and_confusion_matrix() -> None:
    app = ScreenTestApp(lambda: DashboardScreen(FIXED_RUN, "replay", None, replay_speed=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).source_finished)
        await pilot.pause(0.15)
        screen = dashboard(app)
        for widget in (screen.query_one(RunHeader), screen.query_one(ProgressPanel),
                       screen.query_one("#loss-chart", LineChart),
                       screen.query_one("#confusion", ConfusionMatrix)):
            region = widget.region
            assert region.width > 0 and region.height > 0, widget
            assert region.right <= 80 and region.bottom <= 24, widget
        assert screen.query_one("#loss-chart", LineChart).region.height >= 10
        assert "quickstart" in screen.query_one(RunHeader).render().plain
        assert "Epoch 5/5" in screen.query_one(ProgressPanel).render().plain


class CancellingApp(ScreenTestApp):
    """Stands in for DensexpApp.cancel_run."""

    cancelled: list[str]

    def cancel_run(self, run_id: str | None = None) -> bool:
        self.cancelled.append(str(run_id))
        return True


async def test_cancel_asks_first_then_calls_the_apps_cancel_run(tmp_path: Path) -> None:
    run_dir, _ = live_run(tmp_path, epochs_written=1, pid=os.getpid())
    app = CancellingApp(lambda: DashboardScreen(run_dir, "live", None))
    app.cancelled = []
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).view.latest_epoch == 1)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.cancelled == []
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.cancelled == [QUICKSTART.run_id])


async def test_cancel_of_a_run_from_another_terminal_sends_sigint(tmp_path: Path) -> None:
    outside = start_standin()
    try:
        run_dir, _ = live_run(tmp_path, epochs_written=1, pid=outside.pid)
        app = ScreenTestApp(lambda: DashboardScreen(run_dir, "live", None))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                           and dashboard(app).view.latest_epoch == 1)
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("y")
            await wait_for(pilot, lambda: outside.poll() is not None)
        assert outside.returncode == 0
    finally:
        if outside.poll() is None:
            outside.kill()


async def test_system_metrics_sample_only_while_their_tab_is_open() -> None:
    from densexp_tui.tui.widgets.system_metrics import SystemMetrics

    app = ScreenTestApp(lambda: DashboardScreen(FIXED_RUN, "live", None))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).source_finished)
        metrics = dashboard(app).query_one(SystemMetrics)
        await pilot.pause(0.3)
        assert metrics.samples_taken == 0
        # t steps Overview -> Accuracy -> Classes -> Calibration -> Errors -> Log -> System.
        await pilot.press(*["t"] * 6)
        assert dashboard(app).query_one("#tabs", TabbedContent).active == "system"
        await wait_for(pilot, lambda: metrics.samples_taken > 0)
        text = metrics.render().plain
        assert "CPU" in text and "RAM" in text


def test_nvidia_smi_output_is_parsed_and_its_absence_hides_the_gpu() -> None:
    from densexp_tui.tui.widgets.system_metrics import parse_nvidia_smi, query_gpus

    gpus = parse_nvidia_smi("45, 3210, 16384\n[N/A], 10, 20\n7, 100, 8192\n")
    assert [(g.index, g.utilization, g.memory_used_mb) for g in gpus] == [
        (0, 45.0, 3210.0), (2, 7.0, 100.0)]
    assert query_gpus(None) is None
    assert query_gpus("/nonexistent/nvidia-smi") is None
