"""``densexp sweep --workers N | --gpus LIST`` with the fake trainer, as its own process.

``python -m tests.sweep.pool_main SWEEP --runs-dir DIR [--workers N | --gpus LIST]
[--fake-gpus COUNT]``: the same code path (sweep/cli_workers.py), whose workers run
tests/sweep/worker_main.py --fake instead of ``densexp sweep``; ``--fake-gpus`` stands in
for the GPUs TensorFlow would see.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from densexp_tui.sweep.cli import SweepPlan
from densexp_tui.sweep.cli_workers import workers_command

REPO = Path(__file__).resolve().parents[2]


def fake_worker_command(plan: SweepPlan, sweep: Path, n_trials: int | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "tests.sweep.worker_main", str(Path(sweep).resolve()),
           "--runs-dir", str(plan.runs_dir), "--fake"]
    return cmd + (["--n-trials", str(n_trials)] if n_trials else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("--runs-dir")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--gpus")
    parser.add_argument("--n-trials", type=int)
    parser.add_argument("--fake-gpus", type=int, default=0)
    args = parser.parse_args(argv)
    return workers_command(
        args, command_for=lambda plan: fake_worker_command(plan, args.config, args.n_trials),
        gpu_count=lambda: args.fake_gpus)


if __name__ == "__main__":
    raise SystemExit(main())
