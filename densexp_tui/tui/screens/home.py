"""Runs: the home screen. Every run in the runs directory, newest first, live.

The table is rebuilt from ``RunStore.list_runs`` once a second (cheap: one small JSON file per
run) and only the cells that changed are redrawn, so a long list stays smooth while a run
trains. Typing in the filter narrows the list; marks (space) pick runs to compare.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import JustifyMethod
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from densexp_tui.core.config import load_config
from densexp_tui.core.errors import BadInput
from densexp_tui.core.runstore import RunSummary
from densexp_tui.core.statuses import RESUMABLE_STATUSES, STATUS_MARKS
from densexp_tui.tui.dialogs import ConfirmDialog
from densexp_tui.tui.messages import QueueChanged, RunEnded, RunLaunched
from densexp_tui.tui.services import UsesWorkbench
from densexp_tui.tui.widgets.formatting import format_duration, format_metric

REFRESH_SECONDS = 1.0
# (key, label): the order people scan in, most telling first.
COLUMNS = (
    ("mark", " "),
    ("name", "Name"),
    ("status", "Status"),
    ("acc", "Val acc"),
    ("f1", "F1"),
    ("dataset", "Dataset"),
    ("model", "Model"),
    ("mode", "Mode"),
    ("epochs", "Epochs"),
    ("duration", "Duration"),
    ("started", "Started"),
    ("trainable", "Train %"),
)
RIGHT_ALIGNED = {"acc", "f1", "epochs", "duration", "trainable"}


def format_trainable(run: RunSummary) -> str:
    """Share of weights that train: 100% for full fine-tuning, small for LoRA/head."""
    fraction = run.trainable_fraction
    if fraction is None:
        return "-"
    percent = fraction * 100
    return f"{percent:.0f}%" if percent >= 10 else f"{percent:.2g}%"


def display_path(path: Path) -> str:
    """A path as short as it can be said: relative to the working dir, or with ~."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        pass
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def run_duration(run: RunSummary, now: float) -> float | None:
    if run.duration is not None:
        return run.duration
    if run.status == "running" and run.started:
        return now - run.started  # live: the clock keeps going while it trains
    return None


def run_cells(run: RunSummary, marked: bool, now: float) -> tuple[str, ...]:
    """The row's plain texts, in COLUMNS order (compared to skip redraws)."""
    started = time.strftime("%m-%d %H:%M", time.localtime(run.started)) if run.started else "-"
    glyph = STATUS_MARKS.get(run.status, "?")
    return (
        "●" if marked else " ",
        run.name or run.run_id,
        f"{glyph} {run.status}",
        format_metric(run.best.get("accuracy")),
        format_metric(run.best.get("f1")),
        run.dataset or "-",
        run.model or "-",
        run.finetune or "-",
        f"{run.epochs_done}/{run.epochs}" if run.epochs else "-",
        format_duration(run_duration(run, now)),
        started,
        format_trainable(run),
    )


def run_matches(run: RunSummary, words: list[str]) -> bool:
    """Every filter word appears in one of the run's descriptive fields."""
    haystack = " ".join(
        (run.run_id, run.name, run.status, run.dataset, run.model, run.finetune, run.sweep)
    ).lower()
    return all(word in haystack for word in words)


