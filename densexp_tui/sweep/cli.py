"""``densexp sweep SWEEP.toml [--storage URL] [--n-trials N] [--runs-dir DIR]``.

Runs or joins a study and shows a live table of its trials (all workers', not just this
one's) and the best so far. Bad input is one line on stderr and exit 2 with nothing
created; every check that can fail runs before the runs directory or the study is touched.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from densexp_tui.core.errors import EXIT_INTERRUPTED, BadInput, ConfigError
from densexp_tui.core.formatting import format_duration
from densexp_tui.core.runstore import RunStore, resolve_runs_dir
from densexp_tui.core.sweepconfig import SweepConfig, load_sweep
from densexp_tui.sweep import storage as storage_mod
from densexp_tui.sweep.devicecheck import check_sweep_devices
from densexp_tui.sweep.study import (
    TrialRow,
    best_row,
    count_finished,
    format_params,
    format_value,
    short_key,
    trial_rows,
)

# The table redraws at most this often (it reads the whole study each time).
REFRESH_SECONDS = 1.0
# Keys that move a trial's data elsewhere: the base's data is then not what trials read.
SEARCHED_DATA_KEYS = ("data.source", "data.path", "data.name", "data.text_column",
                      "data.label_column")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


@dataclass
class SweepPlan:
    """Everything checked, nothing created yet."""

    cfg: SweepConfig
    runs_dir: Path
    spec: storage_mod.StorageSpec
    target: int | None


def prepare(sweep_path: str | Path, storage_url: str | None, n_trials: int | None,
            runs_dir: str | Path | None) -> SweepPlan:
    """Load and check the sweep and the storage; raises BadInput, creates nothing."""
    cfg = load_sweep(sweep_path)
    if n_trials is not None:
        if n_trials < 1:
            raise ConfigError(f"--n-trials {n_trials}; allowed: an integer >= 1",
                              file=sweep_path)
        cfg.sweep.n_trials = n_trials
    check_base_data(cfg)
    root = resolve_runs_dir(runs_dir)
    spec = storage_mod.parse_storage(storage_url, root, cfg.sweep.name)
    storage_mod.check_reachable(spec)
    return SweepPlan(cfg, root, spec, cfg.n_trials_target)


def check_base_data(cfg: SweepConfig) -> None:
    """A base whose data file is missing or lacks its columns fails every trial: refuse it
    before the study and a failed run exist (unless the space searches where the data is)."""
    from densexp_tui.engine.data.sources import check_data_quickly

    if not any(key in cfg.space for key in SEARCHED_DATA_KEYS):
        check_data_quickly(cfg.base.data, cfg.base.base_dir)


def make_console() -> Console:
    """stdout; when it is a file or a pipe, wide enough that the table does not wrap."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 150))
    return console


