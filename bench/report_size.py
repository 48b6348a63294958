"""Report size and generation time: one run, ten runs, a 100-trial sweep (HTML and Markdown).

Runs are copies of the fixture runs (tests/data/runs: 5 epochs, 150 step events each); the
sweep is an Optuna journal of 100 trials added with create_trial (every 7th pruned), its best
trial's run a fixture copy (tests/share/fake_sweep.py). Each case is a fresh
``densexp report`` process, so the time includes Python start and the matplotlib import;
CPU time (user + system of the child) is printed beside the wall time because the machine
is shared.

    .venv/bin/python bench/report_size.py [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _report(runs: Path, refs: list[str], out: Path) -> tuple[float, float, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "densexp_tui", "report", *refs, "--out", str(out),
                    "--runs-dir", str(runs)], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    size = out.stat().st_size
    folder = out.with_name(out.stem + "_files")
    if folder.is_dir():
        size += sum(p.stat().st_size for p in folder.iterdir())
    return wall, cpu, size


def main() -> None:
    from tests.share.fake_sweep import FIXTURES, copy_runs, make_sweep  # needs REPO on the path

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="densexp-report-bench-") as tmp:
        root = Path(tmp)
        one = root / "one"
        copy_runs(one, 1)
        ten = root / "ten"
        ten_ids = copy_runs(ten, 10)
        sweep = root / "sweep"
        make_sweep(sweep, "bench", trials=100, with_runs=True)
        cases = [("1 run", one, [f"20250102-{0:06d}-copy-0000"]),
                 ("10 runs", ten, ten_ids),
                 ("100-trial sweep", sweep, ["bench"])]
        print(f"fixture runs: {', '.join(FIXTURES)}")
        for round_number in range(args.rounds):
            for label, runs, refs in cases:
                for suffix in ("html", "md"):
                    out = root / f"{label.replace(' ', '-')}-{round_number}.{suffix}"
                    wall, cpu, size = _report(runs, refs, out)
                    print(f"{label:>16} {suffix:>4}: {size / 1024:7.0f} KiB  "
                          f"wall {wall:5.1f} s  cpu {cpu:5.1f} s")


if __name__ == "__main__":
    main()
