"""Sweeps: the Optuna studies of this runs directory (or of a PostgreSQL storage), live.

Left, the studies; right, the selected study's trials (parameters, state, value, run,
epochs, duration, pruned at), the best value so far as a curve, and parameter importances
once enough trials completed. Keys stop a study (the running trial is cancelled cleanly and its
parameters run again on the next start), continue it, open any trial's dashboard, and start
a new sweep from a small form. Sweeps run as ``densexp sweep`` subprocesses: crash-safe, and
they keep going when the app closes.

Studies are read in a thread worker once a second and handed to the UI thread as one
message; widgets are only touched there.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Static,
    TabbedContent,
    TabPane,
)

from densexp_tui.core.config import RunConfig, load_config, resolve_paths
from densexp_tui.core.errors import BadInput
from densexp_tui.core.runstore import RunStore
from densexp_tui.tui.services import UsesWorkbench
from densexp_tui.tui.widgets.line_chart import ChartSeries, LineChart
from densexp_tui.tui.widgets.sweep_form import compose_sweep_form, read_sweep_form
from densexp_tui.tui.widgets.trials_table import TrialsTable

if TYPE_CHECKING:  # optuna loads with sweep.study: the screen imports it only in workers
    from textual.widget import AwaitMount

    from densexp_tui.sweep.reader import Snapshot, StudyReader, StudyView

REFRESH_SECONDS = 1.0
CURVE_SECONDS = 3.0  # the best-so-far curve is redrawn at most this often
NEWEST_RUNS_FOR_BASE = 200
# Parameter importance bars: 16 (key) + 1 + bar + 1 + 4 (share) fit the box's 46 columns,
# or its 32 on a narrow screen, where the best-so-far curve needs the rest.
BAR_WIDTH = 20
NARROW_BAR_WIDTH = 8
# The trials table's columns before any study is read (sweep.reader.trial_header([])).
EMPTY_TRIALS_HEADER = ("#", "state", "value", "run", "epochs", "duration", "pruned at")


class SweepsLoaded(Message):
    """The worker read the studies; the handler redraws."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class SweepsScreen(UsesWorkbench, Screen[None]):
    """Studies, their trials, the best so far, importances, and starting or stopping sweeps."""

    # Not the storage field: single-letter keys must reach the screen's bindings.
    AUTO_FOCUS = "#studies-table"
    DEFAULT_CSS = """
    SweepsScreen #sweeps-storage-bar { height: 3; padding: 0 1; }
    SweepsScreen #sweeps-storage-bar Label { padding: 1 1 0 0; color: $text-muted; }
    SweepsScreen #sweeps-storage { width: 1fr; }
    SweepsScreen #sweeps-tabs { height: 1fr; }
    SweepsScreen #studies-table { width: 36; height: 1fr; }
    SweepsScreen #study-detail { width: 1fr; height: 1fr; padding-left: 1; }
    SweepsScreen #study-title { height: auto; color: $foreground; }
    SweepsScreen #sweeps-problem { height: auto; color: $error; padding: 0 1; }
    SweepsScreen #trials-table { height: 1fr; }
    SweepsScreen #study-bottom { height: 12; }
    SweepsScreen #best-curve { width: 1fr; }
    SweepsScreen #importances { width: 46; height: 1fr; padding-left: 2; }
    SweepsScreen .form-row { height: auto; }
    SweepsScreen .form-row Input { width: 1fr; }
    SweepsScreen .form-row Select { width: 1fr; }
    SweepsScreen .space-row {
        height: auto; grid-size: 5; grid-rows: 3; grid-columns: 2fr auto 1fr 1fr 1fr;
    }
    SweepsScreen.-narrow .space-row { grid-size: 3; grid-columns: 1fr 1fr 1fr; }
    SweepsScreen.-narrow .space-key { column-span: 2; }
    SweepsScreen .hint { color: $text-muted; height: auto; padding: 0 1; }
    SweepsScreen #new-problem { color: $error; height: auto; padding: 0 1; }
    SweepsScreen.-narrow #studies-table { width: 26; }
    SweepsScreen.-narrow #importances { width: 32; }
    SweepsScreen.-short #study-bottom { height: 7; }
    """
    # At 80x24 the studies list and the 12-row curve left the trials table its header and
    # no row: a narrow screen gives the list less width, a short one the curve fewer rows.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    BINDINGS = [
        Binding("escape", "back", "Back", id="sweeps.back",
                tooltip="Back to the runs (sweeps keep running)"),
        Binding("o", "open_trial", "Open trial", id="sweeps.open_trial",
                tooltip="Open the selected trial's dashboard (live while it trains)"),
        Binding("s", "stop_study", "Stop", id="sweeps.stop",
                tooltip="Stop the selected study: cancel the running trial cleanly; its "
                        "parameters run again when the study continues"),
        Binding("c", "continue_study", "Continue", id="sweeps.continue",
                tooltip="Run the selected study again (densexp sweep in the background)"),
        Binding("n", "new_sweep", "New sweep", id="sweeps.new",
                tooltip="Start a sweep from the current settings and a search space"),
        Binding("u", "focus_storage", "Storage", id="sweeps.storage",
                tooltip="List the studies of a storage URL (PostgreSQL) instead of this "
                        "runs directory"),
        Binding("r", "refresh", "Refresh", id="sweeps.refresh",
                tooltip="Read the studies again now"),
        Binding("e", "ensemble_top", "Ensemble top 3", id="sweeps.ensemble", show=False,
                tooltip="Average the selected study's 3 best trials (val F1) into an "
                        "ensemble run"),
    ]

    def __init__(self, store: RunStore) -> None:
        super().__init__(id="sweeps")
        self.store = store
        self._reader: StudyReader | None = None  # made in a worker: it imports optuna
        self._reader_lock = threading.Lock()
        self.selected: str | None = None
        # A sweep launched from the form, shown as soon as its study exists (until then the
        # snapshot falls back to the first study, which must not win).
        self._launched: str | None = None
        self.snapshot: Snapshot | None = None
        self._drawn: dict[str, Any] = {}
        self._trials_drawn: tuple[int, int] | None = None  # the view.drawn the table was given
        self._curve_at = 0.0  # when the best-so-far curve was last drawn (monotonic)
        self._processes: list[tuple[str, Any]] = []
        self._form_mounting: AwaitMount | None = None  # the New sweep form, once asked for

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="sweeps-storage-bar"):
            yield Label("Storage")
            yield Input(placeholder="blank: this runs directory's studies; or "
                        "postgresql://user:pw@host:5432/db", id="sweeps-storage")
        yield Static("", id="sweeps-problem")
        with TabbedContent(id="sweeps-tabs", initial="tab-studies"):
            with TabPane("Studies", id="tab-studies"):
                with Horizontal():
                    yield DataTable(id="studies-table", cursor_type="row", zebra_stripes=True)
                    with Vertical(id="study-detail"):
                        yield Static("No study selected.", id="study-title")
                        yield TrialsTable(id="trials-table", cursor_type="row",
                                          zebra_stripes=True)
                        with Horizontal(id="study-bottom"):
                            yield LineChart("best so far", x_label="trial", id="best-curve",
                                            empty_text="no complete trial yet")
                            yield Static("", id="importances")
            # Its ~150 widgets are mounted when the tab is first shown (_show_form): styling
            # them with the screen cost ~0.8 s of UI thread on every opening, form unseen.
            yield TabPane("New sweep", id="tab-new")
        yield Footer()

    async def _show_form(self) -> None:
        """Mount the New sweep form on its first showing; its fields exist once awaited."""
        if self._form_mounting is None:
            self._form_mounting = self.query_one("#tab-new", TabPane).mount_compose(
                compose_sweep_form())
        await self._form_mounting

    @on(TabbedContent.TabActivated, "#sweeps-tabs")
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-new" and self._form_mounting is None:  # a click on the tab
            await self._show_form()
            self.query_one("#new-base", Static).update(self._base_description())

    def reader(self) -> StudyReader:
        """The study reader (workers only: creating it imports optuna)."""
        with self._reader_lock:
            if self._reader is None:
                from densexp_tui.sweep.reader import StudyReader

                self._reader = StudyReader(self.store)
            return self._reader

    def on_mount(self) -> None:
        self.sub_title = "Sweeps"  # the header said only "densexp" here
        studies = self.query_one("#studies-table", DataTable)
        studies.add_columns("Study", "Trials", "Best")
        self.set_interval(REFRESH_SECONDS, self.request_load)
        self.request_load()

    # -- reading ----------------------------------------------------------------------------
    def request_load(self) -> None:
        self._poll_processes()
        url = self.query_one("#sweeps-storage", Input).value
        self._load(url, self.selected, self._trials_drawn)

    @work(thread=True, exclusive=True, group="sweeps-load", exit_on_error=False,
          name="reading the studies")
    def _load(self, url: str, selected: str | None, since: tuple[int, int] | None) -> None:
        self.post_message(SweepsLoaded(self.reader().snapshot(url, selected, since)))

    @on(SweepsLoaded)
    def _loaded(self, message: SweepsLoaded) -> None:
        snapshot = message.snapshot
        self.snapshot = snapshot
        self._show_text("#sweeps-problem", snapshot.problem)
        view = snapshot.selected
        if self._launched in {study.name for study in snapshot.studies}:
            self.selected, self._launched = self._launched, None
            if view is None or view.info.name != self.selected:
                self._trials_drawn = None
                self.request_load()  # its trials, in the next snapshot
        elif view is not None:
            self.selected = view.info.name
        self._draw_studies(snapshot.studies)
        self._draw_study(view)

    def _draw_studies(self, studies: list[Any]) -> None:
        cells = [(s.name, f"{s.finished}/{s.target or '?'}" + (f" ▶{s.running}" if s.running
                                                                 else ""),
                  _number(s.best)) for s in studies]
        if self._drawn.get("studies") == cells:
            return
        self._drawn["studies"] = cells
        table = self.query_one("#studies-table", DataTable)
        table.clear()
        for row in cells:
            table.add_row(*row, key=row[0])
        if self.selected is not None and self.selected in [c[0] for c in cells]:
            table.move_cursor(row=table.get_row_index(self.selected), animate=False)

    def _draw_study(self, view: StudyView | None) -> None:
        if view is None:
            self._show_text("#study-title", "No study here yet: press n to start a sweep, or "
                            "give a storage URL.")
            self._draw_trials(None)
            self.query_one("#best-curve", LineChart).set_series([])
            self._drawn.pop("best", None)
            self._show_text("#importances", "")
            return
        self._show_text("#study-title", self._title(view))
        self._draw_trials(view)
        finished = (view.info.name, view.info.objective, view.best_points, view.value_points)
        drawn = self._drawn.get("best")
        # A running trial's clock is not a new best; and a study finishing trials quickly
        # redraws its 1,000-point curve (~0.1 s of UI thread under load) at most every
        # CURVE_SECONDS: the next refresh after that draws what it holds then.
        if drawn != finished and (drawn is None or drawn[0] != finished[0] or
                                  time.monotonic() - self._curve_at >= CURVE_SECONDS):
            self._drawn["best"], self._curve_at = finished, time.monotonic()
            self._draw_best(view)
        self._show_text("#importances", importance_text(
            view.importances, view.info.finished, view.importances_pending,
            bar_width=NARROW_BAR_WIDTH if self.has_class("-narrow") else BAR_WIDTH))

    def _show_text(self, selector: str, content: str | Text) -> None:
        """Update a Static only when what it says changes: the screen refreshes every
        second and each update lays the screen out again (200-900 ms with a 1,000-trial
        study under load, which a key press then waited for)."""
        key = f"text {selector}"
        if key in self._drawn and self._drawn[key] == content:
            return
        before = self._drawn.get(key)
        self._drawn[key] = content
        widget = self.query_one(selector, Static)
        # A text that keeps the widget's size needs no layout: a trial that completes
        # changes the title's counts (fixed_size: the importances' box never changes size).
        same_size = fixed_size(widget) or (before is not None and
                                           fits_one_line(before, widget.content_size.width)
                                           and fits_one_line(content, widget.content_size.width))
        widget.update(content, layout=not same_size)

    def _title(self, view: StudyView) -> Text:
        info = view.info
        text = Text(info.name, style="bold")
        text.append(f"  {info.objective or 'objective'} ({info.direction})  "
                    f"{info.finished}/{info.target or '?'} finished, {info.running} running")
        if info.best is not None:
            text.append(f"  best {info.best:.4f}", style="bold")
        return text

    def _draw_trials(self, view: StudyView | None) -> None:
        """Hand the table only the rows changed since what it was given (sweep.trialcache),
        or every row when it shows another study or other columns."""
        table = self.query_one("#trials-table", TrialsTable)
        drawn, self._trials_drawn = self._trials_drawn, view.drawn if view else None
        if view is None:  # no study (any more): nothing of the last one stays shown
            if table.header != EMPTY_TRIALS_HEADER or table.row_count or not table.filled:
                table.show_all(EMPTY_TRIALS_HEADER, [])
            return
        delta = view.changed
        if drawn is None or drawn[0] != delta.epoch or view.header != table.header:
            table.show_all(view.header, view.cells)  # another study, or other columns
        elif delta.since is not None and delta.since <= drawn[1]:
            table.apply(delta.changed)  # a running study: a few cells and new trials
        else:  # asked before the table had this study (opening): equal rows are skipped
            table.apply(view.cells)

    def _draw_best(self, view: StudyView) -> None:
        best = view.best_points  # built in the worker: they grow with the trials
        note = f"{best[-1][1]:.4f}" if best else ""
        self.query_one("#best-curve", LineChart).set_series([
            ChartSeries("best", best, 0, markers=True, value_note=note),
            ChartSeries("trial value", view.value_points, 1, markers=True),
        ], title=f"best {view.info.objective or 'value'} so far")

    # -- selecting and opening --------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#studies-table")
    def _study_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = event.row_key.value if event.row_key is not None else None
        if name and name != self.selected:
            self.selected = name
            self._trials_drawn = None
            self.request_load()

    @on(DataTable.RowSelected, "#trials-table")
    def _trial_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_trial()

    def _selected_trial(self) -> Any | None:
        view = self.snapshot.selected if self.snapshot else None
        table = self.query_one("#trials-table", DataTable)
        if view is None or not view.rows or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((r for r in view.rows if str(r.number) == key), None)

    def action_open_trial(self) -> None:
        trial = self._selected_trial()
        if trial is None or not trial.run_id:
            self.notify("This trial has no run yet", severity="warning")
            return
        run_dir = self.store.run_dir(trial.run_id)
        if not (run_dir / "summary.json").exists():
            self.notify(f"run {trial.run_id} is not in this runs directory (another machine "
                        "trained it)", severity="warning")
            return
        status = self.store.read_summary(trial.run_id).status
        self.densexp.open_run(trial.run_id, live=status == "running")

    # -- stop, continue ---------------------------------------------------------------------
    def _selected_study(self) -> StudyView | None:
        view = self.snapshot.selected if self.snapshot else None
        if view is None:
            self.notify("Select a study first", severity="warning")
        return view

    def action_stop_study(self) -> None:
        view = self._selected_study()
        if view is None:
            return
        self._stop(view.info.name, self.query_one("#sweeps-storage", Input).value.strip())

    @work(thread=True, group="sweeps-stop", exit_on_error=False, name="stopping the study")
    def _stop(self, name: str, url: str) -> None:
        from densexp_tui.sweep.runner import request_stop

        study = self.reader().open_study(url, name) if url else None
        request_stop(self.store.root, name, study)
        self.app.call_from_thread(
            self.notify, f"Stopping {name}: the running trial is cancelled and runs again "
            "when the study continues", title="Sweep")

    def action_ensemble_top(self) -> None:
        view = self._selected_study()
        if view is not None:
            self._ensemble_top(view.info.name)

    @work(thread=True, group="sweeps-ensemble", exit_on_error=False)
    def _ensemble_top(self, name: str) -> None:
        from densexp_tui.core.ensemble import ensemble_notice

        made, text = ensemble_notice(self.store, sweep=name, top=3)
        self.app.call_from_thread(self.notify, text, title="Ensemble" if made else
                                  "No ensemble", severity="information" if made else "error")

    def action_continue_study(self) -> None:
        view = self._selected_study()
        if view is None:
            return
        source = Path(view.source) if view.source else None
        if source is None or not source.is_file():
            self.notify(f"The sweep file of {view.info.name} is gone; start it from its "
                        "TOML with densexp sweep", severity="warning")
            return
        self._launch(source, view.info.name)

    def _launch(self, sweep_file: Path, name: str, workers: list[str] | None = None) -> None:
        from densexp_tui.sweep.launch import launch_sweep_process

        url = self.query_one("#sweeps-storage", Input).value.strip()
        process = launch_sweep_process(sweep_file, self.store.root, name, url, workers or [])
        self._processes.append((name, process))
        from densexp_tui.tui.end_notice import SweepStarted

        self.post_message(SweepStarted(name, process))  # the app announces its end anywhere
        self.selected = self._launched = name
        self.notify(f"Sweep {name} started (pid {process.pid}); output in "
                    f".sweeps/{name}.out", title="Sweep")

    def _poll_processes(self) -> None:
        for name, process in list(self._processes):
            code = process.poll()
            if code is None:
                continue
            self._processes.remove((name, process))
            from densexp_tui.tui.end_notice import sweep_end_detail

            detail = sweep_end_detail(self.store.root, name, code)
            self.notify(f"Sweep {name} ended ({detail})", title="Sweep",
                        severity="information" if code == 0 else "error")

    # -- new sweep --------------------------------------------------------------------------
    async def action_new_sweep(self) -> None:
        await self._show_form()
        self.query_one("#new-base", Static).update(self._base_description())
        self.query_one("#sweeps-tabs", TabbedContent).active = "tab-new"
        self.query_one("#new-name", Input).focus()

    def _base_config(self) -> tuple[RunConfig, str]:
        """The New experiment screen's current settings when the app keeps them, else the
        newest run's config, else the defaults."""
        current = self.densexp.last_experiment_config
        if current is not None:
            return current, "the New experiment settings"
        # Trials of other sweeps are not "settings": take the newest run of its own.
        # Among the newest few only: reading every run here would stall the UI at scale.
        newest, _count = self.store.newest_runs(NEWEST_RUNS_FOR_BASE)
        for summary in [r for r in newest if not r.sweep][:1]:
            try:
                return (load_config(self.store.run_dir(summary.run_id) / "config.toml"),
                        f"the settings of the newest run, {summary.name}")
            except BadInput:
                break
        return RunConfig(), "the default settings"

    def _base_description(self) -> str:
        cfg, where = self._base_config()
        return (f"Base: {where} ({cfg.model.name} on {cfg.data.name or cfg.data.path}, "
                f"{cfg.train.epochs} epochs)")

    @on(Button.Pressed, "#new-start")
    def start_new_sweep(self) -> None:
        from densexp_tui.sweep.launch import form_to_sweep, worker_arguments, write_sweep_file

        problem = self.query_one("#new-problem", Static)
        try:
            base = self._chosen_base()
            form = read_sweep_form(self)
            cfg = form_to_sweep(form, resolve_paths(base))
            workers = worker_arguments(form)
        except BadInput as err:
            problem.update(str(err))
            return
        problem.update("")
        path = write_sweep_file(cfg, self.store.root)
        self._launch(path, cfg.sweep.name, workers)
        self.query_one("#sweeps-tabs", TabbedContent).active = "tab-studies"
        # Focus must leave the form too, or the tab with the focused field comes back.
        self.query_one("#studies-table", DataTable).focus()

    @on(Input.Changed, "#new-base-path")
    def _base_path_changed(self, event: Input.Changed) -> None:
        typed = event.value.strip()
        self.query_one("#new-base", Static).update(
            f"Base: {typed}" if typed else self._base_description())

    def _chosen_base(self) -> RunConfig:
        typed = self.query_one("#new-base-path", Input).value.strip()
        return load_config(Path(typed).expanduser()) if typed else self._base_config()[0]

    # -- other keys -------------------------------------------------------------------------
    @on(Input.Submitted, "#sweeps-storage")
    def _storage_submitted(self) -> None:
        self.selected = None
        self._drawn.clear()
        self._trials_drawn = None
        self.request_load()
        self.query_one("#studies-table", DataTable).focus()

    def action_focus_storage(self) -> None:
        self.query_one("#sweeps-tabs", TabbedContent).active = "tab-studies"
        self.query_one("#sweeps-storage", Input).focus()

    def action_refresh(self) -> None:
        self._drawn.clear()
        self._trials_drawn = None
        self.request_load()

    def on_unmount(self) -> None:
        if self._reader is not None:
            self._reader.close()  # the importance process ends with the screen

    def action_back(self) -> None:
        self.dismiss(None)