def sweep_command(args: Any, gpu_count: Callable[[], int] | None = None) -> int:
    """Entry point for the CLI; ``args`` has sweep, storage, n_trials and runs_dir.
    ``gpu_count`` (tests) stands in for ``workers.count_gpus`` in the device check."""
    # cli.py names the positional "config"; the brief's contract called it "sweep".
    sweep_path = getattr(args, "sweep", None) or args.config
    as_json = bool(getattr(args, "json", False))
    try:
        plan = prepare(sweep_path, getattr(args, "storage", None),
                       getattr(args, "n_trials", None), getattr(args, "runs_dir", None))
        if not getattr(args, "devices_checked", False):  # a --workers worker: checked already
            check_sweep_devices(plan.cfg, gpu_count)
        store = RunStore(plan.runs_dir)
        store.ensure_writable()
        worker = start_worker(plan, store)
    except BadInput as err:
        print(f"densexp: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if as_json:
        return run_for_json(worker, plan)
    return run_with_table(worker, plan, make_console())


def start_worker(plan: SweepPlan, store: RunStore, train_fn: Any = None) -> Any:
    """Open the storage and the study, and make this process's worker."""
    from densexp_tui.sweep.runner import SweepWorker, on_stale_trial, open_study

    _log_to_file(storage_mod.sweeps_dir(plan.runs_dir) / f"{plan.cfg.sweep.name}.log")
    storage = storage_mod.open_storage(plan.spec, on_stale=on_stale_trial)
    study = open_study(plan.cfg, plan.spec, storage, plan.target)
    return SweepWorker(plan.cfg, store, study, target=plan.target, train_fn=train_fn,
                       shared_storage=plan.spec.kind != "journal")


def _log_to_file(path: Path) -> None:
    """Optuna logs every trial (and failed ones with a traceback) to stderr by default:
    send its records, and ours, to the sweep's log file instead."""
    import optuna

    path.parent.mkdir(parents=True, exist_ok=True)
    optuna.logging.disable_default_handler()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s "
                                           "%(message)s"))
    for name in ("optuna", "densexp_tui.sweep"):
        logger = logging.getLogger(name)
        if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def run_with_table(worker: Any, plan: SweepPlan, console: Console) -> int:
    """Run the worker with the live table; Ctrl-C stops cleanly, a second one aborts (either
    way the interrupted trial is queued to run again)."""
    display = TrialDisplay(worker, plan, console)
    worker.on_change = display.poke
    interrupted = _install_sigint(worker, console)
    display.start()
    try:
        outcome = worker.run(timeout=plan.cfg.sweep.timeout or None)
    except KeyboardInterrupt:
        display.stop()
        console.print("[bold]sweep aborted[/]; run the same command to continue the study")
        return EXIT_INTERRUPTED
    finally:
        _restore_sigint(interrupted)
    display.stop()
    if worker.bad_input is not None:
        print(f"densexp: {worker.bad_input}", file=sys.stderr)
        return EXIT_BAD_INPUT
    console.print(final_line(outcome, plan), highlight=False)
    return exit_code(outcome, interrupted)


