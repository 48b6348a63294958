"""Rich rendering for the headless CLI: live run progress, runs tables, run details, catalogs.

Imports rich and core only (no TensorFlow, no Textual), so ``densexp runs``/``show``/
``datasets``/``models`` start fast. Every function builds a renderable or prints to the
console it is given; cli.py decides where output goes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Iterable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from densexp_tui.core.events import Event
from densexp_tui.core.formatting import format_duration
from densexp_tui.core.runstore import RunSummary
from densexp_tui.core.statuses import STATUS_MARKS, STATUS_ROLE
from densexp_tui.core.tokens import (
    format_padding_efficiency,
    last_epoch_tokens,
    padding_efficiency,
)

# The terminal's colour for each theme role a status stands for (core.statuses.STATUS_ROLE).
_ROLE_COLOURS = {"primary": "cyan", "success": "green", "error": "red", "warning": "yellow",
                 "secondary": "magenta"}
STATUS_STYLES = {status: _ROLE_COLOURS[role] for status, role in STATUS_ROLE.items()}


# ---------------------------------------------------------------------------------------
# Small formatters


def fmt_metric(value: Any, digits: int = 3) -> str:
    """0.8123 -> "0.812"; missing -> "-"."""
    if value is None:
        return "-"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def fmt_time(stamp: float | None) -> str:
    if not stamp:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def fmt_count(n: int | None) -> str:
    """107331 -> "107.3k", 109482240 -> "109.5M"."""
    if n is None:
        return "-"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def fmt_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B" if n else "-"


def status_text(status: str) -> Text:
    return Text(f"{STATUS_MARKS.get(status, '?')} {status}", style=STATUS_STYLES.get(status, ""))


def params_text(params: dict[str, int] | None) -> str:
    """"107.3k / 107.3k (100%)": trainable / total and the trainable share."""
    if not params or not params.get("total"):
        return "-"
    trainable, total = params.get("trainable", 0), params["total"]
    return f"{fmt_count(trainable)} / {fmt_count(total)} ({fmt_percent(trainable / total)})"


def fmt_percent(fraction: float) -> str:
    """0.997 -> "99.7%", 0.0042 -> "0.42%": small shares (LoRA, head) keep their digits."""
    percent = 100 * fraction
    return f"{percent:.1f}%" if percent >= 1 else f"{percent:.2g}%"


def to_jsonable(value: Any) -> Any:
    """Dataclasses, Paths and containers of them as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# ---------------------------------------------------------------------------------------
# Live progress of one run (``densexp run``)


