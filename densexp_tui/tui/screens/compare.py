"""Compare runs: a sortable table of what differs and how well each did, plus overlaid curves.

The table shows only hyperparameters that differ across the chosen runs (from their
config.toml), then best validation accuracy/F1/loss, test accuracy/F1, trainable parameters
and duration. The chart overlays one metric per run (one theme series colour each, the same
colour as the run's marker in the table); ``m`` switches the metric. Runs are read by a thread
worker, so a huge event log never freezes the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from densexp_tui.core.compareload import LoadedRun, differing_keys, load_runs
from densexp_tui.core.runstore import RunStore
from densexp_tui.core.runview import RunView
from densexp_tui.tui.services import UsesWorkbench
from densexp_tui.tui.widgets.formatting import (
    format_count,
    format_duration,
    format_metric,
    format_percent,
)
from densexp_tui.tui.widgets.line_chart import ChartSeries, LineChart
from densexp_tui.tui.widgets.paired_comparison import PairedComparison
from densexp_tui.tui.widgets.palette import fg, series_color

# (id, title) of the chartable metrics: x is always in epochs, so runs with different batch
# sizes (different steps per epoch) line up.
METRICS: tuple[tuple[str, str], ...] = (
    ("val_loss", "Val loss"),
    ("val_accuracy", "Val accuracy"),
    ("val_f1", "Val F1"),
    ("train_loss", "Train loss"),
)
# Short column titles for the keys that differ most often.
SHORT_KEYS = {
    "train.learning_rate": "lr",
    "train.batch_size": "batch",
    "train.epochs": "epochs",
    "train.weight_decay": "wd",
    "train.warmup_ratio": "warmup",
    "train.early_stopping_patience": "patience",
    "model.finetune": "finetune",
    "model.name": "model",
    "model.lora_rank": "lora r",
    "model.lora_alpha": "lora α",
    "data.max_length": "max len",
    "data.name": "dataset",
}
@dataclass(order=True)
class SortCell:
    """A table cell that sorts by its value (missing values last) and shows its text."""

    sort_key: tuple[int, Any]
    text: Text = field(compare=False)

    @classmethod
    def of(cls, value: Any, text: str | Text) -> SortCell:
        missing = value is None or value == "" or (isinstance(value, float) and value != value)
        key = (1, 0) if missing else (0, value if isinstance(value, (int, float)) else str(value))
        return cls(key, text if isinstance(text, Text) else Text(text, justify="right"))

    def __rich__(self) -> Text:
        return self.text


def metric_series(view: RunView, metric: str) -> list[tuple[float, float]]:
    """Points of ``metric`` with x in epochs."""
    if metric == "train_loss":
        per_epoch = view.header.steps_per_epoch or 1
        return [(step / per_epoch, value) for step, value in view.train_loss.points()]
    return [(float(e), v) for e, v in view.val_series(metric.removeprefix("val_"))]


class CompareScreen(UsesWorkbench, Screen[None]):
    """Runs side by side: table of differences and results, and their curves overlaid."""

    DEFAULT_CSS = """
    CompareScreen { layout: vertical; }
    CompareScreen #compare-title { height: 1; padding: 0 1; background: $panel; }
    CompareScreen #compare-table { height: auto; max-height: 45%; }
    CompareScreen #compare-chart { height: 1fr; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="compare.back", tooltip="Leave the comparison"),
        Binding("m", "next_metric", "Metric", id="compare.next_metric",
                tooltip="Chart: val loss, val accuracy, val F1 or train loss"),
        Binding("s", "sort_by_cursor", "Sort", id="compare.sort",
                tooltip="Sort by the column under the cursor; again to reverse"),
    ]

    class RunsLoaded(Message):
        def __init__(self, runs: list[LoadedRun]) -> None:
            super().__init__()
            self.runs = runs

    def __init__(self, run_ids: list[str], store: RunStore, *, name: str | None = None,
                 id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.run_ids = list(run_ids)
        self.store = store
        self.runs: list[LoadedRun] = []
        self.metric_index = 0
        self.sorted_by: tuple[str, bool] | None = None  # (column key, reverse)
        self.columns: list[str] = []

    @property
    def metric(self) -> tuple[str, str]:
        return METRICS[self.metric_index]

    def compose(self) -> ComposeResult:
        yield Static(f"Comparing {len(self.run_ids)} runs · loading…", id="compare-title")
        yield DataTable(id="compare-table", zebra_stripes=True)
        yield PairedComparison(self.run_ids, self.store, id="compare-verdict")
        yield LineChart("Val loss", "epoch", y_floor=0.0, id="compare-chart",
                        empty_text="loading runs…")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.load_runs()

    @work(thread=True, exclusive=True, group="compare-load", exit_on_error=False,
          name="loading the runs to compare")
    def load_runs(self) -> None:
        """Worker: read every run (core.compareload), then hand them over in one message."""
        self.post_message(self.RunsLoaded(load_runs(self.store, self.run_ids)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.group == "compare-load":
            # The app shows the error; the title must not say "loading…" for ever.
            self.query_one("#compare-title", Static).update(
                f"Comparing {len(self.run_ids)} runs · could not load them")

    def on_compare_screen_runs_loaded(self, message: RunsLoaded) -> None:
        self.runs = message.runs
        problems = [f"{run.run_id}: {run.problem}" for run in self.runs if run.problem]
        for problem in problems:
            self.notify(problem, severity="warning")
        self._fill_table()
        self._draw_chart()

    # -- table --------------------------------------------------------------------------------
    def _fill_table(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        keys = differing_keys([run.config for run in self.runs])
        self.columns = ["run", *keys, "val_acc", "val_f1", "val_loss", "test_acc", "test_f1",
                        "trainable", "trainable_pct", "duration"]
        titles = {"run": "run", "val_acc": "val acc", "val_f1": "val F1",
                  "val_loss": "val loss", "test_acc": "test acc", "test_f1": "test F1",
                  "trainable": "trainable", "trainable_pct": "trainable %", "duration": "time"}
        for key in self.columns:
            table.add_column(titles.get(key) or SHORT_KEYS.get(key, key.split(".")[-1]), key=key)
        for index, run in enumerate(self.runs):
            table.add_row(*self._row_cells(index, run, keys), key=run.run_id)
        self.query_one("#compare-title", Static).update(self._title())

    def _row_cells(self, index: int, run: LoadedRun, keys: list[str]) -> list[SortCell]:
        name = run.summary.name or run.view.header.name or run.run_id
        marker = Text("━ ", style=fg(series_color(self.app, index)))
        marker.append(name)
        cells = [SortCell.of(name, marker)]
        for key in keys:
            value = run.config.get(key) if run.config else None
            cells.append(SortCell.of(value, "-" if value is None else _short_value(value)))
        cells.extend(self._result_cells(run))
        return cells

    def _result_cells(self, run: LoadedRun) -> list[SortCell]:
        view, summary = run.view, run.summary
        test = view.test or summary.test or {}
        params = summary.params or {}
        trainable = params.get("trainable", view.header.trainable_params)
        total = params.get("total", view.header.total_params)
        fraction = trainable / total if trainable is not None and total else None
        duration = summary.duration if summary.duration is not None else view.duration
        return [
            _metric_cell(view.best_value("accuracy")),
            _metric_cell(view.best_value("f1")),
            _metric_cell(view.best_value("loss")),
            _metric_cell(test.get("accuracy")),
            _metric_cell(test.get("f1")),
            SortCell.of(trainable, format_count(trainable)),
            SortCell.of(fraction, format_percent(fraction)),
            SortCell.of(duration, format_duration(duration)),
        ]

    def _title(self) -> str:
        metric = self.metric[1]
        return (f"Comparing {len(self.runs)} runs · val = best epoch · chart: {metric} (m) · "
                "sort: s")

    def action_sort_by_cursor(self) -> None:
        table = self.query_one(DataTable)
        if not self.columns:
            return
        column = self.columns[min(table.cursor_column, len(self.columns) - 1)]
        self.sort_by(column)

    def on_data_table_header_selected(self, message: DataTable.HeaderSelected) -> None:
        self.sort_by(str(message.column_key.value))

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        reverse = self.sorted_by == (column, False)
        self.query_one(DataTable).sort(column, reverse=reverse)
        self.sorted_by = (column, reverse)

    # -- chart ----------------------------------------------------------------------------------
    def action_next_metric(self) -> None:
        self.metric_index = (self.metric_index + 1) % len(METRICS)
        self._draw_chart()
        self.query_one("#compare-title", Static).update(self._title())

    def _draw_chart(self) -> None:
        metric, title = self.metric
        series = [
            ChartSeries(_run_label(run), metric_series(run.view, metric), index,
                        markers=metric != "train_loss")
            for index, run in enumerate(self.runs)
        ]
        self.query_one(LineChart).set_series(series, title=title, x_label="epoch")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


def _run_label(run: LoadedRun) -> str:
    return run.summary.name or run.view.header.name or run.run_id


def _metric_cell(value: Any) -> SortCell:
    return SortCell.of(value, format_metric(value))


def _short_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)

