"""The dashboard of one run: live (following its events.jsonl) or replaying a recorded run.

Events reach the screen only through a source from ``core.sources``, polled by a thread worker
that posts ``RunEventsArrived`` batches. The handler applies them to a ``RunView`` on the UI
thread and marks the screen dirty; a 10 Hz timer redraws only when something arrived. While
the handler is behind, the worker keeps collecting into a bigger batch instead of queueing
many small ones (the Toolong follower's back-off).

At 80x24 the first tab shows the loss chart beside the confusion matrix, under the header and
progress lines; accuracy, per-class metrics, the log and system use sit on further tabs.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Literal

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import Worker, get_current_worker

from densexp_tui.core.evaluation_view import load_evaluation
from densexp_tui.core.events import Event
from densexp_tui.core.runcontrol import CannotCancel, SignalFailed, interrupt_run_process
from densexp_tui.core.runstore import RunStore, RunSummary, read_live_summary
from densexp_tui.core.runview import RunView, train_loss_label
from densexp_tui.core.sources import EventSource, FollowSource, ReplaySource
from densexp_tui.tui.dialogs.confirm import ConfirmDialog
from densexp_tui.tui.messages import EvaluationLoaded, RunEventsArrived
from densexp_tui.tui.services import UsesWorkbench
from densexp_tui.tui.widgets.calibration_view import CalibrationView
from densexp_tui.tui.widgets.class_table import PerClassTable
from densexp_tui.tui.widgets.confusion import ConfusionMatrix
from densexp_tui.tui.widgets.early_stopping import EarlyStoppingPanel
from densexp_tui.tui.widgets.error_browser import ErrorBrowser
from densexp_tui.tui.widgets.formatting import format_metric
from densexp_tui.tui.widgets.line_chart import ChartSeries, LineChart
from densexp_tui.tui.widgets.log_pane import LogPane
from densexp_tui.tui.widgets.progress import ProgressPanel
from densexp_tui.tui.widgets.run_header import RunHeader
from densexp_tui.tui.widgets.system_metrics import SystemMetrics

DashboardMode = Literal["live", "replay"]
REDRAW_SECONDS = 0.1  # at most ~10 redraws a second, and only after new data
LIVE_POLL_SECONDS = 0.25
REPLAY_POLL_SECONDS = 0.05
TALL_HEIGHT = 34
TAB_IDS = ("overview", "accuracy", "classes", "calibration", "errors", "log", "system")
SPEEDS: dict[str, float | None] = {"1x": 1.0, "10x": 10.0, "max": None}
SPEED_GROUP = Binding.Group("Speed", compact=True)
SCRUB_GROUP = Binding.Group("Epoch", compact=True)
MATRIX_GROUP = Binding.Group("Matrix epoch", compact=True)
LIVE_ONLY_ACTIONS = {"cancel_run"}
REPLAY_ONLY_ACTIONS = {"speed", "toggle_pause", "scrub", "jump_to_end", "restart", "rerun"}
# What a replay that reached the end says, by the progress bar ("0" is action_restart's key).
REPLAY_FINISHED_NOTE = "replay finished · 0 plays it again"


def speed_label(speed: float | None) -> str:
    return "max" if speed is None else f"{speed:g}x"


def read_run_summary(run_dir: Path) -> RunSummary | None:
    """The run's summary with its real status (a dead process reads as interrupted)."""
    return read_live_summary(run_dir)  # core/runstore.py owns reading summary.json


