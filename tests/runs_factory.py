"""Many realistic run directories, fast: the files are written directly (no trainer, no TOML
round trip per run), so 100,000 runs take about a minute rather than hours.

Used by the scale tests (a few thousand runs) and by ``bench/many_runs.py`` (up to 100,000).
Every run has config.toml, summary.json and a small events.jsonl (run_started, steps, one
epoch per epoch with validation metrics, test, run_finished), so listing, showing, comparing
and replaying all work on them.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING

from densexp_tui.core.config import (
    RunConfig,
    apply_overrides,
    config_hash,
    dumps_config,
)

if TYPE_CHECKING:
    import pytest

    from densexp_tui.core.runstore import RunStore

# 2025-03-01 09:00:00 UTC; run i starts i minutes later, so ids sort by creation.
BASE_TIME = 1_740_819_600.0
MODELS = ("tiny-bert", "mlp")
DATASETS = ("reviews", "iris", "wine")
FINETUNES = ("full", "head", "lora", "bitfit")
STATUSES = ("completed",) * 8 + ("failed", "cancelled", "diverged")
LEARNING_RATES = (1e-4, 3e-4, 5e-4, 1e-3)
LABELS = ["negative", "neutral", "positive"]


def _configs() -> dict[tuple[str, str, str, float, int], tuple[str, str]]:
    """Config TOML text and hash per combination (a few dozen, built once)."""
    table = {}
    for model in MODELS:
        for dataset in DATASETS:
            for finetune in FINETUNES if model != "mlp" else ("full",):
                for lr in LEARNING_RATES:
                    for seed in (1, 2, 3):
                        cfg = apply_overrides(RunConfig(), [
                            f"data.name={dataset}", f"model.name={model}",
                            f"model.finetune={finetune}", f"train.learning_rate={lr}",
                            f"run.seed={seed}", "train.epochs=3"])
                        table[(model, dataset, finetune, lr, seed)] = (dumps_config(cfg),
                                                                      config_hash(cfg))
    return table


def _events(run_id: str, name: str, started: float, accuracy: float, status: str) -> str:
    lines = [{"kind": "run_started", "run_id": run_id, "name": name, "device": "cpu",
              "labels": LABELS, "sizes": {"train": 800, "val": 100, "test": 100},
              "params": {"trainable": 107_331, "total": 107_331}, "epochs": 3,
              "steps_per_epoch": 4, "batch_size": 32}]
    for epoch in (1, 2, 3):
        for step in range(1, 5):
            lines.append({"kind": "step", "epoch": epoch, "step": (epoch - 1) * 4 + step,
                          "loss": 1.2 - 0.05 * step * epoch, "accuracy": 0.4 + 0.03 * epoch,
                          "learning_rate": 5e-4, "samples_per_sec": 120.0})
        val = {"loss": 1.0 - 0.1 * epoch, "accuracy": accuracy - 0.05 * (3 - epoch),
               "f1": accuracy - 0.06 * (3 - epoch),
               "confusion": [[30, 2, 1], [3, 28, 2], [1, 2, 31]], "labels": LABELS}
        lines.append({"kind": "epoch", "epoch": epoch, "train": {"loss": 0.9, "accuracy": 0.6},
                      "val": val, "best_epoch": epoch, "patience_left": None,
                      "elapsed": 10.0 * epoch})
    lines.append({"kind": "test", "loss": 0.7, "accuracy": accuracy - 0.01,
                  "f1": accuracy - 0.02})
    lines.append({"kind": "run_finished", "status": status, "best_epoch": 3,
                  "duration": 30.0})
    out = []
    for seq, line in enumerate(lines, 1):
        record = {"v": 1, "seq": seq, "time": started + seq, **line}
        out.append(json.dumps(record, separators=(",", ":")))
    return "\n".join(out) + "\n"


def generate_runs(root: Path, count: int, *, seed: int = 0, start_index: int = 0,
                  groups_every: int = 0) -> list[str]:
    """Write ``count`` finished runs under ``root``; returns their ids (oldest first).

    ``groups_every``: when > 0, every block of three consecutive runs shares one seed group
    (seeds 1, 2, 3) for one run in ``groups_every``."""
    rng = random.Random(seed)
    configs = _configs()
    root.mkdir(parents=True, exist_ok=True)
    ids = []
    for offset in range(count):
        index = start_index + offset
        model, dataset = rng.choice(MODELS), rng.choice(DATASETS)
        finetune = rng.choice(FINETUNES) if model != "mlp" else "full"
        lr = rng.choice(LEARNING_RATES)
        run_seed = index % 3 + 1
        group = ""
        if groups_every and (index // 3) % groups_every == 0:
            group = f"grp-{index // 3}"
        status = rng.choice(STATUSES)
        accuracy = round(rng.uniform(0.5, 0.95), 4)
        name = f"{model}-{dataset}-{index}"
        started = BASE_TIME + index * 60
        stamp = _stamp(started)
        run_id = f"{stamp}-{name}-{index:06x}"
        text, digest = configs[(model, dataset, finetune, lr, run_seed)]
        summary = {
            "run_id": run_id, "name": name, "status": status, "dataset": dataset,
            "model": model, "finetune": finetune, "started": started,
            "finished": started + 30.0, "duration": 30.0, "best_epoch": 3,
            "best": {"loss": 0.7, "accuracy": accuracy, "f1": round(accuracy - 0.01, 4)},
            "test": {"loss": 0.7, "accuracy": accuracy - 0.01, "f1": accuracy - 0.02},
            "params": {"trainable": 107_331, "total": 107_331}, "epochs_done": 3,
            "epochs": 3, "pid": None, "pid_started": None, "host": "generator",
            "heartbeat": started + 30.0, "parent": "", "sweep": "", "trial": -1,
            "config_hash": digest, "message": "", "reused_from": "", "group": group,
        }
        folder = root / run_id
        os.mkdir(folder)
        _write(folder / "config.toml", text)
        _write(folder / "summary.json", json.dumps(summary, indent=2))
        _write(folder / "events.jsonl", _events(run_id, name, started, accuracy, status))
        ids.append(run_id)
    return ids


def _stamp(seconds: float) -> str:
    import time

    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(seconds))


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def count_index_updates(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The ``full`` flag of every update of ``store``'s index done in this process, as it
    happens: tests of the child processes (core/runcheck.py, core/namesync.py) check that
    the work went there."""
    calls: list[bool] = []
    real = store.index.update

    def update(full: bool = True) -> int:
        calls.append(full)
        return real(full)
    monkeypatch.setattr(store.index, "update", update)
    return calls