class RunProgress:
    """Feeds on events. On a terminal: a live progress bar and a table that grows by one
    row per epoch. Piped or in CI: plain lines (header, one per epoch), no redraws.
    Use as a context manager around ``train``; pass ``on_event`` as the callback."""

    def __init__(self, console: Console):
        self.console = console
        self.live_mode = console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  acc {task.fields[acc]}  "
                       "{task.fields[speed]} samples/s{task.fields[tokens]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task("preparing", total=None, loss="-", acc="-",
                                           speed="-", tokens="", start=False)
        self.header: RenderableType = Text("")
        self.epochs: list[dict[str, Any]] = []
        self.total_epochs = 0
        self.live = Live(self._view(), console=console, refresh_per_second=4)

    def _view(self) -> RenderableType:
        parts: list[RenderableType] = [self.header]
        if self.epochs:
            parts.append(epochs_table(self.epochs))
        parts.append(self.progress)
        return Group(*parts)

    def __enter__(self) -> RunProgress:
        if self.live_mode:
            self.live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.live_mode:
            self.live.update(self._view())
            self.live.__exit__(exc_type, exc, traceback)

    def on_event(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is None:
            return
        handler(event.data)
        if self.live_mode:
            self.live.update(self._view())

    def _on_run_started(self, data: dict[str, Any]) -> None:
        self.total_epochs = int(data.get("epochs", 0))
        total = self.total_epochs * int(data.get("steps_per_epoch", 0))
        self.header = run_header(data)
        self.progress.update(self.task, total=total, description=f"epoch 1/{self.total_epochs}")
        self.progress.start_task(self.task)
        if not self.live_mode:
            self.console.print(self.header)

    def _on_status(self, data: dict[str, Any]) -> None:
        """A resumed run has no new run_started: the resumed event carries the totals."""
        if data.get("status") == "running" and data.get("message"):
            self.console.print(str(data["message"]))  # e.g. FGM's cost of two passes a step
            return
        if data.get("status") != "resumed" or self.total_epochs:
            return
        self.total_epochs = int(data.get("epochs", 0))
        total = self.total_epochs * int(data.get("steps_per_epoch", 0))
        self.progress.update(self.task, total=total, completed=data.get("from_step", 0))
        self.progress.start_task(self.task)
        if not self.live_mode:
            self.console.print(data.get("message", "resumed"))

    def _on_step(self, data: dict[str, Any]) -> None:
        self.progress.update(
            self.task, completed=data.get("step", 0),
            description=f"epoch {data.get('epoch')}/{self.total_epochs}",
            loss=fmt_metric(data.get("loss"), 4), acc=fmt_metric(data.get("accuracy")),
            speed=f"{data.get('samples_per_sec') or 0:.0f}",
        )

    def _on_epoch(self, data: dict[str, Any]) -> None:
        self.epochs.append(data)
        task = self.progress.tasks[0]
        per_epoch = (task.total or 0) / max(self.total_epochs, 1)
        self.progress.update(self.task, completed=int(per_epoch * data.get("epoch", 0)),
                             description=f"epoch {data.get('epoch')}/{self.total_epochs}",
                             tokens=tokens_suffix(data))
        if not self.live_mode:
            self.console.print(epoch_line(data, self.total_epochs))

    def _on_run_finished(self, data: dict[str, Any]) -> None:
        self.progress.update(self.task, description=str(data.get("status")))
        self.progress.stop_task(self.task)


def run_header(data: dict[str, Any]) -> Text:
    """Two lines from run_started: the run id, then model, data sizes and device."""
    sizes = data.get("sizes", {})
    return Text.assemble(
        ("run ", "dim"), (str(data.get("run_id")), "bold"), "\n",
        (f"{data.get('model')} ({data.get('finetune')}, {params_text(data.get('params'))} "
         f"trainable) · {data.get('dataset')} train/val/test {sizes.get('train', 0)}/"
         f"{sizes.get('val', 0)}/{sizes.get('test', 0)} · {data.get('device')}", "dim"),
    )


def tokens_suffix(epoch_data: dict[str, Any]) -> str:
    """" · 94% real tokens" from an epoch event's train token counts, as the dashboard
    writes it next to samples/s; "" for runs without token counts (the MLP)."""
    efficiency = padding_efficiency(epoch_data.get("tokens"))
    return f" · {format_padding_efficiency(efficiency)}" if efficiency is not None else ""


def epoch_line(data: dict[str, Any], total_epochs: int) -> Text:
    """One epoch as a log line, for output that is not a terminal."""
    train, val = data.get("train") or {}, data.get("val") or {}
    best = " ★ best" if data.get("best_epoch") == data.get("epoch") else ""
    return Text(f"epoch {data.get('epoch')}/{total_epochs}  train loss "
                f"{fmt_metric(train.get('loss'), 4)} acc {fmt_metric(train.get('accuracy'))}  "
                f"val loss {fmt_metric(val.get('loss'), 4)} acc {fmt_metric(val.get('accuracy'))}"
                f" F1 {fmt_metric(val.get('f1'))}{tokens_suffix(data)}{best}")


def epochs_table(epochs: list[dict[str, Any]], title: str | None = None) -> Table:
    """One row per epoch event: train loss/acc, val loss/acc/F1, the best epoch starred."""
    table = Table(title=title, title_justify="left", box=None, pad_edge=False,
                  header_style="bold")
    for name in ("epoch", "train loss", "train acc", "val loss", "val acc", "val F1", ""):
        table.add_column(name, justify="right" if name else "left")
    best = epochs[-1].get("best_epoch") if epochs else None
    for data in epochs:
        train, val = data.get("train") or {}, data.get("val") or {}
        is_best = data.get("epoch") == best
        table.add_row(
            str(data.get("epoch")), fmt_metric(train.get("loss"), 4),
            fmt_metric(train.get("accuracy")), fmt_metric(val.get("loss"), 4),
            fmt_metric(val.get("accuracy")), fmt_metric(val.get("f1")),
            Text("★ best", style="green") if is_best else "",
        )
    return table


def result_lines(result: Any, log_hint: Path | None = None) -> list[Text]:
    """The lines after a run: status, best epoch, test metrics, where the run lives."""
    status = result.status
    head = Text.assemble(status_text(status), f" in {format_duration(result.duration)}")
    if result.message:
        head.append(f" · {result.message}", style=STATUS_STYLES.get(status, ""))
    lines = [head]
    if result.best_epoch is not None and result.best:
        lines.append(Text(f"best epoch {result.best_epoch}: val loss "
                          f"{fmt_metric(result.best.get('loss'), 4)}  acc "
                          f"{fmt_metric(result.best.get('accuracy'))}  F1 "
                          f"{fmt_metric(result.best.get('f1'))}"))
    if result.test:
        lines.append(Text(f"test: loss {fmt_metric(result.test.get('loss'), 4)}  acc "
                          f"{fmt_metric(result.test.get('accuracy'))}  F1 "
                          f"{fmt_metric(result.test.get('f1'))}", style="bold"))
    if result.run_dir is not None:
        lines.append(Text(f"run {result.run_id}  ({result.run_dir})", style="dim"))
    if status in ("failed", "diverged") and log_hint is not None:
        lines.append(Text(f"details: {log_hint}", style="dim"))
    return lines


# ---------------------------------------------------------------------------------------
# Listings


RUN_COLUMNS = ("id", "name", "status", "dataset", "model", "finetune", "val acc", "val F1",
               "epochs", "params (trainable/total)", "duration", "started")
# What still fits an 80-column terminal: the id says when and what, the rest how it went.
COMPACT_RUN_COLUMNS = ("id", "status", "val acc", "val F1", "epochs", "duration")
WIDE_TABLE_WIDTH = 150


def runs_table(runs: Iterable[RunSummary], width: int = WIDE_TABLE_WIDTH) -> Table:
    """``densexp runs``: newest first, one row per run; fewer columns on narrow terminals."""
    columns = RUN_COLUMNS if width >= WIDE_TABLE_WIDTH else COMPACT_RUN_COLUMNS
    table = Table(header_style="bold", box=None, pad_edge=False)
    for name in columns:
        right = name in ("val acc", "val F1", "epochs", "params (trainable/total)", "duration")
        table.add_column(name, justify="right" if right else "left", no_wrap=True,
                         min_width=len(name))
    for run in runs:
        cells = _run_cells(run)
        table.add_row(*(cells[name] for name in columns))
    return table


def _run_cells(run: RunSummary) -> dict[str, Any]:
    best = run.best or {}
    return {
        "id": run.run_id, "name": run.name, "status": status_text(run.status),
        "dataset": run.dataset, "model": run.model, "finetune": run.finetune,
        "val acc": fmt_metric(best.get("accuracy")), "val F1": fmt_metric(best.get("f1")),
        "epochs": f"{run.epochs_done}/{run.epochs}",
        "params (trainable/total)": params_text(run.params),
        "duration": format_duration(run.duration), "started": fmt_time(run.started),
    }


def run_detail(summary: RunSummary, config_text: str, epochs: list[dict[str, Any]],
               test: dict[str, Any] | None) -> list[RenderableType]:
    """``densexp show``: summary, per-epoch table, test metrics and report, config."""
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("run", summary.run_id), ("name", summary.name), ("status", status_text(summary.status)),
        ("message", summary.message or "-"), ("dataset", summary.dataset),
        ("model", f"{summary.model} ({summary.finetune})"),
        ("params", params_text(summary.params)),
        ("epochs", f"{summary.epochs_done}/{summary.epochs}"
                   + (f", best {summary.best_epoch}" if summary.best_epoch else "")),
        ("started", fmt_time(summary.started)), ("duration", format_duration(summary.duration)),
        ("config hash", summary.config_hash or "-"),
    ]
    if summary.replicas or summary.visible_gpus:
        rows.append(("devices", ", ".join(summary.replicas) + (
            f" (CUDA_VISIBLE_DEVICES={summary.visible_gpus})" if summary.visible_gpus else "")))
    if summary.xla:
        rows.append(("XLA", summary.xla))
    tokens = tokens_text(epochs)
    if tokens:
        rows.append(("tokens", tokens))
    if summary.parent:
        rows.append(("parent", summary.parent))
    if summary.sweep:
        rows.append(("sweep", f"{summary.sweep} trial {summary.trial}"))
    for key, value in rows:
        facts.add_row(key, value)
    parts: list[RenderableType] = [facts, Text("")]
    if epochs:
        parts += [epochs_table(epochs, title="epochs"), Text("")]
    if test:
        parts.append(Text(f"test: loss {fmt_metric(test.get('loss'), 4)}  acc "
                          f"{fmt_metric(test.get('accuracy'))}  precision "
                          f"{fmt_metric(test.get('precision'))}  recall "
                          f"{fmt_metric(test.get('recall'))}  F1 {fmt_metric(test.get('f1'))}",
                          style="bold"))
        if test.get("report"):
            parts.append(Text(str(test["report"]).rstrip()))
        parts.append(Text(""))
    parts += [Text("config.toml", style="bold"), Text(config_text.rstrip() or "-")]
    return parts


