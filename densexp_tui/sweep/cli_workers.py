"""The ``densexp sweep`` command with ``--workers N`` or ``--gpus LIST``: start the workers
(sweep/workers.py), show the study's table while they run, and end with the usual line.

Every check that can fail runs before a worker starts: the sweep file, the storage, the
runs directory, ``--workers``/``--gpus``, and every ``device.device`` a trial may ask for
(sweep/devicecheck.py; a --gpus worker sees one GPU). Bad input is one line on stderr, exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from densexp_tui.core.errors import EXIT_INTERRUPTED, BadInput
from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep import storage as storage_mod
from densexp_tui.sweep.cli import (
    EXIT_BAD_INPUT,
    SweepPlan,
    TrialDisplay,
    _log_to_file,
    exit_code,
    final_line,
    make_console,
    outcome_to_json,
    prepare,
)
from densexp_tui.sweep.devicecheck import ONE_GPU_PER_WORKER, check_sweep_devices
from densexp_tui.sweep.runner import SweepOutcome, on_stale_trial, open_study
from densexp_tui.sweep.study import best_row, count_finished, trial_rows
from densexp_tui.sweep.workers import (
    WorkerPool,
    WorkerSlot,
    install_interrupt,
    plan_slots,
    sweep_worker_command,
)

CommandFor = Callable[[SweepPlan], list[str]]


def wants_workers(args: Any) -> bool:
    """True when the command line asks for worker processes (--workers or --gpus)."""
    return getattr(args, "workers", None) is not None or getattr(args, "gpus", None) is not None


def workers_command(args: Any, command_for: CommandFor | None = None,
                    gpu_count: Callable[[], int] | None = None) -> int:
    """``densexp sweep SWEEP --workers N | --gpus LIST``; falls back to one in-process
    worker for ``--workers 1``. ``command_for`` and ``gpu_count`` exist for tests."""
    sweep_path = getattr(args, "sweep", None) or args.config
    storage_url, n_trials = getattr(args, "storage", None), getattr(args, "n_trials", None)
    try:
        plan = prepare(sweep_path, storage_url, n_trials, getattr(args, "runs_dir", None))
        slots = plan_slots(getattr(args, "workers", None), getattr(args, "gpus", None),
                           gpu_count)
        if slots is None:
            from densexp_tui.sweep.cli import sweep_command

            return int(sweep_command(args, gpu_count))
        _check_devices(plan, slots, gpu_count)
        RunStore(plan.runs_dir).ensure_writable()
        study = _open_study(plan)
    except BadInput as err:
        print(f"densexp: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    command = (command_for or _densexp_sweep(sweep_path, storage_url, n_trials))(plan)
    return run_pool(plan, study, slots, command, as_json=bool(getattr(args, "json", False)))


def _check_devices(plan: SweepPlan, slots: list[WorkerSlot],
                   gpu_count: Callable[[], int] | None) -> None:
    """Every device a trial may ask for exists where the workers train: a --gpus worker
    sees one GPU, a --workers worker all of this machine's."""
    if any(slot.cuda_visible is not None for slot in slots):
        check_sweep_devices(plan.cfg, lambda: 1, note=ONE_GPU_PER_WORKER)
    else:
        check_sweep_devices(plan.cfg, gpu_count)


def _densexp_sweep(sweep_path: Path, storage: str | None, n_trials: int | None) -> CommandFor:
    return lambda plan: sweep_worker_command(sweep_path, plan.runs_dir, storage, n_trials)


def _open_study(plan: SweepPlan) -> Any:
    """The study, created here once so the workers all join rather than race to create it."""
    # Optuna's own log lines go to the sweep's log file, not over the table.
    _log_to_file(storage_mod.sweeps_dir(plan.runs_dir) / f"{plan.cfg.sweep.name}.log")
    storage = storage_mod.open_storage(plan.spec, on_stale=on_stale_trial)
    return open_study(plan.cfg, plan.spec, storage, plan.target)


def run_pool(plan: SweepPlan, study: Any, slots: list[WorkerSlot], command: list[str],
             as_json: bool = False) -> int:
    """Start the workers, show the table until they are all done, and sum up."""
    console = make_console()
    pool = WorkerPool(slots, command, storage_mod.sweeps_dir(plan.runs_dir), plan.cfg.sweep.name)
    display = TrialDisplay(SimpleNamespace(study=study), plan, console)
    restore = install_interrupt(pool, lambda text: print(text, file=sys.stderr))
    try:
        pool.start()
        _say_started(pool, slots)
        if not as_json:
            display.start()
        codes = pool.wait()
    finally:
        restore()
    if not as_json:
        display.stop()
    return _sum_up(plan, study, pool, codes, as_json)


def _say_started(pool: WorkerPool, slots: list[WorkerSlot]) -> None:
    for slot, pid in zip(slots, pool.pids(), strict=True):
        gpu = f" on GPU {slot.cuda_visible}" if slot.cuda_visible is not None else ""
        print(f"worker {slot.index}{gpu}: pid {pid}, output in {pool.log_path(slot)}",
              file=sys.stderr)


def _sum_up(plan: SweepPlan, study: Any, pool: WorkerPool, codes: list[int],
            as_json: bool) -> int:
    rows = trial_rows(study)
    reason = "stopped" if pool.interrupts else "done"
    outcome = SweepOutcome(plan.cfg.sweep.name, plan.target, count_finished(rows), rows,
                           best_row(rows, plan.cfg.sweep.direction), reason)
    if as_json:
        import json

        print(json.dumps(outcome_to_json(outcome, plan), indent=2))
    else:
        print(final_line(outcome, plan))
    bad = pool.bad_input_line()
    if bad is not None and not pool.interrupts:
        print(bad, file=sys.stderr)
        return EXIT_BAD_INPUT
    if pool.interrupts:
        return EXIT_INTERRUPTED
    code = exit_code(outcome, {})
    return code if code or not any(codes) else max(codes)