class DashboardScreen(UsesWorkbench, Screen[None]):
    """One run's header, progress, curves, confusion matrix, per-class metrics, log, system."""

    DEFAULT_CSS = """
    DashboardScreen { layout: vertical; }
    DashboardScreen #tabs { height: 1fr; }
    DashboardScreen TabPane { padding: 0 1; }
    DashboardScreen #overview-row { height: 1fr; }
    DashboardScreen #overview-side {
        width: 40%; min-width: 36; max-width: 64; height: 1fr; padding-left: 1;
    }
    DashboardScreen #confusion { margin-bottom: 1; }
    DashboardScreen #overview-per-class { margin-top: 1; display: none; }
    DashboardScreen.-tall #overview-per-class { display: block; }
    DashboardScreen #classes-pane { height: 1fr; }
    DashboardScreen #test-confusion { margin-top: 1; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="dashboard.back",
                tooltip="Leave the dashboard (a live run keeps training)"),
        Binding("space", "toggle_pause", "Pause", id="dashboard.replay.pause",
                tooltip="Pause or resume the replay"),
        Binding("1", "speed('1x')", "1x", group=SPEED_GROUP, id="dashboard.replay.speed_1x",
                tooltip="Replay at the recorded pace (idle gaps capped at 2 s)"),
        Binding("2", "speed('10x')", "10x", group=SPEED_GROUP, id="dashboard.replay.speed_10x",
                tooltip="Replay ten times faster than recorded"),
        Binding("3", "speed('max')", "max", group=SPEED_GROUP, id="dashboard.replay.speed_max",
                tooltip="Replay as fast as possible"),
        Binding("comma", "scrub(-1)", "prev", key_display=",", group=SCRUB_GROUP,
                id="dashboard.replay.previous_epoch",
                tooltip="Scrub back to the end of the previous epoch (pauses)"),
        Binding("full_stop", "scrub(1)", "next", key_display=".", group=SCRUB_GROUP,
                id="dashboard.replay.next_epoch",
                tooltip="Scrub forward to the end of the next epoch (pauses)"),
        # show=False: 80 columns hold the footer without it; help and the palette list it.
        Binding("e", "jump_to_end", "End", id="dashboard.replay.end", show=False,
                tooltip="Jump to the end of the recorded run"),
        Binding("0", "restart", "Restart", show=False, id="dashboard.replay.restart",
                tooltip="Play the run again from its start (at 10x unless a speed is set)"),
        Binding("r", "rerun", "Re-run", id="dashboard.replay.rerun",
                tooltip="New experiment with this run's settings (recorded as its parent)"),
        Binding("c", "cancel_run", "Cancel run", id="dashboard.cancel_run",
                tooltip="Stop this run after asking (runs from another terminal get SIGINT)"),
        Binding("n", "toggle_normalised", "By row", id="dashboard.toggle_normalised",
                tooltip="Confusion matrix: counts or row-normalised fractions (recall)"),
        Binding("t", "next_tab", "Tab", id="dashboard.next_tab",
                tooltip="Overview, Accuracy, Classes, Calibration, Errors, Log, System"),
        Binding("left_square_bracket", "matrix_epoch(-1)", "Earlier", key_display="[", show=False,
                group=MATRIX_GROUP, id="dashboard.matrix_previous_epoch",
                tooltip="Confusion matrix and per-class table of the previous epoch"),
        Binding("right_square_bracket", "matrix_epoch(1)", "Later", key_display="]", show=False,
                group=MATRIX_GROUP, id="dashboard.matrix_next_epoch",
                tooltip="Next epoch; past the last one the matrix follows new epochs"),
        Binding("T", "previous_tab", "Previous tab", show=False, id="dashboard.previous_tab",
                tooltip="Go to the tab on the left"),
        Binding("x", "export_report", "Report", show=False, id="dashboard.export_report",
                tooltip="Write this run's HTML report (downloads it in a browser)"),
    ]

    def __init__(self, run_dir: Path, mode: DashboardMode = "live",
                 store: RunStore | None = None, *, replay_speed: float | None = None,
                 name: str | None = None, id: str | None = None) -> None:
        """``replay_speed``: 1.0, 10.0, or None (as fast as possible). None is the default
        because opening a finished run should show how it ended at once; ``0`` restarts
        it at 10x and ``1``/``2``/``3`` change the speed."""
        super().__init__(name=name, id=id)
        self.run_dir = Path(run_dir)
        self.mode: DashboardMode = mode
        self.store = store
        self.run_id = self.run_dir.name
        self.view = RunView()
        events_path = self.run_dir / "events.jsonl"
        self.source: EventSource = (ReplaySource(events_path, speed=replay_speed)
                                    if mode == "replay" else FollowSource(events_path))
        self.source_finished = False
        self.normalised = False
        self.matrix_epoch: int | None = None  # None: follow the latest epoch
        self.batches_applied = 0
        self._dirty = True
        self._bindings_state: tuple[str, bool] | None = None
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._evaluation_loaded = False  # Calibration/Errors read predictions once tested
        summary = read_run_summary(self.run_dir)  # one small file: the seed group, if any
        self._group = summary.group if summary else ""

    @property
    def help_title(self) -> str:
        """The help screen's heading for this open dashboard (it lists this mode's keys)."""
        return f"Dashboard ({self.mode})"

    @property
    def run_log_path(self) -> Path:
        """Shown with the error when one of this screen's workers fails (``ShowsRun``)."""
        return self.run_dir / "log.txt"

    @property
    def replay(self) -> ReplaySource | None:
        return self.source if isinstance(self.source, ReplaySource) else None

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield RunHeader(self.run_id, id="run-header")
        yield ProgressPanel(id="progress")
        with TabbedContent(initial="overview", id="tabs"):
            with TabPane("Overview", id="overview"):
                with Horizontal(id="overview-row"):
                    yield LineChart("Loss", "step", y_floor=0.0, id="loss-chart",
                                    empty_text="waiting for the first step…")
                    with Vertical(id="overview-side"):
                        yield ConfusionMatrix(id="confusion")
                        yield EarlyStoppingPanel(id="early-stopping")
                        yield PerClassTable(id="overview-per-class")
            with TabPane("Accuracy", id="accuracy"):
                yield LineChart("Accuracy", "step", y_floor=0.0, id="accuracy-chart",
                                empty_text="waiting for the first step…")
            with TabPane("Classes", id="classes"):
                with Vertical(id="classes-pane"):
                    yield PerClassTable(id="per-class")
                    yield ConfusionMatrix(id="test-confusion")
            with TabPane("Calibration", id="calibration"):
                yield CalibrationView(id="calibration-view")
            with TabPane("Errors", id="errors"):
                yield ErrorBrowser(id="error-browser")
            with TabPane("Log", id="log"):
                yield LogPane(self.run_dir / "log.txt", follow=self.mode == "live", id="log-pane")
            with TabPane("System", id="system"):
                yield SystemMetrics(id="system-metrics")
        yield Footer(compact=True)

    def on_resize(self) -> None:
        # Tall terminals have room for the per-class table beside the loss chart too.
        self.set_class(self.size.height >= TALL_HEIGHT, "-tall")

    def on_mount(self) -> None:
        self.set_interval(REDRAW_SECONDS, self.redraw_if_dirty)
        if self.mode == "live":
            self.set_interval(1.0, self.tick_live_clock)
        self.pump_events()
        self.redraw_if_dirty()

    # -- events in (worker thread) ----------------------------------------------------------
    @work(thread=True, exclusive=True, group="dashboard-events", exit_on_error=False,
          name="reading the run's events")
    def pump_events(self) -> None:
        """Poll the source and post batches; never touches widgets or the RunView."""
        worker = get_current_worker()
        pending: list[Event] = []
        reset = False
        announced_finished: bool | None = None
        while not worker.is_cancelled:
            events = self.source.poll()
            if self.source.last_poll_reset:
                pending, reset = list(events), True
            else:
                pending.extend(events)
            finished = self.source.finished
            news = bool(pending) or reset or finished != announced_finished
            if news and not self._handler_busy():
                self._post_batch(pending, reset, finished)
                pending, reset, announced_finished = [], False, finished
                if finished and self.mode == "live":
                    return  # a finished live run gets no more events
            self._pause_between_polls(events, worker)

    def _pause_between_polls(self, events: list[Event], worker: Worker[None]) -> None:
        """While events flow, poll again at once (a busy handler only makes the next batch
        bigger); once the source is dry, wait a little before asking again."""
        if events:
            time.sleep(0)  # let the UI thread have the GIL between polls
            return
        interval = REPLAY_POLL_SECONDS if self.mode == "replay" else LIVE_POLL_SECONDS
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not worker.is_cancelled:
            time.sleep(0.01)

    def _handler_busy(self) -> bool:
        with self._in_flight_lock:
            return self._in_flight > 0

    def _post_batch(self, events: list[Event], reset: bool, finished: bool) -> None:
        with self._in_flight_lock:
            self._in_flight += 1
        self.post_message(RunEventsArrived(self.run_id, events, finished=finished, reset=reset))

    # -- events applied (UI thread) ------------------------------------------------------------
    def on_run_events_arrived(self, message: RunEventsArrived) -> None:
        if message.run_id != self.run_id:
            return
        message.stop()  # the app has no use for another screen's batches
        with self._in_flight_lock:
            self._in_flight = max(0, self._in_flight - 1)
        if message.reset:
            self.view.reset()
        self.view.apply_all(message.events)
        self.source_finished = message.finished
        self.batches_applied += 1
        self._dirty = True

    def tick_live_clock(self) -> None:
        """Elapsed and ETA of a running run move even between events."""
        if self.view.status == "running":
            self.query_one(ProgressPanel).refresh()

    # -- drawing ----------------------------------------------------------------------------------
    def redraw_if_dirty(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        view = self.view
        self.query_one(RunHeader).show(view, self.mode_note())
        self.query_one(ProgressPanel).show(view, live=self.mode == "live",
                                           note=self.replay_note())
        self._draw_charts(view)
        self._draw_matrix(view)
        self.query_one(EarlyStoppingPanel).show(view)
        if view.test and not self._evaluation_loaded:  # predictions are written with it
            self._evaluation_loaded = True
            self._load_evaluation(self.run_dir)
        self._refresh_bindings_if_state_changed()

    @work(thread=True, exclusive=True, group="evaluation-load", exit_on_error=False,
          name="reading the test predictions")
    def _load_evaluation(self, run_dir: Path) -> None:
        self.post_message(EvaluationLoaded(load_evaluation(run_dir)))

    def on_evaluation_loaded(self, message: EvaluationLoaded) -> None:
        self.query_one(CalibrationView).show(message.data)
        self.query_one(ErrorBrowser).show(message.data)

    def _refresh_bindings_if_state_changed(self) -> None:
        """The footer depends on status (cancel) only; rebuilding it 10x a second is waste."""
        state = (self.view.status, self.source_finished)
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def mode_note(self) -> str:
        mode = "live" if self.mode == "live" else "replay"
        return f"{mode} · group {self._group}" if self._group else mode

    def replay_note(self) -> str:
        replay = self.replay
        if replay is None:
            return ""
        if self.source_finished:
            return REPLAY_FINISHED_NOTE
        state = "⏸ paused" if replay.paused else f"▶ {speed_label(replay.speed)}"
        return f"replay {state}"

    def _draw_charts(self, view: RunView) -> None:
        x_range = (0.0, float(view.progress().total_steps or 1))
        val_loss = view.val_series_by_step("loss")
        self.query_one("#loss-chart", LineChart).set_series([
            ChartSeries(train_loss_label(view), view.train_loss.points(), 0,
                        value_note=_latest_note(view.train_loss.last)),
            ChartSeries("val", val_loss, 1, markers=True,
                        value_note=_latest_note(val_loss[-1] if val_loss else None)),
        ], x_range=x_range)
        val_accuracy = view.val_series_by_step("accuracy")
        val_f1 = view.val_series_by_step("f1")
        self.query_one("#accuracy-chart", LineChart).set_series([
            ChartSeries("train", view.train_accuracy.points(), 0,
                        value_note=_latest_note(view.train_accuracy.last)),
            ChartSeries("val", val_accuracy, 1, markers=True,
                        value_note=_latest_note(val_accuracy[-1] if val_accuracy else None)),
            ChartSeries("val F1", val_f1, 2, markers=True,
                        value_note=_latest_note(val_f1[-1] if val_f1 else None)),
        ], x_range=x_range)

    def shown_matrix_epoch(self) -> int | None:
        """The epoch the matrix and per-class table show (the latest unless one was picked)."""
        if self.matrix_epoch is not None and self.matrix_epoch in self.view.epochs:
            return self.matrix_epoch
        return self.view.latest_epoch

    def _epoch_caption(self, epoch: int | None) -> str:
        """"epoch 5" while following the newest; "epoch 3/5" once one was picked."""
        if epoch is None:
            return "no epoch yet"
        if self.matrix_epoch is None:
            return f"epoch {epoch}"
        return f"epoch {epoch}/{self.view.latest_epoch}"

    def _draw_matrix(self, view: RunView) -> None:
        epoch = self.shown_matrix_epoch()
        matrix, labels = view.confusion(epoch)
        scale = " · by row" if self.normalised else ""
        where = self._epoch_caption(epoch)
        self.query_one("#confusion", ConfusionMatrix).set_matrix(
            matrix, labels, normalised=self.normalised,
            caption=f"Val confusion · {where}{scale}")
        record = view.epoch_record(epoch)
        for table in self.query(PerClassTable):
            table.set_metrics(view.per_class(epoch), record.val if record else {},
                              caption=f"Per class (val) · {where}")
        test = view.test or {}
        self.query_one("#test-confusion", ConfusionMatrix).set_matrix(
            test.get("confusion") or [], test.get("labels") or labels,
            normalised=self.normalised,
            caption=f"Test confusion · acc {format_metric(test.get('accuracy'))}{scale}"
            if test else "Test confusion · after training")

    # -- actions ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Replay keys exist only on replays; cancel only on a live, running run."""
        if action in REPLAY_ONLY_ACTIONS:
            return self.mode == "replay"
        if action in LIVE_ONLY_ACTIONS:
            return self.mode == "live" and self.view.status in ("running", "waiting") \
                and not self.source_finished
        return True

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_next_tab(self) -> None:
        self._move_tab(1)

    def action_previous_tab(self) -> None:
        self._move_tab(-1)

    def _move_tab(self, delta: int) -> None:
        tabs = self.query_one(TabbedContent)
        index = TAB_IDS.index(tabs.active) if tabs.active in TAB_IDS else 0
        tabs.active = TAB_IDS[(index + delta) % len(TAB_IDS)]

    def action_toggle_normalised(self) -> None:
        self.normalised = not self.normalised
        self._draw_matrix(self.view)

    def action_matrix_epoch(self, delta: int) -> None:
        epochs = self.view.epoch_numbers
        if not epochs:
            return
        current = self.shown_matrix_epoch() or epochs[-1]
        index = epochs.index(current) + delta
        if delta > 0 and index >= len(epochs) - 1:
            self.matrix_epoch = None  # at the newest epoch: follow new ones again
        else:
            self.matrix_epoch = epochs[max(0, index)]
        self._draw_matrix(self.view)

    def action_speed(self, speed: str) -> None:
        if self.replay is not None:
            self.replay.set_speed(SPEEDS[speed])
            self.replay.resume()
            self._dirty = True

    def action_toggle_pause(self) -> None:
        if self.replay is not None:
            self.replay.toggle_pause()
            self._dirty = True

    def action_scrub(self, delta: int) -> None:
        """Pause and move to the end of the previous/next recorded epoch."""
        replay = self.replay
        if replay is None or not replay.loaded:
            return
        target = replay.position_epoch + delta
        if delta > 0 and target not in replay.epochs:
            return
        replay.pause()
        replay.seek_to_epoch(max(0, target))
        self.matrix_epoch = None

    def action_jump_to_end(self) -> None:
        if self.replay is not None:
            self.replay.jump_to_end()
            self.matrix_epoch = None

    def action_restart(self) -> None:
        """Watch the run from the start: at max speed it would be over at once, so 10x."""
        replay = self.replay
        if replay is None:
            return
        replay.seek_to_epoch(0)
        if replay.speed is None:
            replay.set_speed(SPEEDS["10x"])
        replay.resume()
        self.matrix_epoch = None

    def action_export_report(self) -> None:
        from densexp_tui.tui.reporting import ExportReport

        self.post_message(ExportReport([self.run_id]))

    def action_rerun(self) -> None:
        """Open the new-experiment form on this run's settings, with this run as parent."""
        from densexp_tui.core.config import load_config
        from densexp_tui.core.errors import BadInput

        try:
            config = load_config(self.run_dir / "config.toml")
        except BadInput as error:
            self.notify(str(error), severity="error")
            return
        config.run.parent = self.run_id
        self.densexp.open_new_experiment(config, parent=self.run_id)

    def action_cancel_run(self) -> None:
        name = self.view.header.name or self.run_id
        question = (f"Cancel run {name}? It stops after the current step; its events, "
                    "best checkpoint and log are kept.")
        self.app.push_screen(ConfirmDialog(question, title="Cancel run?", yes="Cancel run",
                                           no="Keep running"), self._cancel_confirmed)

    def _cancel_confirmed(self, confirmed: bool | None) -> None:
        if not confirmed:
            return
        summary = read_run_summary(self.run_dir)
        if summary is None or summary.status != "running":
            self.notify("The run is not running any more")
            return
        if summary.pid == os.getpid():
            if not self.densexp.cancel_run(self.run_id):
                self.notify("This app is not training that run", severity="warning")
                return
            self.notify(f"Cancelling {summary.name or self.run_id}…")
        else:
            self._interrupt_outside_process(summary)

    def _interrupt_outside_process(self, summary: RunSummary) -> None:
        """A run started by `densexp run` elsewhere: SIGINT makes it stop and clean up."""
        try:
            pid = interrupt_run_process(summary)
        except CannotCancel as error:
            severity: SeverityLevel = "error" if isinstance(error, SignalFailed) else "warning"
            self.notify(str(error), severity=severity)
            return
        self.notify(f"Sent SIGINT to process {pid}")


def _latest_note(point: tuple[float, float] | None) -> str:
    return format_metric(point[1]) if point else ""