def tokens_text(epochs: list[dict[str, Any]]) -> str:
    """The last epoch's padding efficiency and token counts, or "" for non-text runs."""
    tokens = last_epoch_tokens(epochs)
    efficiency = padding_efficiency(tokens)
    if tokens is None or efficiency is None:
        return ""
    return (f"{format_padding_efficiency(efficiency)} ({fmt_count(tokens['real'])} real "
            f"of {fmt_count(tokens['padded'])} processed per epoch, train split)")


def datasets_table(datasets: Iterable[Any]) -> Table:
    table = Table(header_style="bold", box=None, pad_edge=False)
    for name in ("name", "source", "kind", "classes", "rows", "description"):
        table.add_column(name, justify="right" if name in ("classes", "rows") else "left")
    for info in datasets:
        description = info.description + (f" — {info.note}" if info.note else "")
        table.add_row(info.name, info.source, info.kind, str(info.n_classes), str(info.n_rows),
                      Text(description, style="" if info.available else "dim"))
    return table


def models_table(models: Iterable[Any]) -> Table:
    table = Table(header_style="bold", box=None, pad_edge=False)
    for name in ("name", "kind", "architecture", "size", "description"):
        table.add_column(name, justify="right" if name == "size" else "left")
    for info in models:
        description = info.description + (f" — {info.note}" if info.note else "")
        table.add_row(info.name, info.kind, info.arch or "-", fmt_bytes(info.size_bytes),
                      Text(description, style="" if info.available else "dim"))
    return table
