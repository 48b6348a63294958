"""Runs: the home screen. Every run in the runs directory, newest first, live.

The runs come from ``RunStore.list_runs`` (the runs index, core/runindex.py) once a second;
what the filter, order and folding leave is core/runlisting.py's, and the table
(tui/widgets/runs_table.py) redraws only the cells that changed. Typing in the filter
narrows the list with core's one filter syntax (core/runquery.py: words,
``status:completed``, ``acc>0.8``, ``sort:f1``); marks (space) pick runs to compare; ``g``
folds seed groups into one row (mean ± std).

Scale: up to SYNC_LIMIT runs, listing and filtering happen right on the UI thread (a few
milliseconds). Beyond that the screen never holds every run: thread workers ask the runs
index for the window of rows the table shows (core/runwindow.py: filters, orders and counts
run in SQLite), the first rows come from the newest folders before the index has checked
every run (that full check runs in a worker, spaced by its own duration: tui/runs_feed.py
keeps what is listed when), and the table only ever holds the rows near the cursor
(WINDOW_ROWS, more as the cursor nears the end), so nothing on the UI thread grows with the
number of runs.
"""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static
from textual.worker import Worker, WorkerState

from densexp_tui.core.config import load_config
from densexp_tui.core.errors import BadInput
from densexp_tui.core.formatting import display_path
from densexp_tui.core.namesync import NamesSync
from densexp_tui.core.rungroups import GroupSummary
from densexp_tui.core.runlisting import (
    GROUP_KEY_PREFIX,
    Row,
    RunsView,
    build_view,
    count_line,
    empty_hint,
    few_runs,
    row_key,
    window_view,
)
from densexp_tui.core.runquery import SortSpec
from densexp_tui.core.runstore import RunSummary
from densexp_tui.core.runwindow import WindowRequest
from densexp_tui.core.statuses import RESUMABLE_STATUSES
from densexp_tui.tui.check_progress import RunsChecked
from densexp_tui.tui.debounce import Debounced
from densexp_tui.tui.dialogs import ConfirmDialog
from densexp_tui.tui.footer_turns import taking_turns
from densexp_tui.tui.messages import QueueChanged, RunEnded, RunLaunched
from densexp_tui.tui.run_watch import RunStatusesChanged, ended_since
from densexp_tui.tui.runs_feed import RunsFeed, RunsListed
from densexp_tui.tui.services import UsesWorkbench
from densexp_tui.tui.widgets.filter_input import FilterInput
from densexp_tui.tui.widgets.runs_table import Cells, RunsTable, group_cells, run_cells
from densexp_tui.tui.widgets.steady_footer import SteadyFooter

