"""One sweep worker process for the multi-process tests.

``python -m tests.sweep.worker_main SWEEP --runs-dir DIR [--storage URL] [--n-trials N]
[--fake]``: the same code path as ``densexp sweep`` (prepare, start_worker, the table), with
``--fake`` swapping the TensorFlow trainer for tests/sweep/fake_trainer.py.
"""

from __future__ import annotations

import argparse
import sys

from densexp_tui.core.errors import BadInput
from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep.cli import make_console, prepare, run_with_table, start_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sweep")
    parser.add_argument("--runs-dir")
    parser.add_argument("--storage")
    parser.add_argument("--n-trials", type=int)
    parser.add_argument("--fake", action="store_true")
    parser.add_argument("--heartbeat", type=int, nargs=2, metavar=("INTERVAL", "GRACE"),
                        help="Optuna heartbeat seconds for RDB studies (tests kill workers)")
    args = parser.parse_args(argv)
    if args.heartbeat:
        from densexp_tui.sweep import storage

        storage.HEARTBEAT_INTERVAL, storage.GRACE_PERIOD = args.heartbeat
    train_fn = None
    if args.fake:
        from tests.sweep.fake_trainer import fake_train as train_fn
    try:
        plan = prepare(args.sweep, args.storage, args.n_trials, args.runs_dir)
        store = RunStore(plan.runs_dir)
        worker = start_worker(plan, store, train_fn=train_fn)
    except BadInput as err:
        print(err, file=sys.stderr)
        return 2
    return run_with_table(worker, plan, make_console())


if __name__ == "__main__":
    raise SystemExit(main())
