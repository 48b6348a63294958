"""Do the levers against overfitting help on a small-data regime? Printed, never asserted.

    PYTHONPATH=. .venv/bin/python bench/overfitting.py [--seeds 1,2,3] [--epochs 10]
        [--split-seed 0] [--only plain]

Regime: the built-in reviews set cut to ``--samples`` rows (60% train, 20% val, 20% test),
tiny-bert, enough epochs at a high learning rate for the train/val gap to open. Conditions,
each over the same seeds, all on one split (``data.split_seed = --split-seed``, so the seeds
vary init, shuffling and dropout only): plain, augmentation, label smoothing, FGM (at the
default epsilon), and an ensemble. Printed per condition: best-epoch val F1 and test F1
(mean ± std over seeds) and the train-val accuracy gap at the last epoch, then each lever
against plain with ``densexp compare``'s group test (seeds as samples, Welch).

The ensemble is the plain runs of the seeds (they share the fixed split): its figure is test
F1 only (it averages test probabilities), with the paired comparison against its best member.
``--only plain`` trains just the plain runs and the ensemble.

All runs train in this one process (one TensorFlow start-up); machine time ~15 minutes on
2 shared cores. Figures depend on the machine's load: compare within one run of the script.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LEVERS: dict[str, list[str]] = {
    "plain": [],
    "augment": ['data.augment=["swap","delete","insert"]', "data.augment_prob=0.1"],
    "smoothing": ["train.label_smoothing=0.1"],
    "fgm": ["train.adversarial=fgm"],
}


def base_overrides(args: argparse.Namespace) -> list[str]:
    return [f"data.max_samples={args.samples}", "data.val_fraction=0.2",
            "data.test_fraction=0.2", "data.max_length=48", f"train.epochs={args.epochs}",
            f"train.learning_rate={args.lr}", "train.batch_size=32", "train.log_every_steps=5",
            "train.early_stopping_patience=0", "device.device=cpu",
            f"data.split_seed={args.split_seed}"]


def train_one(store: Any, overrides: list[str]) -> Any:
    from densexp_tui.core.config import RunConfig, apply_overrides
    from densexp_tui.engine.trainer import train

    cfg = apply_overrides(RunConfig(), overrides)
    return train(cfg, store)


def last_epoch_gap(run_dir: Path) -> float | None:
    """Train accuracy minus val accuracy at the last epoch (Keras' running train mean)."""
    from densexp_tui.core.events import read_events

    epochs = [e.data for e in read_events(run_dir / "events.jsonl").events if e.kind == "epoch"]
    if not epochs or not epochs[-1].get("val"):
        return None
    last = epochs[-1]
    return float(last["train"]["accuracy"]) - float(last["val"]["accuracy"])


def mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated conditions to train")
    parser.add_argument("--runs-dir", default="")
    parser.add_argument("--summarize-only", action="store_true",
                        help="train nothing: print the figures of the bench runs already in "
                             "--runs-dir (e.g. after an interrupted bench)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]

    from densexp_tui.core.comparing import compare
    from densexp_tui.core.ensemble import make_ensemble
    from densexp_tui.core.runstore import RunStore

    store = RunStore(args.runs_dir or tempfile.mkdtemp(prefix="levers-bench-"))
    if args.summarize_only:
        return summarize_store(store, seeds)
    print(f"runs in {store.root}; seeds {seeds}; {args.samples} rows (60/20/20), tiny-bert, "
          f"{args.epochs} epochs, lr {args.lr:g}", flush=True)
    levers = {name: extra for name, extra in LEVERS.items()
              if not args.only or name in args.only.split(",") or name == "plain"}
    results: dict[str, list[Any]] = {name: [] for name in levers}
    started = time.monotonic()
    for seed in seeds:
        for name, extra in levers.items():
            t0 = time.monotonic()
            result = train_one(store, base_overrides(args) + extra + [
                f"run.seed={seed}", f"run.name=bench-{name}-s{seed}", f"run.group=bench-{name}"])
            results[name].append(result)
            print(f"  {name:<10} seed {seed}: {result.status}, val F1 "
                  f"{(result.best or {}).get('f1', float('nan')):.3f}, "
                  f"{time.monotonic() - t0:.0f} s", flush=True)
    ensemble = make_ensemble(store, [r.run_id for r in results["plain"]],
                             name="bench-ensemble-plain")
    print(f"  ensemble of the plain seeds: test F1 {ensemble.test['f1']:.3f}", flush=True)

    print(f"\nmachine time {time.monotonic() - started:.0f} s (2 shared cores, other load)\n")
    print(f"{'condition':<12} {'val F1':>15} {'test F1':>15} {'train-val acc gap':>19}")
    for name, runs in results.items():
        done = [r for r in runs if r.status == "completed" and r.best and r.test]
        gaps = [g for g in (last_epoch_gap(r.run_dir) for r in done) if g is not None]
        print(f"{name:<12} {mean_std([r.best['f1'] for r in done]):>15} "
              f"{mean_std([r.test['f1'] for r in done]):>15} {mean_std(gaps):>19}")
    print(f"{f'ensemble({len(seeds)})':<12} {'-':>15} {ensemble.test['f1']:>15.3f} {'-':>19}")
    print("\neach lever against plain, test F1, seeds as samples (densexp compare):")
    for name in levers:
        if name != "plain":
            report = compare(store, "bench-plain", f"bench-{name}", "test.f1")
            print(f"  {name:<10} {report.comparison.sentence}")
    print(f"\nensemble against its best member ({ensemble.best_member}, test F1 "
          f"{ensemble.best_member_test['f1']:.3f}), paired over test examples:")
    print(f"  {ensemble.comparison.sentence}")
    return 0


def summarize_store(store: Any, seeds: list[int]) -> int:
    """The figures from the bench runs found in ``store`` (completed ones only)."""
    from densexp_tui.core.comparing import compare, load_run_predictions
    from densexp_tui.core.significance import paired_comparison

    runs = {run.name: run for run in store.list_runs() if run.status == "completed"}
    print(f"{'condition':<12} {'n':>2} {'val F1':>15} {'test F1':>15} {'train-val acc gap':>19}")
    for name in LEVERS:
        done = [runs[f"bench-{name}-s{s}"] for s in seeds if f"bench-{name}-s{s}" in runs]
        gaps = [g for g in (last_epoch_gap(store.run_dir(r.run_id)) for r in done)
                if g is not None]
        print(f"{name:<12} {len(done):>2} {mean_std([r.best['f1'] for r in done]):>15} "
              f"{mean_std([r.test['f1'] for r in done]):>15} {mean_std(gaps):>19}")
    ensembles = [runs[name] for name in ("bench-ensemble-plain",) if name in runs]
    print(f"{'ensemble':<12} {len(ensembles):>2} {'-':>15} "
          f"{mean_std([e.test['f1'] for e in ensembles]):>15} {'-':>19}")
    print("\neach lever against plain, test F1, seeds as samples (densexp compare):")
    for name in LEVERS:
        group = [s for s in seeds if f"bench-{name}-s{s}" in runs]
        if name != "plain" and len(group) >= 2:
            report = compare(store, "bench-plain", f"bench-{name}", "test.f1")
            print(f"  {name:<10} {report.comparison.sentence}")
    print("\nensemble against its best member, paired over test examples:")
    for ensemble in ensembles:
        members = [store.get(m) for m in ensemble.members]
        best = max(members, key=lambda run: run.test.get("f1") or 0.0)
        result = paired_comparison(load_run_predictions(store, best),
                                   load_run_predictions(store, ensemble), "f1")
        print(f"  {ensemble.name}: {result.sentence}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