def fixed_size(widget: Static) -> bool:
    """Its size does not follow its content (no auto width or height)."""
    width, height = widget.styles.width, widget.styles.height
    return width is not None and height is not None and not width.is_auto \
        and not height.is_auto


def fits_one_line(content: str | Text, width: int) -> bool:
    from rich.cells import cell_len

    plain = content.plain if isinstance(content, Text) else content
    return "\n" not in plain and 0 < cell_len(plain) <= width


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def importance_text(importances: dict[str, float] | None, finished: int,
                    pending: bool = False, bar_width: int = BAR_WIDTH) -> Text:
    """Bars of Optuna's parameter importances, or why there are none yet."""
    from densexp_tui.sweep.study import MIN_TRIALS_FOR_IMPORTANCE, short_key

    text = Text("parameter importance" + (" (updating…)" if pending else "") + "\n",
                style="bold")
    if not importances and pending:
        text.append(f"computing over {finished} finished trials…")
        return text
    if not importances:
        text.append(f"after {MIN_TRIALS_FOR_IMPORTANCE} complete trials "
                    f"({finished} finished so far)")
        return text
    for key, share in importances.items():
        bar = "█" * max(1, round(share * bar_width)) if share > 0 else ""
        text.append(f"{short_key(key)[:16]:<16} {bar:<{bar_width}} {share:.2f}\n")
    return text
