"""The densexp app: runs store, training queue and worker, themes, and screen navigation.

Screens ask the app to do things through ``tui.services.Workbench`` (``launch_run``,
``open_run``, ...), which the app implements; the app owns the state that outlives a screen.
Training runs in a Textual thread worker; everything it reports arrives as messages. Every
worker's end reaches ``on_worker_state_changed``: a training run's, and any other worker that
failed (screens forward theirs), which becomes the error dialog; the app never exits for it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable
from weakref import WeakKeyDictionary

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode, NoScreen
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from densexp_tui.core.config import RunConfig, load_config
from densexp_tui.core.errors import BadInput
from densexp_tui.core.runstore import RunStore, resolve_runs_dir
from densexp_tui.core.userconfig import (
    UserConfigError,
    load_user_config_or_defaults,
    save_queue_per_gpu,
)
from densexp_tui.engine.gpu_queue import QueueMode, QueueSetting, per_gpu_mode
from densexp_tui.tui import navigation
from densexp_tui.tui.commands import screen_commands
from densexp_tui.tui.dialogs import ConfirmDialog, ErrorDialog
from densexp_tui.tui.end_notice import (
    SweepEnded,
    SweepStarted,
    alert,
    sweep_end_detail,
    sweep_status,
)
from densexp_tui.tui.messages import QueueChanged, RunEnded, RunLaunched
from densexp_tui.tui.reporting import ExportReport, ReportExported, announce_report, export_report
from densexp_tui.tui.run_watch import RunStatusesChanged, announce_outside_ends
from densexp_tui.tui.screens.home import HomeScreen
from densexp_tui.tui.services import QueueSettings, ShowsRun, Workbench
from densexp_tui.tui.settings import DEFAULT_THEME, Settings, load_settings, save_settings
from densexp_tui.tui.themes import app_variable_defaults, load_all_themes
from densexp_tui.tui.training import (
    ActiveJob,
    QueueModeFound,
    TrainingJob,
    TrainingQueue,
    TrainingStarted,
    run_job,
)

APP_LOG_NAME = ".densexp-tui.log"
FALLBACK_THEME = "textual-dark"
TRAINING_GROUP = "training"
STOP_WAIT_SECONDS = 60.0


class DensexpApp(App[int]):
    """The terminal workbench. ``launch``: a run TOML to start at once; ``replay``: a run."""

    # Absolute, so subclasses defined elsewhere (benchmarks, tests) find it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "densexp"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, show=False,
                tooltip="Quit (asks first while a run trains; the run is then cancelled)"),
        Binding("f1", "help", "Help", id="app.help", show=False,
                tooltip="Every key of every screen"),
    ]

    def __init__(self, runs_dir: Path | None = None, launch: Path | None = None,
                 replay: str | None = None) -> None:
        super().__init__()
        # The New experiment form's settings last launched or saved: a new sweep starts there.
        self.last_experiment_config: RunConfig | None = None
        self.store = RunStore(resolve_runs_dir(runs_dir))
        self.launch_path = launch
        self.replay_ref = replay
        self.training = TrainingQueue()
        self._gpus_found: QueueMode | None = None  # per_gpu_mode()'s answer, once counted
        self._counting_gpus = False
        self.settings, settings_problem = load_settings()
        self._startup_notes = [settings_problem] if settings_problem else []
        self._apply_user_config()
        self._quitting = False
        self._own_sweeps: set[str] = set()  # their trials' ends are not announced one by one
        self._errors_shown: WeakKeyDictionary[DOMNode, set[tuple[str, str]]] = \
            WeakKeyDictionary()
        self._register_themes()

    # -- themes -----------------------------------------------------------------------------
    def _register_themes(self) -> None:
        themes, problems = load_all_themes()
        for theme in themes:
            self.register_theme(theme)
        self._startup_notes.extend(problems)
        wanted = self.user_config.theme or self.settings.theme
        if wanted not in self.available_themes:
            if wanted != DEFAULT_THEME:
                self._startup_notes.append(f"theme {wanted!r} not found; using the default")
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else FALLBACK_THEME
        self.theme = wanted

    def _apply_user_config(self) -> None:
        """config.toml: theme at start, notifications, keymap; a bad file gives defaults."""
        from densexp_tui.tui.keymap import usable_keymap

        self.user_config, problem = load_user_config_or_defaults()
        if problem:
            self._startup_notes.append(problem)
        self.keymap_in_use, keymap_problems = usable_keymap(self.user_config)
        self._startup_notes.extend(keymap_problems)
        self.set_keymap(self.keymap_in_use)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """The app's colours (status, series, ...) for themes that do not define them."""
        return app_variable_defaults(self.current_theme)

    def _remember_theme(self, theme: Any) -> None:
        if theme.name == self.settings.theme:
            return
        self.settings = Settings(theme=theme.name)
        problem = save_settings(self.settings)
        if problem:
            self.notify(problem, severity="warning")

    # -- start ------------------------------------------------------------------------------
    def get_default_screen(self) -> Screen[Any]:
        return HomeScreen()

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        for note in self._startup_notes:
            self.notify(note, severity="warning", timeout=8)
        if self.user_config.queue_per_gpu:  # [queue] per_gpu: count the GPUs first
            self.training.mode = QueueMode(per_gpu=True, finding=True)
            self.find_gpus()
        if self.launch_path is not None:
            self._launch_file(self.launch_path)
        elif self.replay_ref:
            self._replay(self.replay_ref)

    def _launch_file(self, path: Path) -> None:
        try:
            cfg = load_config(path)
        except BadInput as err:
            self.show_error("Cannot launch", str(err))
            return
        self.launch_run(cfg)

    def _replay(self, ref: str) -> None:
        try:
            run = self.store.get(ref)
        except BadInput as err:
            self.show_error("Cannot replay", str(err))
            return
        self.open_run(run.run_id, live=False)

    # -- training ---------------------------------------------------------------------------
    def launch_run(self, cfg: RunConfig, *, watch: bool = True) -> None:
        """Train ``cfg`` now, or after the runs ahead of it (first in, first out)."""
        self.training.enqueue(TrainingJob(cfg=cfg, watch=watch))
        if self.training.full and self.training.active is not None:
            ahead = self.training.active.job.name
            self.notify(f"{cfg.run.name} is queued; it starts when {ahead} ends",
                        title="Queued")
        self._start_next()
        self.broadcast(QueueChanged())

    def _start_next(self) -> None:
        if self._quitting:
            return
        while (active := self.training.start_next()) is not None:  # per-GPU mode: several
            self.notify(f"Starting {active.job.name}: loading data and building the model…",
                        title="Training")
            active.worker = self._train(active)

    def find_gpus(self) -> None:
        """Count the GPUs (a child process asks TensorFlow: seconds), once per app."""
        if self._gpus_found is None and not self._counting_gpus:
            self._counting_gpus = True
            self._count_gpus()

    @work(thread=True, group="gpu-count", exit_on_error=False, name="counting the GPUs")
    def _count_gpus(self) -> None:
        self.post_message(QueueModeFound(per_gpu_mode()))

    def on_queue_mode_found(self, message: QueueModeFound) -> None:
        self._counting_gpus = False
        self._gpus_found = message.mode
        if self.user_config.queue_per_gpu:
            self.notify(message.mode.describe(), title="Run queue")
        self._use_queue_setting()

    def _use_queue_setting(self) -> None:
        """The queue's mode from [queue] per_gpu and the GPUs found; from its next run on
        (runs training now keep going where they are)."""
        if not self.user_config.queue_per_gpu:
            self.training.mode = QueueMode()
        elif self._gpus_found is None:
            self.training.mode = QueueMode(per_gpu=True, finding=True)
            self.find_gpus()
        else:
            self.training.mode = self._gpus_found
        self._start_next()
        self.broadcast(QueueChanged())

    def queue_setting(self) -> QueueSetting:
        return QueueSetting(self.user_config.queue_per_gpu, self._gpus_found,
                            self.user_config.path)

    def set_queue_per_gpu(self, on: bool) -> str | None:
        """The Run queue dialog's switch: save [queue] per_gpu, then use it."""
        try:
            save_queue_per_gpu(on, self.user_config.path)
        except UserConfigError as err:
            return str(err)
        self.user_config.queue_per_gpu = on
        self._use_queue_setting()
        return None

    def action_run_queue(self) -> None:
        from densexp_tui.tui.dialogs.run_queue import RunQueueDialog

        if not isinstance(self.screen, RunQueueDialog):
            self.push_screen(RunQueueDialog(self))

    @work(thread=True, exclusive=False, group=TRAINING_GROUP, exit_on_error=False,
          name="training")
    def _train(self, active: ActiveJob) -> Any:
        return run_job(active.job, self.store, active, self.post_message)

    def on_training_started(self, message: TrainingStarted) -> None:
        """The trainer created the run: remember its id and, if asked, show its dashboard."""
        active = message.active or self.training.active
        if active is None or active not in self.training.running:
            return
        self.training.mark_started(active, message.run_id)
        self.broadcast(RunLaunched(message.run_id))
        if active.job.watch and isinstance(self.screen, HomeScreen) and not self._quitting:
            self.open_run(message.run_id, live=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where workers end: a training run's end (any end), and any other
        worker that failed (the app's own, or a screen's or widget's, forwarded by
        ``UsesWorkbench``), which shows the error dialog instead of ending the app."""
        if event.worker.group == TRAINING_GROUP:
            self._training_worker_changed(event.worker)
        elif event.state == WorkerState.ERROR:
            self._report_worker_error(event.worker)

    def _training_worker_changed(self, worker: Worker[Any]) -> None:
        if not worker.is_finished:
            return
        done = self.training.finish(worker)
        if done is None:
            return
        run_id = done.run_id or ""
        status = self._report_end(worker, done)
        self._never_left_running(run_id, status)
        self._announce_run_end(run_id, done.job.name, status)
        if run_id:
            self.broadcast(RunEnded(run_id, status))
        self._start_next()
        self.broadcast(QueueChanged())

    def _report_end(self, worker: Worker[Any], done: ActiveJob) -> str:
        """Tell the user how the run ended; returns its final status."""
        job, run_id = done.job, done.run_id or ""
        if worker.state == WorkerState.SUCCESS:
            result = worker.result
            fallback = "cancelled" if done.cancel.is_set() else "failed"
            status = str(getattr(result, "status", "") or fallback)
            if not self._quitting:
                self._report_result(job, status, result, run_id)
            return status
        if self._quitting:
            return "cancelled"
        error = worker.error
        if isinstance(error, BadInput):
            self.show_error(f"Cannot start {job.name}", str(error))
            return "failed"
        log = self.store.run_dir(run_id) / "log.txt" if run_id else self.app_log_path()
        self.show_error(f"{job.name} stopped on an error",
                        f"{type(error).__name__}: {error}", log)
        return "failed"

    def _report_result(self, job: TrainingJob, status: str, result: Any, run_id: str) -> None:
        message = str(getattr(result, "message", "") or "")
        if status == "completed":
            accuracy = (getattr(result, "best", None) or {}).get("accuracy")
            best = f": best val accuracy {accuracy:.3f}" if isinstance(accuracy, float) else ""
            self.notify(f"{job.name} completed{best}", title="Run completed")
        elif status == "failed":
            run_id = str(getattr(result, "run_id", "") or run_id)
            log = self.store.run_dir(run_id) / "log.txt" if run_id else None
            self.show_error(f"{job.name} failed", message or "the run failed", log)
        else:
            self.notify(f"{job.name}: {status}" + (f" ({message})" if message else ""),
                        title=f"Run {status}", severity="warning")

    def _announce_run_end(self, run_id: str, name: str, status: str) -> None:
        """Bell and desktop notification, unless off or the user watches this run."""
        if self._quitting or not self.user_config.notifications:
            return
        if self._watched_run() == run_id:
            return
        alert(self, "run", name, status, toast=False)  # _report_result showed the toast

    def on_sweep_started(self, message: SweepStarted) -> None:
        self._own_sweeps.add(message.name)
        self._watch_sweep(message.name, message.process)

    def on_run_statuses_changed(self, message: RunStatusesChanged) -> None:
        """Runs launched elsewhere (another terminal, a sweep worker) ended: say so."""
        watched = self._watched_run()
        changed = self.training.not_own(message.changed)  # per-GPU jobs have their own pid
        announce_outside_ends(self, changed, own_sweeps=self._own_sweeps,
                              watched_run=watched,
                              ring=self.user_config.notifications and not self._quitting)

    def _watched_run(self) -> str | None:
        """The run whose dashboard is on screen, found without importing the dashboard: that
        loads scikit-learn, 1-4 s on the UI thread (measured: the runs screen froze that long
        when a run from another terminal ended); not imported means no dashboard is open."""
        dashboard = sys.modules.get("densexp_tui.tui.screens.dashboard")
        if dashboard is None or not isinstance(self.screen, dashboard.DashboardScreen):
            return None
        return str(self.screen.run_id)

    @work(thread=True, group="sweep-watch", exit_on_error=False, name="watching the sweep process")
    def _watch_sweep(self, name: str, process: Any) -> None:
        code = int(process.wait())
        self.post_message(SweepEnded(name, code, sweep_end_detail(self.store.root, name, code)))

    def on_sweep_ended(self, message: SweepEnded) -> None:
        from densexp_tui.tui.screens.sweeps import SweepsScreen

        if not self.user_config.notifications or isinstance(self.screen, SweepsScreen):
            return  # the Sweeps screen reports its own sweeps' ends
        alert(self, "sweep", message.name, sweep_status(message.exit_code),
              message.detail or f"exit {message.exit_code}")

    def _never_left_running(self, run_id: str, status: str) -> None:
        """If the trainer died without writing an end, record one: no run stays 'running'."""
        if not run_id:
            return
        try:
            handle = self.store.open_run(run_id)
            if handle.summary().status == "running":
                final = status if status != "running" else "failed"
                handle.update_summary(status=final, finished=time.time(),
                                      message="the training worker stopped unexpectedly")
        except (BadInput, OSError, ValueError):
            pass  # the run folder was never written or is gone: nothing to fix

    def _report_worker_error(self, worker: Worker[Any]) -> None:
        """A side worker failed: say what it was doing and why, with its run's log if any."""
        if self._quitting:
            return
        # Side workers are named for what they do ("reading the studies"); not a method name.
        described = " " in worker.name
        title = f"Error while {worker.name}" if described else "A background task failed"
        error = worker.error
        message = f"{type(error).__name__}: {error}"
        # Once per screen and error: a worker a timer restarts every second must not bury
        # the screen under dialogs (a different error, or the screen opened anew, shows).
        shown = self._errors_shown.setdefault(worker.node, set())
        if (title, message) in shown:
            return
        shown.add((title, message))
        self.show_error(title, message, _run_log_of(worker))

    def cancel_run(self, run_id: str | None = None) -> bool:
        """Ask the training run (``run_id``, or whichever trains) to stop; True if one was."""
        return self.training.cancel(run_id)  # the caller tells the user; it stops soon

    @property
    def training_busy(self) -> bool:
        return self.training.busy

    def describe_queue(self) -> str:
        return self.training.describe()

    def remember_experiment_config(self, cfg: RunConfig) -> None:
        self.last_experiment_config = cfg

    def broadcast(self, message: Message) -> None:
        """Deliver an app-level message to every screen in the stack (each gets a copy)."""
        for screen in self.screen_stack:
            screen.post_message(_copy_message(message))

    # -- navigation (the Workbench's open_*; tui.navigation picks the screens) -----------
    def open_run(self, run_id: str, *, live: bool) -> None:
        """The run's dashboard: following it while it trains, replaying it afterwards."""
        self.push_screen(navigation.run_screen(self.store, run_id, live=live))

    def open_new_experiment(self, config: RunConfig | None = None,
                            parent: str | None = None) -> None:
        self.push_screen(navigation.new_experiment_screen(config, parent))

    def open_compare(self, run_ids: list[str]) -> None:
        self.push_screen(navigation.compare_screen(self.store, run_ids))

    def open_sweeps(self) -> None:
        self.push_screen(navigation.sweeps_screen(self.store))

    def resume_run(self, run_id: str) -> None:
        """Queue the run to continue from its checkpoint (same queue as new runs)."""
        from densexp_tui.engine.resume import plan_resume  # no TensorFlow at import

        try:
            plan = plan_resume(run_id, self.store)
        except BadInput as err:
            self.show_error("Cannot resume", str(err))
            return
        self.training.enqueue(TrainingJob(cfg=plan.cfg, watch=True, resume_id=run_id))
        self._start_next()
        self.broadcast(QueueChanged())

    # -- reports ----------------------------------------------------------------------------
    def on_export_report(self, message: ExportReport) -> None:
        self.notify("Writing the report…", title="Report")
        self._write_report(message.run_ids)

    @work(thread=True, group="report", exit_on_error=False, name="writing the report")
    def _write_report(self, run_ids: list[str]) -> None:
        self.post_message(ReportExported(export_report(self.store, run_ids)))

    def on_report_exported(self, message: ReportExported) -> None:
        announce_report(self, message.outcome)

    def action_help(self) -> None:
        from densexp_tui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen, keymap=self.keymap_in_use))

    def show_error(self, title: str, message: str, log_path: Path | None = None) -> None:
        self.push_screen(ErrorDialog(title, message, log_path))

    def app_log_path(self) -> Path:
        return self.store.root / APP_LOG_NAME

    # -- command palette --------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands plus what the current screen can do (from its bindings)."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help: every key", "Every key of every screen", self.action_help)
        # Help texts are markup: "[queue]" would vanish as a tag.
        yield SystemCommand("Run queue", "One run at a time, or one per GPU (queue.per_gpu)",
                            self.action_run_queue)
        yield from screen_commands(screen)

    # -- quitting ---------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit; while a run trains, ask first, then cancel it cleanly before exiting."""
        if not self.training.busy:
            self.exit(0)
            return
        if self._quitting:
            return
        self.push_screen(
            ConfirmDialog(self.training.quit_question(),
                          title="Quit densexp?", yes="Cancel run and quit", no="Keep training"),
            self._quit_answered,
        )

    def _quit_answered(self, yes: bool | None) -> None:
        if yes:
            self.run_worker(self._cancel_and_exit(), group="shutdown", exclusive=True)

    async def _cancel_and_exit(self) -> None:
        self._quitting = True
        running = list(self.training.running)
        self.training.cancel_all()
        for active in running:
            self.notify(f"Cancelling {active.job.name}; saving its state…", timeout=30)
        for active in running:
            if active.worker is not None:
                await _wait_quietly(active.worker)
        self.exit(0)

    def exit(self, result: int | None = None, return_code: int = 0,
             message: Any = None) -> None:
        """Whatever makes the app exit, the training thread is told to stop first: asyncio
        waits for executor threads when the loop closes, and the run must end 'cancelled'."""
        self._cancel_everything()
        super().exit(result, return_code, message)

    def on_unmount(self) -> None:
        self._cancel_everything()

    def _cancel_everything(self) -> None:
        self._quitting = True
        self.training.cancel_all()

    def stop_training_now(self) -> None:
        """Last resort after the app ended: cancel and wait for the training thread."""
        self._cancel_everything()
        for active in list(self.training.running):
            if active.worker is not None:
                # The event loop already waited for executor threads; this bounds a thread
                # that never started, so the terminal is always given back.
                active.done.wait(timeout=STOP_WAIT_SECONDS)


