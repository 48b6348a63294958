"""A TensorFlow-free ``densexp run CONFIG --runs-dir DIR --run-id ID --json`` for the
per-GPU queue tests: the fake trainer (tests/sweep/fake_trainer.py) writes the run under the
announced id, records the CUDA_VISIBLE_DEVICES it saw, and SIGINT cancels it cleanly, as
the real command does. A run named "refused" is bad input: one line, exit 2, no run.

``python -m tests.tui.fake_run_main CONFIG --runs-dir DIR --run-id ID [--json]``
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from densexp_tui.core.config import load_config, resolve_paths
from densexp_tui.core.runstore import RunStore
from tests.sweep.fake_trainer import fake_train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("--runs-dir", type=Path, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    if cfg.run.name == "refused":
        print("densexp: data.path: /nowhere.csv does not exist", file=sys.stderr)
        return 2
    cancel = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        cancel.set()

    signal.signal(signal.SIGINT, on_sigint)
    store = RunStore(args.runs_dir)
    handle = store.create_run(resolve_paths(cfg), run_id=args.run_id)
    result = fake_train(cfg, store, cancel=cancel, handle=handle)
    return 0 if result.status == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