def run_for_json(worker: Any, plan: SweepPlan) -> int:
    """--json: no table; one JSON document with every trial on stdout at the end."""
    interrupted = _install_sigint(worker, Console(stderr=True))
    try:
        outcome = worker.run(timeout=plan.cfg.sweep.timeout or None)
    finally:
        _restore_sigint(interrupted)
    print(json.dumps(outcome_to_json(outcome, plan), indent=2))
    if worker.bad_input is not None:
        print(f"densexp: {worker.bad_input}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return exit_code(outcome, interrupted)


def outcome_to_json(outcome: Any, plan: SweepPlan) -> dict[str, Any]:
    def row(r: TrialRow) -> dict[str, Any]:
        record = dataclasses.asdict(r)
        record.pop("intermediate")
        return record

    return {
        "study": outcome.study_name, "storage": plan.spec.display,
        "objective": plan.cfg.sweep.objective, "direction": plan.cfg.sweep.direction,
        "target": outcome.target, "finished": outcome.finished, "reason": outcome.reason,
        "best": row(outcome.best) if outcome.best else None,
        "trials": [row(r) for r in outcome.rows],
    }


def exit_code(outcome: Any, interrupted: dict[str, Any]) -> int:
    """0 done/stopped/timeout; 1 when trials only failed; 130 after Ctrl-C."""
    if interrupted.get("count"):
        return EXIT_INTERRUPTED
    failed = [r for r in outcome.rows if r.state == "failed"]
    if outcome.reason == "too many failed trials" or (failed and not outcome.finished):
        return EXIT_FAILED
    return EXIT_OK


def _install_sigint(worker: Any, console: Console) -> dict[str, Any]:
    """First Ctrl-C: cancel the running trial and stop (its params run again next time)."""
    state: dict[str, Any] = {"count": 0}
    if threading.current_thread() is not threading.main_thread():
        return state

    def handler(signum: int, frame: Any) -> None:
        state["count"] += 1
        if state["count"] > 1:
            raise KeyboardInterrupt
        console.print("stopping after cancelling the current trial (Ctrl-C again to abort)")
        worker.request_stop()

    state["previous"] = signal.signal(signal.SIGINT, handler)
    return state


def _restore_sigint(state: dict[str, Any]) -> None:
    if "previous" in state:
        signal.signal(signal.SIGINT, state["previous"])


def final_line(outcome: Any, plan: SweepPlan) -> str:
    target = f"/{outcome.target}" if outcome.target else ""
    text = f"{outcome.finished}{target} trials finished ({outcome.reason})"
    if outcome.best is not None:
        text += (f"; best: trial #{outcome.best.number} {plan.cfg.sweep.objective} = "
                 f"{outcome.best.value:.4f} (run {outcome.best.run_id})")
    return text


# ---------------------------------------------------------------------------------------------
# The table.


class TrialDisplay:
    """A rich Live table on a terminal; otherwise one line per finished trial."""

    def __init__(self, worker: Any, plan: SweepPlan, console: Console):
        self.worker, self.plan, self.console = worker, plan, console
        self._wake = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Live | None = None
        self._printed: set[int] = set()

    def poke(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self.console.is_terminal:
            self._live = Live(self.render([]), console=self.console, auto_refresh=False,
                              transient=False)
            self._live.start()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="sweep-table")
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        rows = self._rows()
        if self._live is not None:
            self._live.update(self.render(rows), refresh=True)
            self._live.stop()
        else:
            self._print_new(rows)
            self.console.print(self.render(rows))

    def _loop(self) -> None:
        while not self._done.is_set():
            self._wake.wait(REFRESH_SECONDS)
            self._wake.clear()
            if self._done.is_set():
                return
            rows = self._rows()
            if self._live is not None:
                self._live.update(self.render(rows), refresh=True)
            else:
                self._print_new(rows)

    def _rows(self) -> list[TrialRow]:
        try:
            return trial_rows(self.worker.study)
        except Exception:  # noqa: BLE001 - a storage hiccup must not end the sweep's display
            logging.getLogger("densexp_tui.sweep").exception("reading the study failed")
            return []

    def _print_new(self, rows: list[TrialRow]) -> None:
        for row in rows:
            if row.state in ("running", "waiting") or row.number in self._printed:
                continue
            self._printed.add(row.number)
            self.console.print(trial_line(row), highlight=False)

    def render(self, rows: list[TrialRow]) -> Group:
        return render_table(rows, self.plan.cfg, self.plan.spec.display, self.plan.target)


def trial_line(row: TrialRow) -> str:
    value = "" if row.value is None else f" value {row.value:.4f}"
    extra = f" ({row.note})" if row.note else ""
    pruned = f" at epoch {row.pruned_at}" if row.pruned_at else ""
    return f"trial {row.number} {row.state}{pruned}{value} {format_params(row.params)}{extra}"


def render_table(rows: list[TrialRow], cfg: SweepConfig, where: str,
                 target: int | None) -> Group:
    """The trials table (number, params, state, value, epochs, duration, pruned at, run)."""
    sweep = cfg.sweep
    table = Table(title=f"sweep {sweep.name}: {sweep.objective} ({sweep.direction}), "
                  f"{sweep.sampler} sampler, pruner {sweep.pruner}", title_justify="left",
                  caption=f"storage {where}", caption_justify="left")
    table.add_column("#", justify="right")
    for key in cfg.space:
        table.add_column(short_key(key), justify="right")
    for name in ("state", "value", "epochs", "duration", "pruned at", "run"):
        table.add_column(name, justify="right" if name not in ("state", "run") else "left")
    best = best_row(rows, sweep.direction)
    for row in rows:
        table.add_row(*_cells(row, cfg), style="bold" if best and row is best else None)
    finished = count_finished(rows)
    status = Text(f"{finished}/{target or '?'} finished, "
                  f"{sum(r.state == 'running' for r in rows)} running. ")
    if best is not None:
        status.append(f"Best so far: trial #{best.number} {sweep.objective} = {best.value:.4f}",
                      style="bold")
    else:
        status.append("No complete trial yet.")
    return Group(table, status)


def _cells(row: TrialRow, cfg: SweepConfig) -> list[str]:
    params = [format_value(row.params[k]) if k in row.params else "" for k in cfg.space]
    run = f"reused {row.reused_from}" if row.reused_from else row.run_id
    state = row.state + (f" ({row.note})" if row.note and not row.reused_from else "")
    return [str(row.number), *params, state,
            "" if row.value is None else f"{row.value:.4f}", str(row.epochs or ""),
            format_duration(row.duration), str(row.pruned_at or ""), run]