if TYPE_CHECKING:
    def _implements_the_screens_interface(app: DensexpApp) -> Workbench:
        return app  # mypy checks here that DensexpApp has everything Workbench promises

    def _implements_the_queue_settings(app: DensexpApp) -> QueueSettings:
        return app


async def _wait_quietly(worker: Worker[Any]) -> None:
    """Wait for a worker to end; its errors are reported by on_worker_state_changed."""
    try:
        await worker.wait()
    except Exception:
        pass


def _run_log_of(worker: Worker[Any]) -> Path | None:
    """The log of the run the failed worker's screen shows, if it shows one."""
    node = worker.node
    if isinstance(node, App):
        return None  # the app's own workers: app.screen is whatever is on top, not theirs
    candidates: list[object] = [node]
    try:
        candidates.append(node.screen)  # a widget's worker: the screen it sits on
    except NoScreen:
        pass
    for candidate in candidates:
        if isinstance(candidate, ShowsRun):
            return candidate.run_log_path
    return None


def _copy_message(message: Message) -> Message:
    """A fresh instance: one Message object must not travel to two screens."""
    if isinstance(message, RunLaunched):
        return RunLaunched(message.run_id)
    if isinstance(message, RunEnded):
        return RunEnded(message.run_id, message.status)
    if isinstance(message, QueueChanged):
        return QueueChanged()
    return message


