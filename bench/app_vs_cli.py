"""The same run in the app and on the command line: wall time and training time, and ratios.

Both sides are fresh processes, so both pay for importing TensorFlow:

- app: ``DensexpApp(launch=CONFIG)`` (the ``densexp --launch`` path) headless in
  ``run_test`` at 120x40, library output sent to a log as ``run_app`` does; the dashboard opens
  when the run starts and redraws live until it ends, then the app exits.
- cli: ``densexp run CONFIG`` in a subprocess (stdout/stderr to pipes).

Three figures per side: the process wall time (spawn to exit), the run's own ``duration``
from its summary.json (training, evaluation and checkpoints, without start-up), and the
child's CPU time (user + system, all threads). The order alternates between rounds (app
first, then cli first, ...) so a drift in machine load hits both sides. On a shared machine
the wall times of identical runs can differ by 30% from one minute to the next; CPU time
moves much less with other tenants' load, so it is the steadier measure of what the app
adds. Each line also says how many cores the rest of the machine kept busy meanwhile
(/proc/stat minus the child), which tells a slow round caused by a neighbour from one
caused by the app. Target: app/cli <= 1.05.

    .venv/bin/python bench/app_vs_cli.py [--config examples/quickstart.toml] [--rounds 2]
        [--set train.epochs=2 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DENSEXP = Path(sys.executable).with_name("densexp")
TARGET_RATIO = 1.05

APP_CHILD = r"""
import asyncio, sys, time
from pathlib import Path
from densexp_tui.engine.logcapture import redirect_fd2_for_process
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.dashboard import DashboardScreen

runs_dir, launch = Path(sys.argv[1]), Path(sys.argv[2])
redirect_fd2_for_process(runs_dir / ".densexp-tui.log")

async def main() -> None:
    app = DensexpApp(runs_dir=runs_dir, launch=launch)
    async with app.run_test(size=(120, 40)):
        seen_dashboard = False
        while True:
            await asyncio.sleep(0.1)
            seen_dashboard = seen_dashboard or isinstance(app.screen, DashboardScreen)
            started = any(runs_dir.glob("*/summary.json"))
            if started and not app.training.busy:
                break
        app.exit(0)
    if not seen_dashboard:
        raise SystemExit("the dashboard never opened")

asyncio.run(main())
"""


def write_config(config: Path, overrides: list[str], tmp: Path) -> Path:
    """The TOML to launch: the given one, or a resolved copy with the --set overrides
    (bench/keypress_latency.py launches the same way)."""
    if not overrides:
        return config
    from densexp_tui.core.config import apply_overrides, load_config, resolve_paths, save_config

    cfg = resolve_paths(apply_overrides(load_config(config), overrides))
    path = tmp / "bench-run.toml"
    save_config(cfg, path)
    return path


def run_duration(runs_dir: Path) -> tuple[float, str]:
    summaries = list(runs_dir.glob("*/summary.json"))
    if len(summaries) != 1:
        raise SystemExit(f"expected one run in {runs_dir}, found {len(summaries)}")
    summary = json.loads(summaries[0].read_text())
    return float(summary.get("duration") or 0.0), str(summary.get("status"))


def machine_busy() -> float:
    """CPU seconds spent by every process on the machine so far (from /proc/stat)."""
    try:
        fields = open("/proc/stat").readline().split()[1:]
    except OSError:
        return 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one(side: str, config: Path, tmp: Path, index: int) -> tuple[float, float, float]:
    runs_dir = tmp / f"{side}-{index}"
    runs_dir.mkdir()
    env = {**os.environ, "DENSEXP_CONFIG_DIR": str(tmp / "config")}
    env.pop("DENSEXP_RUNS_DIR", None)
    if side == "app":
        command = [sys.executable, "-c", APP_CHILD, str(runs_dir), str(config)]
    else:
        command = [str(DENSEXP), "run", str(config), "--runs-dir", str(runs_dir)]
    started, cpu_before, busy_before = time.perf_counter(), children_cpu(), machine_busy()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=1800)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    others = max(0.0, machine_busy() - busy_before - cpu)  # other tenants' CPU meanwhile
    if done.returncode != 0:
        raise SystemExit(f"{side} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    duration, status = run_duration(runs_dir)
    if status != "completed":
        raise SystemExit(f"{side} run ended {status}")
    print(f"  round {index + 1} {side:<3}  wall {wall:6.1f} s  run duration {duration:6.1f} s"
          f"  cpu {cpu:6.1f} s  (others on the machine used {others / wall:.2f} cores)",
          flush=True)
    return wall, duration, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "quickstart.toml")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE")
    args = parser.parse_args()
    figures: dict[str, list[tuple[float, float, float]]] = {"app": [], "cli": []}
    label = args.config.name + (" " + " ".join(args.overrides) if args.overrides else "")
    print(f"{label}: app (headless, --launch) vs `densexp run`, {args.rounds} rounds, "
          "order alternating", flush=True)
    with tempfile.TemporaryDirectory(prefix="densexp-appcli-") as tmp_name:
        tmp = Path(tmp_name)
        config = write_config(args.config.resolve(), args.overrides, tmp)
        for index in range(args.rounds):
            order = ("app", "cli") if index % 2 == 0 else ("cli", "app")
            for side in order:
                figures[side].append(one(side, config, tmp, index))
    for what, position in (("wall", 0), ("run duration", 1), ("cpu", 2)):
        app = statistics.median(f[position] for f in figures["app"])
        cli = statistics.median(f[position] for f in figures["cli"])
        ratio = app / cli
        verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
        print(f"{what:<13} median app {app:6.1f} s  cli {cli:6.1f} s  "
              f"app/cli {ratio:.3f}  {verdict}")
    per_round = [a[0] / c[0] for a, c in zip(figures["app"], figures["cli"], strict=True)]
    print("wall ratio per round: " + ", ".join(f"{r:.3f}" for r in per_round))


if __name__ == "__main__":
    main()
