"""Sweep benchmarks: throughput, per-trial overhead, TPE vs random, and the study storage.

Four measurements, each a subcommand (``all`` runs the first three):

- ``throughput``: trials per hour on examples/sweep.toml with 1 and with 2 local worker
  processes (``densexp sweep`` started twice on the same journal study, as a user would).
- ``overhead`` (printed with throughput): per trial, Optuna's trial duration minus the run's
  own duration (which covers data, model build and training): ask/tell, run creation, the
  reuse lookup, reading the summary. Target: under 1 s.
- ``compare``: best objective after N trials, TPE against random search, over several
  seeds each (one worker, in this process).
- ``storage``: several processes hammering one study with a trivial objective: SQLite
  against the journal file (why the journal is the default for local workers).

The full sizes are expensive on 2 cores, so everything is configurable; the defaults are a
reduced version of examples/sweep.toml (fewer samples and epochs).

Run:  .venv/bin/python bench/sweep.py all --trials 6 --max-samples 600 --epochs 2
      .venv/bin/python bench/sweep.py compare --trials 10 --seeds 3 --max-samples 600
      .venv/bin/python bench/sweep.py storage --workers 4 --trials 60
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from densexp_tui.core.config import config_to_dict, load_config, resolve_paths  # noqa: E402
from densexp_tui.core.sweepconfig import load_sweep  # noqa: E402

EXAMPLE = REPO / "examples" / "sweep.toml"


def reduced_sweep(folder: Path, args: argparse.Namespace, name: str, **sweep: Any) -> Path:
    """examples/sweep.toml with fewer samples/epochs/trials, written into ``folder``."""
    import tomli_w

    cfg = load_sweep(EXAMPLE)
    mapping = cfg.to_dict()
    base = config_to_dict(resolve_paths(cfg.base))
    base["data"]["max_samples"] = args.max_samples
    base["train"]["epochs"] = args.epochs
    mapping["base"] = base
    mapping["sweep"].update(name=name, n_trials=args.trials, **sweep)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(tomli_w.dumps(mapping))
    return path


# ---------------------------------------------------------------------------------------------
# throughput and overhead


def run_workers(sweep: Path, runs: Path, workers: int) -> tuple[float, list[int]]:
    """Start ``workers`` `densexp sweep` processes on one study; wall time and exit codes."""
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "densexp_tui", "sweep", str(sweep),
                               "--runs-dir", str(runs), "--json"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(workers)]
    codes = []
    for proc in procs:
        proc.communicate()
        codes.append(proc.returncode)
    return time.perf_counter() - started, codes


def trial_overheads(runs: Path, name: str) -> tuple[list[float], list[float], int]:
    """(the sweep's own seconds per trial: Optuna's trial duration minus the whole train()
    call; the run's seconds as the trainer measured them; finished trials)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    from densexp_tui.core.runstore import RunStore
    from densexp_tui.sweep.storage import journal_path

    storage = JournalStorage(JournalFileBackend(str(journal_path(runs, name))))
    study = optuna.load_study(study_name=name, storage=storage)
    store = RunStore(runs)
    overheads, train_times, finished = [], [], 0
    for trial in study.get_trials(deepcopy=False):
        if not trial.state.is_finished() or trial.state.name == "FAIL":
            continue
        finished += 1
        run_id = trial.user_attrs.get("run_id")
        summary = store.read_summary(run_id) if run_id else None
        if summary is None or summary.duration is None or trial.user_attrs.get("reused_from"):
            continue
        total = (trial.datetime_complete - trial.datetime_start).total_seconds()
        overheads.append(total - trial.user_attrs.get("train_call_seconds", summary.duration))
        train_times.append(summary.duration)
    return overheads, train_times, finished


def throughput(args: argparse.Namespace) -> None:
    for workers in args.workers:
        with tempfile.TemporaryDirectory(prefix="densexp-bench-sweep-") as tmp:
            folder = Path(tmp)
            name = f"bench-w{workers}"
            sweep = reduced_sweep(folder, args, name)
            wall, codes = run_workers(sweep, folder / "runs", workers)
            overheads, train_times, finished = trial_overheads(folder / "runs", name)
            rate = finished / wall * 3600
            print(f"workers={workers}: {finished} trials in {wall:.1f} s -> {rate:.0f} "
                  f"trials/hour (exit codes {codes})")
            if overheads:
                print(f"  per trial: run (data+model+train) median "
                      f"{statistics.median(train_times):.2f} s; sweep overhead beyond the "
                      f"train() call median {statistics.median(overheads):.3f} s, max "
                      f"{max(overheads):.3f} s (target < 1 s)")


# ---------------------------------------------------------------------------------------------
# TPE vs random


def compare(args: argparse.Namespace) -> None:
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.sweep.cli import prepare, start_worker

    results: dict[str, list[float]] = {"tpe": [], "random": []}
    for sampler in ("tpe", "random"):
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory(prefix="densexp-bench-cmp-") as tmp:
                folder = Path(tmp)
                name = f"cmp-{sampler}-{seed}"
                sweep = reduced_sweep(folder, args, name, sampler=sampler, seed=seed)
                plan = prepare(sweep, None, args.trials, folder / "runs")
                worker = start_worker(plan, RunStore(plan.runs_dir))
                started = time.perf_counter()
                outcome = worker.run()
                best = outcome.best.value if outcome.best else float("nan")
                results[sampler].append(best)
                print(f"{sampler:6s} seed {seed}: best {plan.cfg.sweep.objective} after "
                      f"{outcome.finished} trials = {best:.4f} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    for sampler, values in results.items():
        spread = statistics.pstdev(values) if len(values) > 1 else 0.0
        print(f"{sampler:6s}: mean best {statistics.mean(values):.4f} +- {spread:.4f} "
              f"over {len(values)} seeds: {', '.join(f'{v:.4f}' for v in values)}")


# ---------------------------------------------------------------------------------------------
# storage: SQLite against the journal file


def _hammer(kind: str, path: str, trials: int, out: Any) -> None:
    """One worker process: ``trials`` trivial trials; reports errors instead of dying."""
    import logging

    import optuna

    optuna.logging.set_verbosity(logging.ERROR)
    errors, done = [], 0
    try:
        if kind == "sqlite":
            storage: Any = optuna.storages.RDBStorage(f"sqlite:///{path}")
        else:
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            storage = JournalStorage(JournalFileBackend(path))
        study = optuna.create_study(study_name="hammer", storage=storage, load_if_exists=True)
        for _ in range(trials):
            try:
                trial = study.ask()
                x = trial.suggest_float("x", -10, 10)
                trial.report(x * x, 1)
                trial.set_user_attr("run_id", "r")
                study.tell(trial, x * x)
                done += 1
            except Exception as exc:  # noqa: BLE001 - counting failures is the point
                errors.append(type(exc).__name__ + ": " + str(exc).splitlines()[0][:80])
    except Exception as exc:  # noqa: BLE001
        errors.append("setup " + type(exc).__name__ + ": " + str(exc).splitlines()[0][:80])
    out.put((done, errors))


def storage_bench(args: argparse.Namespace) -> None:
    import logging

    import optuna

    optuna.logging.set_verbosity(logging.ERROR)
    context = multiprocessing.get_context("spawn")
    for kind in ("sqlite", "journal"):
        with tempfile.TemporaryDirectory(prefix="densexp-bench-storage-") as tmp:
            path = str(Path(tmp) / ("study.db" if kind == "sqlite" else "study.journal"))
            if kind == "sqlite":  # create the schema once, as the first worker would
                optuna.create_study(study_name="hammer",
                                    storage=optuna.storages.RDBStorage(f"sqlite:///{path}"))
            queue = context.Queue()
            procs = [context.Process(target=_hammer, args=(kind, path, args.trials, queue))
                     for _ in range(args.storage_workers)]
            started = time.perf_counter()
            for proc in procs:
                proc.start()
            results = [queue.get() for _ in procs]
            for proc in procs:
                proc.join()
            wall = time.perf_counter() - started
            done = sum(r[0] for r in results)
            errors = [e for r in results for e in r[1]]
            print(f"{kind:8s}: {args.storage_workers} processes x {args.trials} trials: "
                  f"{done} told in {wall:.1f} s ({done / wall:.0f}/s), {len(errors)} errors"
                  + (f"; first: {errors[0]}" if errors else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("all", "throughput", "compare", "storage"))
    parser.add_argument("--trials", type=int, default=6, help="n_trials per study")
    parser.add_argument("--max-samples", type=int, default=600, help="reviews rows used")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--storage-workers", type=int, default=4)
    args = parser.parse_args()
    print(f"sizes: trials={args.trials} max_samples={args.max_samples} epochs={args.epochs} "
          f"(base: {load_config(REPO / 'examples' / 'quickstart.toml').model.name})",
          flush=True)
    if args.what in ("all", "throughput"):
        throughput(args)
    if args.what in ("all", "compare"):
        compare(args)
    if args.what in ("storage",):
        storage_bench(args)


if __name__ == "__main__":
    main()