REFRESH_SECONDS = 1.0
# Up to this many runs the UI thread lists and filters itself (bounded: a few ms).
SYNC_LIMIT = 500
# Rows the table holds past the cursor; more are added as the cursor gets near the end.
WINDOW_ROWS = 80
WINDOW_MARGIN = 20
# Under another screen the window of rows is fetched at most this often (new runs from
# another terminal); each tick in between only re-reads the running runs (to announce ends).
HIDDEN_LIST_SECONDS = 10.0
# Sort orders the o key steps through.
SORT_CYCLE = (SortSpec("started", True), SortSpec("acc", True), SortSpec("f1", True),
              SortSpec("duration", False), SortSpec("name", False))


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
                tooltip="Type to narrow the runs: words, status:completed, model:tiny-bert, "
                        "acc>0.8, -word, sort:f1"),
        Binding("g", "toggle_groups", "Groups", id="home.groups", show=False,
                tooltip="Fold each seed group into one row (mean ± std over its seeds)"),
        Binding("o", "cycle_sort", "Sort", id="home.sort", show=False,
                tooltip="Order by: newest, val acc, F1, duration, name"),
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
        self.fold_groups = False
        self.sort = SortSpec()
        self._runs: dict[str, RunSummary] = {}
        self._all: list[RunSummary] = []
        self._window_rows: list[Row] = []  # the rows drawn: the view's first _window
        self._view: RunsView | None = None
        self._window = WINDOW_ROWS
        self._footer_offers_resume: bool | None = None
        self._in_worker = False  # big runs dir: listing and filtering run in workers
        self._feed: RunsFeed  # what is listed when (tui/runs_feed.py), set on mount
        self._queue_line: str | None = None  # as last drawn
        self._refilter_soon = Debounced(self, self._refilter)  # typing

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-bar"):
            yield Static("Filter", id="filter-label")
            yield FilterInput(placeholder="type / then words: name, status, dataset, model…",
                        id="filter", compact=True)
        yield RunsTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="empty-hint")
        yield Static(id="queue-line")
        yield SteadyFooter(compact=True)

    def on_mount(self) -> None:
        self._feed = RunsFeed(self.densexp.store)
        self.sub_title = f"Runs · {display_path(self.densexp.store.root)}"
        self._in_worker = not few_runs(self.densexp.store.root, SYNC_LIMIT)
        if self._in_worker:
            self.query_one("#queue-line", Static).update("Reading the runs…")
            # After the first frame: a listing worker competes for the GIL with painting.
            self.call_after_refresh(self._first_rows)
        else:
            self.refresh_runs()
        self.set_interval(REFRESH_SECONDS, self._tick)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh_runs(True))

    # -- keeping the table current ----------------------------------------------------------
    def _tick(self) -> None:
        if self.app.screen is self:
            self.refresh_runs()
        elif not self._feed.ticking:
            self._watch_while_hidden()

    def _watch_while_hidden(self) -> None:
        """Under another screen, in a worker: the running runs (a handful) each tick, and
        now and then the new folders and the window of rows too (runs started in another
        terminal), so that their ends are announced (tui/run_watch.py) on whatever screen
        the user looks at."""
        feed = self._feed
        fetch = time.monotonic() - feed.last_hidden >= HIDDEN_LIST_SECONDS
        if not fetch and not feed.running_ids:
            return
        if fetch:
            feed.last_hidden = time.monotonic()
        feed.ticking = True
        self._tick_in_worker(self._request() if fetch else None, False, feed.generation,
                             list(feed.running_ids), feed.names_sync())

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    @on(QueueChanged)
    @on(RunLaunched)
    @on(RunEnded)
    def _training_changed(self) -> None:
        self._feed.list_again_soon()
        self.refresh_runs()

    def refresh_runs(self, restyle: bool = False) -> None:
        """Re-read the runs and redraw what changed (everything when ``restyle``)."""
        if restyle:
            self._table().forget_drawn()
        feed = self._feed
        if not self._in_worker:
            runs = self.densexp.store.list_runs()
            self._all = runs
            self._report_ended(ended_since(feed.running_ids, runs))
            feed.running_ids = [r.run_id for r in runs if r.status == "running"]
            self._show(build_view(runs, self._filter_text(), self.fold_groups, self.sort),
                       restyle)
            if len(runs) > SYNC_LIMIT:
                self._in_worker = True  # grew past the limit: workers from now on
            return
        if feed.ticking:
            return
        feed.ticking = True
        self._tick_in_worker(self._request(), feed.full_due(), feed.generation,
                             list(feed.running_ids), feed.names_sync())

    def on_unmount(self) -> None:
        self._feed.close()

    def _filter_text(self) -> str:
        return self.query_one("#filter", Input).value

    def _request(self) -> WindowRequest:
        return WindowRequest(self._filter_text(), self.fold_groups, self.sort,
                             self._window + WINDOW_ROWS)

    def _first_rows(self) -> None:
        """The newest rows straight from their folders (the index may not know them yet)."""
        self._query_in_worker(self._request(), self._feed.newer_request(), from_folders=True)

    @work(thread=True, group="runs-list", exit_on_error=False)
    def _tick_in_worker(self, request: WindowRequest | None, full: bool, generation: int,
                        previous: list[str], names: NamesSync) -> None:
        """The tick's listing (``request`` None: only the running runs, no rows)."""
        self.post_message(self._feed.tick(request, full, generation, previous, names,
                                          self.post_message))

    @work(thread=True, exclusive=True, group="runs-query", exit_on_error=False)
    def _query_in_worker(self, request: WindowRequest, generation: int,
                         from_folders: bool = False) -> None:
        self.post_message(self._feed.query(request, generation, from_folders))

    @on(RunsListed)
    def _runs_listed(self, message: RunsListed) -> None:
        ended, current = self._feed.listed(message)
        self._report_ended(ended)
        if current and message.window is not None:
            self._show(window_view(message.window))

    @on(RunsChecked)
    def _runs_checked(self, message: RunsChecked) -> None:
        self._feed.checked_so_far(message)
        if self._view is not None and not self._feed.checked:
            self._update_side_lines(self._view.n_runs, self._view.n_shown)

    def _report_ended(self, ended: list[RunSummary]) -> None:
        """The app announces the ends of runs it did not launch (tui/run_watch.py)."""
        if ended:
            self.post_message(RunStatusesChanged(ended))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A listing that failed must not stop the next one (and the user hears why)."""
        if event.worker.group in ("runs-list", "runs-query") and \
                event.state == WorkerState.ERROR:
            self._feed.ticking = False
            self.notify(f"Cannot list the runs: {event.worker.error}", severity="error")

    def _refilter(self) -> None:
        """The filter, folding or order changed: rows again, off the UI thread if big."""
        if not self._in_worker:
            self._show(build_view(self._all, self._filter_text(), self.fold_groups, self.sort,
                                  self._runs))
            return
        self._query_in_worker(self._request(), self._feed.newer_request())

    def _show(self, view: RunsView, restyle: bool = False) -> None:
        """Make the table show ``view``'s first rows (only those: the window)."""
        self._view = view
        self._runs = view.runs
        self.marked = self._member_ids(self.marked)
        if restyle:
            self._table().forget_drawn()
            self._window_rows = []
        self._draw_window()
        self._update_side_lines(view.n_runs, view.n_shown)
        self._update_footer_for_selection()

    def _member_ids(self, ids: set[str]) -> set[str]:
        """The marked runs that still exist (past SYNC_LIMIT the screen holds only the
        window's runs: ask the folders, marks are few)."""
        if self._view is not None and self._view.total >= 0:
            root = self.densexp.store.root
            return {run_id for run_id in ids if (root / run_id).is_dir()}
        return {run_id for run_id in ids if run_id in self._runs}

    def _draw_window(self) -> None:
        view = self._view
        if view is None:
            return
        shown = view.rows[:self._window]
        table = self._table()
        if table.drawn and len(shown) == len(self._window_rows) and all(
                a is b for a, b in zip(shown, self._window_rows, strict=True)) and not any(
                row.status == "running" for row in shown):
            return  # the same summaries as drawn, none live: nothing can differ
        self._window_rows = list(shown)
        now = time.time()
        table.show_rows({row_key(row): self._cells(row, now) for row in shown})

    def _cells(self, row: Row, now: float | None = None) -> Cells:
        now = time.time() if now is None else now
        if isinstance(row, GroupSummary):
            return group_cells(row, bool(row.run_ids) and set(row.run_ids) <= self.marked)
        return run_cells(row, row.run_id in self.marked, now)

    def _table(self) -> RunsTable:
        return self.query_one("#runs-table", RunsTable)

    def _update_side_lines(self, n_runs: int, n_shown: int) -> None:
        hint = self.query_one("#empty-hint", Static)
        text = empty_hint(n_shown, n_runs, where=display_path(self.densexp.store.root),
                          starting=self.densexp.training_busy)
        if text is not None:
            hint.update(text)
        hint.display = n_shown == 0
        self.query_one("#runs-table").display = n_shown > 0
        self._update_count_line(n_runs, n_shown)

    def _update_count_line(self, n_runs: int, n_shown: int) -> None:
        """The line under the table: the queue, the counts and the marks (all a mark
        changes, so a mark redraws only this and its row)."""
        problems = self._view.problems if self._view is not None else ()
        queue = self.densexp.describe_queue()
        count = count_line(n_shown, n_runs, fold=self.fold_groups,
                           checking=self._in_worker and not self._feed.checked,
                           marked=len(self.marked), problems=problems,
                           read=self._feed.check_read)
        line = " · ".join(p for p in (queue, count) if p)
        if line != self._queue_line:
            # One row high (app.tcss): no layout pass, which costs a frame at any scale.
            self._queue_line = line
            self.query_one("#queue-line", Static).update(line, layout=False)

    def _extend_window(self) -> None:
        """The cursor nears the last row held: add the next rows (appending is cheap)."""
        view = self._view
        table = self._table()
        if view is None or self._window >= len(view.rows):
            return
        if table.cursor_row < len(table.drawn_order) - WINDOW_MARGIN:
            return
        start = len(table.drawn_order)
        self._window += WINDOW_ROWS
        now = time.time()
        table.append_rows({row_key(row): self._cells(row, now)
                           for row in view.rows[start:self._window]})
        self._window_rows = list(view.rows[:self._window])
        if self._in_worker:  # fetch the rows after these before the cursor gets there
            self._query_in_worker(self._request(), self._feed.newer_request())

    # -- footer -------------------------------------------------------------------------------
    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """What the footer shows: Re-run and Resume take turns in one slot, by whether the
        selected run can continue (tui/footer_turns.py)."""
        shown = "resume_run" if self._selected_resumable() else "rerun"
        return taking_turns(super().active_bindings, shown, ("rerun", "resume_run"))

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
        self._extend_window()

    # -- the selected run -------------------------------------------------------------------
    def selected_run_id(self) -> str | None:
        """The selected row's key: a run id, or a folded group's (GROUP_KEY_PREFIX...)."""
        return self._table().cursor_key()

    def selected_run(self) -> RunSummary | None:
        """The selected run (a folded group: its newest member)."""
        run_id = self.selected_run_id()
        if run_id and run_id.startswith(GROUP_KEY_PREFIX):
            members = self._group_members(run_id)
            return self._runs.get(members[0]) if members else None
        return self._runs.get(run_id) if run_id else None

    def _group_members(self, key: str) -> list[str]:
        return self._view.group_members(key) if self._view is not None else []

    def _need_run(self) -> RunSummary | None:
        run = self.selected_run()
        if run is None:
            self.notify("No run selected", severity="warning")
        return run

    # -- filter -----------------------------------------------------------------------------
    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._window = WINDOW_ROWS
        if not self._in_worker:
            return self._refilter()
        self._feed.newer_request()  # rows on their way are for the text before: drop them
        self._refilter_soon()

    def action_toggle_groups(self) -> None:
        self.fold_groups = not self.fold_groups
        self._refilter()

    def action_cycle_sort(self) -> None:
        index = SORT_CYCLE.index(self.sort) if self.sort in SORT_CYCLE else -1
        self.sort = SORT_CYCLE[(index + 1) % len(SORT_CYCLE)]
        self.notify(f"Sorted by {self.sort.key}", timeout=2)
        self._refilter()

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
        selected = self.selected_run_id()
        if selected and selected.startswith(GROUP_KEY_PREFIX):
            members = self._group_members(selected)
            if len(members) >= 2:  # a group opens as the comparison of its seeds
                self.densexp.open_compare(members)
                return
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
        key = self.selected_run_id()
        if key is None:
            return
        members = set(self._group_members(key)) if key.startswith(GROUP_KEY_PREFIX) else {key}
        if members <= self.marked:
            self.marked -= members
        else:
            self.marked |= members
        self._redraw_marks(key)
        table = self.query_one("#runs-table", DataTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)  # mark several in a row quickly

    def _redraw_marks(self, key: str) -> None:
        """Only the selected row's cells and the count line change: no re-listing."""
        view = self._view
        if view is not None and key in view.positions:
            self._table().update_rows({key: self._cells(view.rows[view.positions[key]])})
            self._update_count_line(view.n_runs, view.n_shown)

    def compare_ids(self) -> list[str]:
        """Marked runs in table order, plus the selected one when only one is marked."""
        view = self._view or RunsView({}, [], {}, "", False, SortSpec())
        ids = view.table_order(self.marked)
        selected = self.selected_run_id()
        if selected and selected.startswith(GROUP_KEY_PREFIX):
            selected = None
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

        marked = [run_id for run_id in self._table().drawn_order if run_id in self.marked]
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
        self._feed.list_again_soon()
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