class RunsTable(DataTable[Text]):
    """The runs table; its enter shows in the footer as "Open" (DataTable hides its own)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="runs.open",
                tooltip="Watch the selected run live, or replay it when it has ended"),
    ]


class HomeScreen(UsesWorkbench, Screen[None]):
    """The runs table, the filter and what trains or waits."""

    AUTO_FOCUS = "#runs-table"
    BINDINGS = [
        Binding("enter", "open_run", "Open", id="home.open",
                tooltip="Watch the selected run live, or replay it when it has ended"),
        Binding("n", "new_experiment", "New", id="home.new",
                tooltip="Set up a new experiment: data, model, training, review"),
        Binding("r", "rerun", "Re-run", id="home.rerun",
                tooltip="Open the selected run's settings as a new experiment"),
        Binding("space", "toggle_mark", "Mark", id="home.mark",
                tooltip="Mark or unmark the selected run for compare"),
        Binding("c", "compare", "Compare", id="home.compare",
                tooltip="Compare the marked runs (or the marked one and the selected one)"),
        Binding("e", "ensemble", "Ensemble", id="home.ensemble", show=False,
                tooltip="Average the marked runs' test probabilities into an ensemble run"),
        Binding("d", "delete_run", "Delete", id="home.delete", show=False,
                tooltip="Delete the selected run's folder (asks first; not while it runs)"),
        Binding("R", "resume_run", "Resume", id="home.resume",
                tooltip="Continue an interrupted or cancelled run from its last checkpoint"),
        Binding("x", "export_report", "Report", id="home.export_report", show=False,
                tooltip="Write an HTML report of the marked runs (or the selected one)"),
        Binding("w", "sweeps", "Sweeps", id="home.sweeps",
                tooltip="Hyperparameter sweeps (Optuna studies)"),
        Binding("slash", "focus_filter", "Filter", id="home.filter", show=False,
                tooltip="Type to narrow the runs by name, status, dataset or model"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="home.clear_filter",
                tooltip="Empty the filter and go back to the table"),
        Binding("t", "app.change_theme", "Theme", id="home.theme", show=False,
                tooltip="Pick a colour theme (remembered for next time)"),
        Binding("question_mark", "app.help", "Help", id="home.help",
                tooltip="Every key of every screen"),
        Binding("q", "app.quit", "Quit", id="home.quit",
                tooltip="Quit (asks first while a run trains)"),
    ]

    def __init__(self) -> None:
        super().__init__(id="home")
        self.marked: set[str] = set()
        self._runs: dict[str, RunSummary] = {}
        self._rows: dict[str, tuple[str, ...]] = {}
        self._order: list[str] = []
        self._footer_offers_resume: bool | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-bar"):
            yield Static("Filter", id="filter-label")
            yield Input(placeholder="type / then words: name, status, dataset, model…",
                        id="filter", compact=True)
        table = RunsTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static(id="empty-hint")
        yield Static(id="queue-line")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Runs · {display_path(self.densexp.store.root)}"
        self.refresh_runs()
        self.set_interval(REFRESH_SECONDS, self._tick)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh_runs(True))

    # -- keeping the table current ----------------------------------------------------------
    def _tick(self) -> None:
        if self.app.screen is self:  # nobody sees it under another screen: skip the work
            self.refresh_runs()

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    @on(QueueChanged)
    @on(RunLaunched)
    @on(RunEnded)
    def _training_changed(self) -> None:
        self.refresh_runs()

    def refresh_runs(self, restyle: bool = False) -> None:
        """Re-read the runs and redraw what changed (everything when ``restyle``)."""
        runs = self.densexp.store.list_runs()
        self._runs = {run.run_id: run for run in runs}
        self.marked &= self._runs.keys()
        words = self.query_one("#filter", Input).value.lower().split()
        now = time.time()
        rows = {r.run_id: run_cells(r, r.run_id in self.marked, now)
                for r in runs if run_matches(r, words)}
        if restyle or list(rows) != self._order:
            self._rebuild(rows)
        else:
            self._update_changed(rows)
        self._rows, self._order = rows, list(rows)
        self._update_side_lines(len(runs), len(rows))
        self._update_footer_for_selection()

    def _rebuild(self, rows: dict[str, tuple[str, ...]]) -> None:
        table = self.query_one("#runs-table", DataTable)
        selected = self.selected_run_id()
        table.clear()
        for run_id, cells in rows.items():
            table.add_row(*self._styled(run_id, cells), key=run_id)
        if selected in rows:
            table.move_cursor(row=list(rows).index(selected), animate=False)

    def _update_changed(self, rows: dict[str, tuple[str, ...]]) -> None:
        table = self.query_one("#runs-table", DataTable)
        for run_id, cells in rows.items():
            old = self._rows.get(run_id)
            if old == cells:
                continue
            styled = self._styled(run_id, cells)
            for index, (key, _label) in enumerate(COLUMNS):
                if old is None or old[index] != cells[index]:
                    table.update_cell(run_id, key, styled[index], update_width=True)

    def _styled(self, run_id: str, cells: tuple[str, ...]) -> list[Text]:
        """Cells as rich Text: status and marks in theme colours, numbers right-aligned."""
        variables = self.app.theme_variables or self.app.get_css_variables()
        status = self._runs[run_id].status
        styled = []
        for (key, _label), value in zip(COLUMNS, cells, strict=True):
            style = ""
            if key == "status":
                style = f"bold {variables.get(f'status-{status}', '')}"
            elif key == "mark":
                style = f"bold {variables.get('mark', '')}"
            justify: JustifyMethod = "right" if key in RIGHT_ALIGNED else "left"
            styled.append(Text(value, style=style.strip(), justify=justify))
        return styled

    def _update_side_lines(self, n_runs: int, n_shown: int) -> None:
        hint = self.query_one("#empty-hint", Static)
        if n_runs == 0 and self.densexp.training_busy:
            hint.update(f"No runs yet in {display_path(self.densexp.store.root)}; "
                        "the first one is starting (loading data, building the model).")
        elif n_runs == 0:
            hint.update(f"No runs yet in {display_path(self.densexp.store.root)}.\n"
                        "Press n to set up an experiment.")
        elif n_shown == 0:
            hint.update("No run matches the filter. Press escape to clear it.")
        hint.display = n_shown == 0
        self.query_one("#runs-table").display = n_shown > 0
        queue = self.densexp.describe_queue()
        noun = "run" if n_runs == 1 else "runs"
        count = f"{n_shown} of {n_runs} {noun}" if n_shown != n_runs else f"{n_runs} {noun}"
        marks = f" · {len(self.marked)} marked" if self.marked else ""
        self.query_one("#queue-line", Static).update(
            " · ".join(p for p in (queue, count + marks) if p))

    # -- footer -------------------------------------------------------------------------------
    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """What the footer shows. Re-run and Resume take turns, so the footer fits in 80
        columns: Resume for a run that can continue, Re-run for the others. Both keys work
        on every run (this only filters the display; help and the palette list both)."""
        bindings = super().active_bindings
        hidden = "rerun" if self._selected_resumable() else "resume_run"
        return {key: active for key, active in bindings.items()
                if active.binding.action != hidden}

    def _selected_resumable(self) -> bool:
        try:
            run = self.selected_run()
        except NoMatches:  # asked before the table exists
            return False
        return run is not None and run.status in RESUMABLE_STATUSES

    def _update_footer_for_selection(self) -> None:
        resumable = self._selected_resumable()
        if resumable != self._footer_offers_resume:
            self._footer_offers_resume = resumable
            self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#runs-table")
    def _row_highlighted(self) -> None:
        self._update_footer_for_selection()

    # -- the selected run -------------------------------------------------------------------
    def selected_run_id(self) -> str | None:
        table = self.query_one("#runs-table", DataTable)
        if table.row_count == 0:
            return None
        try:
            key, _ = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
        except Exception:  # cursor outside the rows while the table is rebuilt
            return None
        return key.value

    def selected_run(self) -> RunSummary | None:
        run_id = self.selected_run_id()
        return self._runs.get(run_id) if run_id else None

    def _need_run(self) -> RunSummary | None:
        run = self.selected_run()
        if run is None:
            self.notify("No run selected", severity="warning")
        return run

    # -- filter -----------------------------------------------------------------------------
    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.refresh_runs()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#runs-table").focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one("#runs-table").focus()

    # -- actions ----------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#runs-table")
    def _row_chosen(self) -> None:
        self.action_open_run()

    def action_open_run(self) -> None:
        run = self._need_run()
        if run is not None:
            self.densexp.open_run(run.run_id, live=run.status == "running")

    def action_new_experiment(self) -> None:
        self.densexp.open_new_experiment()

    def action_rerun(self) -> None:
        run = self._need_run()
        if run is None:
            return
        try:
            cfg = load_config(self.densexp.store.run_dir(run.run_id) / "config.toml")
        except BadInput as err:
            self.notify(str(err), title="Cannot re-run", severity="error")
            return
        self.densexp.open_new_experiment(cfg, parent=run.run_id)

    def action_toggle_mark(self) -> None:
        run_id = self.selected_run_id()
        if run_id is None:
            return
        self.marked ^= {run_id}
        self.refresh_runs()
        table = self.query_one("#runs-table", DataTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)  # mark several in a row quickly

    def compare_ids(self) -> list[str]:
        """Marked runs in table order, plus the selected one when only one is marked."""
        ids = [run_id for run_id in self._order if run_id in self.marked]
        selected = self.selected_run_id()
        if len(ids) == 1 and selected and selected not in ids:
            ids.append(selected)
        return ids

    def action_compare(self) -> None:
        ids = self.compare_ids()
        if len(ids) < 2:
            self.notify("Mark at least two runs with space, then press c", severity="warning")
            return
        self.densexp.open_compare(ids)

    def action_export_report(self) -> None:
        from densexp_tui.tui.reporting import ExportReport

        marked = [run_id for run_id in self._order if run_id in self.marked]
        selected = self.selected_run_id()
        ids = marked or ([selected] if selected else [])
        if not ids:
            self.notify("No run to report on", severity="warning")
            return
        self.post_message(ExportReport(ids))

    def action_ensemble(self) -> None:
        ids = self.compare_ids()
        if len(ids) < 2:
            self.notify("Mark at least two runs with space, then press e", severity="warning")
            return
        self._make_ensemble(ids)

    @work(thread=True, group="ensemble", exit_on_error=False)
    def _make_ensemble(self, ids: list[str]) -> None:
        from densexp_tui.core.ensemble import ensemble_notice

        made, text = ensemble_notice(self.densexp.store, ids)
        self.app.call_from_thread(self.notify, text, title="Ensemble" if made else
                                  "No ensemble", severity="information" if made else "error")

    def action_delete_run(self) -> None:
        run = self._need_run()
        if run is None:
            return
        if run.status == "running":
            self.notify(f"{run.name} is still running; cancel it first", severity="warning",
                        title="Not deleted")
            return
        question = f"Delete run {run.run_id}?\nIts folder, checkpoints and logs are removed."
        self.app.push_screen(ConfirmDialog(question, title="Delete run?", yes="Delete"),
                             lambda yes: self._delete(run) if yes else None)

    def _delete(self, run: RunSummary) -> None:
        try:
            self.densexp.store.delete(run.run_id)
        except (BadInput, OSError) as err:
            self.notify(str(err), title="Not deleted", severity="error")
            return
        self.marked.discard(run.run_id)
        self.notify(f"Deleted {run.run_id}")
        self.refresh_runs()

    def action_resume_run(self) -> None:
        run = self._need_run()
        if run is None:
            return
        if run.status not in RESUMABLE_STATUSES:
            self.notify(f"{run.name} is {run.status}; only interrupted, cancelled or failed "
                        "runs resume", severity="warning")
            return
        self.densexp.resume_run(run.run_id)

    def action_sweeps(self) -> None:
        self.densexp.open_sweeps()
