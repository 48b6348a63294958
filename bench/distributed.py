"""cpu:2 (MirroredStrategy over two logical CPU devices) vs cpu for the same run.

Each device setting trains the same tiny-bert run (built-in reviews) with the real trainer
in a fresh process of its own (logical CPU devices can only be made before TensorFlow
starts), alternating, ``--rounds`` times. The figure is the training throughput after the
first epoch (tracing and warm-up excluded): the median of the step events' samples/s.

On a 2-core machine no gain is expected: both logical devices share the same cores and
thread pools, and the strategy adds a per-step gradient reduction and input splitting.
The point of cpu:N is that the distributed code path can be run and tested anywhere.

Run:  .venv/bin/python bench/distributed.py [--rounds 2] [--samples 600] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys
from densexp_tui.core.config import parse_config
from densexp_tui.core.events import read_events
from densexp_tui.core.runstore import RunStore
from densexp_tui.engine.trainer import train
device, samples, epochs, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cfg = parse_config({
    "run": {"name": "bench-" + device.replace(":", ""), "seed": 7},
    "data": {"source": "builtin", "name": "reviews", "max_samples": samples, "max_length": 48},
    "model": {"name": "tiny-bert"},
    "train": {"epochs": epochs, "batch_size": 32, "learning_rate": 3e-3, "log_every_steps": 2},
    "device": {"device": device}}, source="bench")
result = train(cfg, RunStore(runs))
events = read_events(result.run_dir / "events.jsonl").events
speeds = [e.get("samples_per_sec") for e in events if e.kind == "step" and e.get("epoch", 0) > 1]
print("RESULT " + json.dumps({"status": result.status, "speeds": speeds,
                              "accuracy": (result.best or {}).get("accuracy")}))
"""


def measure(device: str, samples: int, epochs: int, runs: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, device, str(samples), str(epochs),
                           str(runs)], cwd=REPO, capture_output=True, text=True, check=True)
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    speeds: dict[str, list[float]] = {"cpu": [], "cpu:2": []}
    with tempfile.TemporaryDirectory(prefix="densexp-bench-dist-") as tmp:
        for round_index in range(args.rounds):
            for device in speeds:
                result = measure(device, args.samples, args.epochs, Path(tmp))
                median = statistics.median(result["speeds"])
                speeds[device].append(median)
                print(f"round {round_index + 1} {device:6s} {median:8.1f} samples/s "
                      f"(val accuracy {result['accuracy']:.3f}, {result['status']})",
                      flush=True)
    single, mirrored = (statistics.median(speeds[d]) for d in ("cpu", "cpu:2"))
    print(f"cpu    median {single:8.1f} samples/s")
    print(f"cpu:2  median {mirrored:8.1f} samples/s")
    print(f"ratio cpu:2 / cpu = {mirrored / single:.2f}")


if __name__ == "__main__":
    main()
