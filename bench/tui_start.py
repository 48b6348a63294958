"""Start-up time of the app: from process start to the first frame of the runs screen.

Each sample is a fresh interpreter (imports are most of the cost, and a warm process would
hide them). The child records three moments, all as wall-clock times compared with the
moment the parent spawned it: imports done, the app's on_mount, and Textual's Ready event
(the first frame has been drawn). The app runs headless at 80x24 on a runs directory with
``--runs`` fixture runs, and the child also reports whether TensorFlow was loaded (it must
not be).

    .venv/bin/python bench/tui_start.py [--samples 5] [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
spawned = float(sys.argv[1])
from densexp_tui.tui.app import DensexpApp
imported = time.time()
marks = {}

class TimedApp(DensexpApp):
    def on_mount(self) -> None:
        super().on_mount()
        marks["mount"] = time.time()

    def on_ready(self) -> None:
        marks["frame"] = time.time()
        self.exit(0)

TimedApp(runs_dir=sys.argv[2]).run(headless=True, size=(80, 24))
print(json.dumps({
    "imports": imported - spawned,
    "mount": marks["mount"] - spawned,
    "first_frame": marks["frame"] - spawned,
    "tensorflow_loaded": "tensorflow" in sys.modules,
}))
"""


def write_runs(root: Path, count: int) -> None:
    """``count`` finished runs with summaries, like a runs dir after a day of work."""
    for index in range(count):
        run_id = f"20250301-{index:06d}-bench-{index:06x}"
        folder = root / run_id
        folder.mkdir(parents=True)
        summary = {"run_id": run_id, "name": f"bench-{index}", "status": "completed",
                   "dataset": "reviews", "model": "tiny-bert", "finetune": "full",
                   "started": 1_740_819_600.0 + index * 60, "duration": 42.0,
                   "best": {"loss": 0.4, "accuracy": 0.85, "f1": 0.84},
                   "params": {"trainable": 107_331, "total": 107_331},
                   "epochs_done": 3, "epochs": 3}
        (folder / "summary.json").write_text(json.dumps(summary))


def sample(runs: Path, config_dir: Path) -> dict[str, float]:
    env = {**os.environ, "DENSEXP_CONFIG_DIR": str(config_dir)}
    spawned = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, str(spawned), str(runs)],
                          capture_output=True, text=True, env=env, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50, help="runs in the runs directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="densexp-start-") as tmp:
        runs = Path(tmp) / "runs"
        write_runs(runs, args.runs)
        samples = [sample(runs, Path(tmp) / "config") for _ in range(args.samples)]
    print(f"densexp app start, {args.samples} fresh processes, {args.runs} runs listed, "
          "headless 80x24 (seconds from spawn):")
    for key in ("imports", "mount", "first_frame"):
        values = [s[key] for s in samples]
        print(f"  {key:<12} median {statistics.median(values):.3f}  "
              f"min {min(values):.3f}  max {max(values):.3f}")
    loaded = any(s["tensorflow_loaded"] for s in samples)
    print(f"  tensorflow loaded at start: {'YES (bug)' if loaded else 'no'}")


if __name__ == "__main__":
    main()
