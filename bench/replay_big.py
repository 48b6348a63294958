"""Open a run with a 1,000,000-event log in the dashboard: time and peak memory.

Writes a realistic log (step events over many epochs, an epoch event with metrics and a
confusion matrix after each, then test and run_finished) into a temporary runs directory,
then opens it in a headless app (``run_test``) and measures from pushing the DashboardScreen
to the moment the last event has been applied (the run shows as finished). Both ways of
opening are measured: live (following the file, as for a run of another terminal) and replay
at maximum speed. Targets: under 2 s and under 300 MB peak RSS.

    .venv/bin/python bench/replay_big.py [--events 1000000] [--mode live|replay|both]

Run each mode in a fresh process (the default does) so peak RSS belongs to that mode alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from densexp_tui.core.config import RunConfig, apply_overrides, dumps_config

LABELS = ["negative", "neutral", "positive"]
EPOCHS = 100
TARGET_SECONDS = 2.0
TARGET_MB = 300


def epoch_metrics(epoch: int, rng: random.Random) -> dict[str, object]:
    accuracy = min(0.95, 0.5 + 0.045 * epoch ** 0.5 + rng.uniform(-0.01, 0.01))
    per_class_total = 400
    right = int(per_class_total * accuracy)
    wrong = per_class_total - right
    confusion = [[right if c == r else wrong // 2 + (c > r and wrong % 2) for c in range(3)]
                 for r in range(3)]
    per_class = {label: {"precision": accuracy, "recall": accuracy, "f1": accuracy,
                         "support": per_class_total} for label in LABELS}
    return {"loss": 1.2 - accuracy, "accuracy": accuracy, "precision": accuracy,
            "recall": accuracy, "f1": accuracy, "per_class": per_class,
            "confusion": confusion, "labels": LABELS}


def write_big_run(runs_dir: Path, total_events: int) -> Path:
    """A completed run whose log holds ``total_events`` lines, written in big chunks."""
    run_id = "20250101-000000-big-000001"
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True)
    cfg = apply_overrides(RunConfig(), ["run.name=big", f"train.epochs={EPOCHS}"])
    (run_dir / "config.toml").write_text(dumps_config(cfg))
    steps_per_epoch, extra_steps = divmod(total_events - 3 - EPOCHS, EPOCHS)  # log_every=1
    rng = random.Random(1)
    clock, seq = 1_700_000_000.0, 0

    def line(kind: str, **data: object) -> str:
        nonlocal seq
        seq += 1
        return json.dumps({"v": 1, "seq": seq, "time": round(clock, 3), "kind": kind, **data},
                          separators=(",", ":"))

    with open(run_dir / "events.jsonl", "w", encoding="utf-8") as out:
        out.write(line("run_started", run_id=run_id, name="big", config_hash="0" * 16,
                       device="cpu", labels=LABELS, sizes={"train": 10 ** 6, "val": 1200,
                                                           "test": 1200},
                       params={"trainable": 4_386_051, "total": 4_386_051}, epochs=EPOCHS,
                       steps_per_epoch=steps_per_epoch, batch_size=32, finetune="full",
                       model="tiny-bert", dataset="reviews") + "\n")
        for epoch in range(1, EPOCHS + 1):
            chunk = []
            for step_in_epoch in range(1, steps_per_epoch + 1 + (extra_steps if epoch == 1 else 0)):
                clock += 0.05
                step = (epoch - 1) * steps_per_epoch + step_in_epoch
                loss = 1.1 / (1 + step / 20_000) + 0.2 + rng.gauss(0, 0.02)
                chunk.append(line("step", epoch=epoch, step=step, loss=round(loss, 5),
                                  accuracy=round(1.1 - loss * 0.6, 5),
                                  learning_rate=round(5e-4 * (1 - step / 10 ** 6), 9),
                                  samples_per_sec=round(640 + rng.gauss(0, 5), 1)))
            out.write("\n".join(chunk) + "\n")
            clock += 2.0
            out.write(line("epoch", epoch=epoch, train={"loss": 0.4, "accuracy": 0.85},
                           val=epoch_metrics(epoch, rng), best_epoch=epoch, patience_left=None,
                           elapsed=round(clock - 1_700_000_000.0, 3)) + "\n")
        final = epoch_metrics(EPOCHS, rng)
        out.write(line("test", **final, report="") + "\n")
        out.write(line("run_finished", status="completed", best_epoch=EPOCHS, best=final,
                       test=final, duration=round(clock - 1_700_000_000.0, 3),
                       message="") + "\n")
    summary = {"run_id": run_id, "name": "big", "status": "completed", "epochs": EPOCHS,
               "epochs_done": EPOCHS, "started": 1_700_000_000.0, "finished": clock}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "log.txt").write_text("bench\n")
    return run_dir


async def open_in_dashboard(run_dir: Path, mode: str) -> tuple[float, float, int, int]:
    """(wall seconds from push to the last event applied, CPU seconds of the process over the
    same span (all threads; on a busy machine it tells what the wall time cannot), events
    applied, batches)."""
    from textual.app import App

    from densexp_tui.tui.screens.dashboard import DashboardScreen

    app: App[None] = App()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = DashboardScreen(run_dir, mode, None, replay_speed=None)  # type: ignore[arg-type]
        started, cpu_started = time.perf_counter(), time.process_time()
        await app.push_screen(screen)
        while not (screen.view.finished and screen.source_finished):
            await pilot.pause(0.005)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        await pilot.pause(0.2)  # one more redraw with everything on screen
        return elapsed, cpu, screen.view.events_applied, screen.batches_applied


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure_one(run_dir: Path, mode: str) -> None:
    baseline = peak_rss_mb()
    seconds, cpu, applied, batches = asyncio.run(open_in_dashboard(run_dir, mode))
    with open(run_dir / "events.jsonl", "rb") as log:
        lines = sum(1 for _ in log)
    peak = peak_rss_mb()
    verdict = "OK" if seconds < TARGET_SECONDS and peak < TARGET_MB else "OVER TARGET"
    print(f"{mode:6s}  {lines:,} events in the log  open {seconds:.2f} s (CPU {cpu:.2f} s)  "
          f"applied {applied:,} events in {batches} batches  peak RSS {peak:.0f} MB "
          f"(before opening {baseline:.0f} MB)  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--mode", choices=("live", "replay", "both"), default="both")
    parser.add_argument("--run-dir", type=Path,
                        help="measure this existing run instead of writing a new log")
    args = parser.parse_args()
    if args.run_dir is not None and args.mode != "both":
        measure_one(args.run_dir, args.mode)
        return
    if args.run_dir is not None:
        measure_modes(args.run_dir, ("live", "replay"))
        return
    with tempfile.TemporaryDirectory(prefix="densexp-bench-") as tmp:
        started = time.perf_counter()
        run_dir = write_big_run(Path(tmp), args.events)
        size_mb = (run_dir / "events.jsonl").stat().st_size / 1024 ** 2
        print(f"wrote {args.events:,} events ({size_mb:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s")
        measure_modes(run_dir, ("live", "replay") if args.mode == "both" else (args.mode,))


def measure_modes(run_dir: Path, modes: tuple[str, ...]) -> None:
    for mode in modes:  # a fresh process each, so peak RSS is the mode's own
        subprocess.run([sys.executable, __file__, "--mode", mode, "--run-dir", str(run_dir)],
                       check=True)


if __name__ == "__main__":
    main()
