"""Key-press to screen-update latency of the live dashboard while a real tiny-bert run trains.

The app runs headless (``run_test``, 120x40) and launches a run TOML the way
``densexp --launch`` does (``DensexpApp(launch=...)``); its dashboard opens when the run
starts. Every ~200 ms a key that changes what the dashboard shows is sent: ``n`` (confusion
matrix counts <-> by row), ``t`` (Overview -> Accuracy tab) and ``T`` (back to Overview), in
that cycle, so every key has a visible effect.

Method. A key is delivered the way the terminal driver delivers one: ``app.post_message(
events.Key(...))`` (not ``pilot.press``, whose pauses force a compositor refresh and would
flatter the figure). The clock starts just before posting. The app subclass wraps
``App._display``, which Textual calls once a frame's compositor update has been rendered
(headless it then skips only the terminal write); the clock stops at the first frame in which
the key's effect is in place: the matrix widget holds the new normalisation, or the new tab's
pane has been laid out (non-empty region) and the old one hidden. A key whose effect never
reaches a frame within 2 s counts as missed. Nothing else forces frames, so the figure
includes waiting for Textual's own refresh timer, the training thread holding the GIL, the
dashboard's 10 Hz redraws and its event batches.

Figures are split by phase: "starting" (dashboard open, TensorFlow loading and the model
being built in the worker, no step yet) and "training" (steps arriving). Target: training
p95 < 100 ms.

    .venv/bin/python bench/keypress_latency.py [--config examples/quickstart.toml]
        [--set train.epochs=3 ...] [--interval 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402

from bench.app_vs_cli import write_config  # noqa: E402
from densexp_tui.tui.app import DensexpApp  # noqa: E402

MISS_AFTER_SECONDS = 2.0
TARGET_P95_MS = 100.0


@dataclass
class Probe:
    """One key press waiting for the frame that shows its effect."""

    key: str
    phase: str
    started: float
    shown: Callable[[], bool]
    latency: float | None = None


@dataclass
class Results:
    by_phase: dict[str, list[float]] = field(default_factory=dict)
    by_key: dict[str, list[float]] = field(default_factory=dict)  # training phase only
    slowest: list[tuple[float, str, str]] = field(default_factory=list)  # (s, key, where)
    missed: dict[str, int] = field(default_factory=dict)
    frames: int = 0


class TimedApp(DensexpApp):
    """The real app; every rendered frame is checked against the key waiting for it."""

    probe: Probe | None = None
    frames = 0

    def _display(self, screen: Any, renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is None or self._batch_count:
            return
        self.frames += 1
        probe = self.probe
        if probe is not None and probe.latency is None and probe.shown():
            probe.latency = time.perf_counter() - probe.started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def make_probe(app: TimedApp, key: str, phase: str) -> Probe:
    """Post ``key`` now; the probe knows what the screen must show afterwards."""
    from textual.widgets import TabbedContent

    from densexp_tui.tui.widgets.confusion import ConfusionMatrix

    screen: Any = app.screen
    if key == "n":
        target = not screen.normalised
        matrix = screen.query_one("#confusion", ConfusionMatrix)

        def shown() -> bool:
            return matrix.normalised == target
    else:
        tabs = screen.query_one(TabbedContent)
        old = tabs.active
        new = "accuracy" if key == "t" else "overview"
        assert old != new, (old, new)
        old_pane, new_pane = screen.get_widget_by_id(old), screen.get_widget_by_id(new)

        def shown() -> bool:
            return (tabs.active == new and new_pane.region.area > 0
                    and old_pane.region.area == 0)
    character = key if len(key) == 1 else None
    probe = Probe(key, phase, time.perf_counter(), shown)
    app.probe = probe
    app.post_message(events.Key(key, character))
    return probe


async def measure(launch: Path, runs_dir: Path, interval: float) -> Results:
    from densexp_tui.tui.screens.dashboard import DashboardScreen

    app = TimedApp(runs_dir=runs_dir, launch=launch)
    results = Results()
    keys = ("n", "t", "T")
    async with app.run_test(size=(120, 40)):
        deadline = time.monotonic() + 600
        while not isinstance(app.screen, DashboardScreen):
            if time.monotonic() > deadline:
                raise SystemExit("the dashboard never opened")
            await asyncio.sleep(0.05)
        screen: Any = app.screen
        await asyncio.sleep(0.3)  # let it compose
        count = 0
        while not screen.view.finished and time.monotonic() < deadline:
            phase = "training" if len(screen.view.train_loss) else "starting"
            probe = make_probe(app, keys[count % len(keys)], phase)
            count += 1
            while probe.latency is None and \
                    time.perf_counter() - probe.started < MISS_AFTER_SECONDS:
                await asyncio.sleep(0.002)
            app.probe = None
            if probe.latency is None:
                results.missed[phase] = results.missed.get(phase, 0) + 1
                # Put the screen back in a known state before the next key.
                await asyncio.sleep(0.5)
            else:
                results.by_phase.setdefault(phase, []).append(probe.latency)
                if phase == "training":
                    results.by_key.setdefault(probe.key, []).append(probe.latency)
                    progress = screen.view.progress()
                    where = f"epoch {progress.epoch} step {progress.step_in_epoch}"
                    results.slowest.append((probe.latency, probe.key, where))
            rest = interval - (time.perf_counter() - probe.started)
            if rest > 0:
                await asyncio.sleep(rest)
        results.frames = app.frames
        status = screen.view.status
        app.exit(0)
    print(f"run ended: {status}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "quickstart.toml")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between keys")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="densexp-keys-") as tmp:
        from densexp_tui.engine.logcapture import redirect_fd2_for_process

        # As the app does: library output goes to a log, not between the figures.
        redirect_fd2_for_process(Path(tmp) / "process.log")
        launch = write_config(args.config, args.overrides, Path(tmp))
        started = time.perf_counter()
        results = asyncio.run(measure(launch, Path(tmp) / "runs", args.interval))
        wall = time.perf_counter() - started
    print(f"key -> frame latency, {args.config.name}"
          f"{' ' + ' '.join(args.overrides) if args.overrides else ''}, headless 120x40, "
          f"a key every {args.interval * 1000:.0f} ms, {results.frames} frames in {wall:.1f} s:")
    for phase in ("starting", "training"):
        values = [v * 1000 for v in results.by_phase.get(phase, [])]
        missed = results.missed.get(phase, 0)
        if not values:
            print(f"  {phase:<9} no keys measured (missed {missed})")
            continue
        p95 = percentile(values, 0.95)
        verdict = "" if phase != "training" else \
            ("  OK" if p95 < TARGET_P95_MS else "  OVER TARGET")
        print(f"  {phase:<9} {len(values):4d} keys  median {statistics.median(values):6.1f} ms"
              f"  p95 {p95:6.1f} ms  max {max(values):6.1f} ms  missed {missed}{verdict}")
    for key, latencies in sorted(results.by_key.items()):
        values = [v * 1000 for v in latencies]
        print(f"    training, key {key!r}: {len(values)} keys  median "
              f"{statistics.median(values):6.1f} ms  p95 {percentile(values, 0.95):6.1f} ms")
    slowest = sorted(results.slowest, reverse=True)[:5]
    print("    slowest (training): " + ", ".join(
        f"{seconds * 1000:.0f} ms {key!r} at {where}" for seconds, key, where in slowest))


if __name__ == "__main__":
    main()