def _app_log_path(store: RunStore) -> Path:
    """runs_dir/.densexp-tui.log; a read-only runs dir can still be browsed (temp log)."""
    try:
        store.ensure_writable()
    except BadInput:
        return Path(tempfile.gettempdir()) / f"densexp-tui-{os.getuid()}.log"
    return store.root / APP_LOG_NAME


def _terminal() -> Any:
    """The user's terminal, even when the CLI already pointed fd 2 at a log file."""
    from densexp_tui.engine.logcapture import terminal_stream

    return terminal_stream()


def _keep_library_output_off_screen(log_path: Path) -> None:
    """Point fd 2 at ``log_path``; Textual keeps drawing on a duplicate (sys.__stderr__)."""
    from densexp_tui.engine.logcapture import redirect_fd2_for_process

    redirect_fd2_for_process(log_path)


def run_app(runs_dir: Path | str | None = None, launch: Path | str | None = None,
            replay: str | None = None) -> int:
    """Run the app in this terminal; returns the exit code (2: bad --launch or replay ref)."""
    store = RunStore(resolve_runs_dir(runs_dir))
    try:
        if launch is not None:
            load_config(Path(launch))  # a bad TOML: one line and exit 2, like `densexp run`
        if replay:
            store.get(replay)
    except BadInput as err:
        print(f"densexp: {err}", file=_terminal(), flush=True)
        return 2
    _keep_library_output_off_screen(_app_log_path(store))
    app = DensexpApp(runs_dir=store.root, launch=Path(launch) if launch else None,
                     replay=replay)
    try:
        result = app.run()
    finally:
        app.stop_training_now()  # whatever ended the app, no run is left 'running'
    return int(result or 0)
