"""Fixed, realistic run directories for the dashboard, replay and compare tests.

``python -m tests.tui.helpers_dashboard`` rewrites tests/data/runs/ from the two specs below;
the output is byte-for-byte the same every time (fixed times, seeded noise), so snapshot
tests can rely on it. Tests that append to a log build their own run in a temp dir with
``write_run_dir`` and ``synthetic_events``.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from densexp_tui.core.config import RunConfig, apply_overrides, config_hash, dumps_config
from densexp_tui.core.events import Event
from densexp_tui.core.runstore import RunStore
from densexp_tui.tui import navigation
from densexp_tui.tui.dialogs import ErrorDialog

DATA_RUNS = Path(__file__).resolve().parent.parent / "data" / "runs"
LABELS = ["negative", "neutral", "positive"]


@dataclass
class RunSpec:
    """What a synthetic run looks like."""

    run_id: str
    overrides: list[str]
    start_time: float
    epochs: int = 5
    steps_per_epoch: int = 120
    log_every: int = 4
    seconds_per_step: float = 0.25
    learn_speed: float = 1.0  # how fast loss falls (a higher learning rate learns faster)
    seed: int = 7
    patience: int = 2
    # tiny-bert with 3 labels, fine-tuned in full: every weight trains (as the trainer counts).
    params: dict[str, int] = field(default_factory=lambda: {"trainable": 107_331,
                                                             "total": 107_331})
    val_size: int = 360

    def config(self) -> RunConfig:
        return apply_overrides(RunConfig(), self.overrides)


QUICKSTART = RunSpec(
    run_id="20250101-100000-quickstart-a1b2c3",
    overrides=["run.name=quickstart", "train.epochs=5", "train.log_every_steps=4",
               "train.early_stopping_patience=2"],
    start_time=1_735_725_600.0,
)
LORA_FAST = RunSpec(
    run_id="20250101-110000-lora-fast-d4e5f6",
    overrides=["run.name=lora-fast", "train.epochs=5", "train.log_every_steps=4",
               "train.early_stopping_patience=2", "train.learning_rate=0.001",
               "train.batch_size=16", "model.finetune=lora"],
    start_time=1_735_729_200.0,
    learn_speed=1.6,
    seed=11,
    # LoRA r=8 on query+value adds 4,096 weights; they and the 195-weight head train.
    params={"trainable": 4_291, "total": 111_427},
)
FIXED_SPECS = (QUICKSTART, LORA_FAST)


def train_loss_at(spec: RunSpec, progress: float, rng: random.Random) -> float:
    """A falling, noisy training loss; progress is in epochs (0..epochs)."""
    return 1.1 * math.exp(-1.3 * spec.learn_speed * progress) + 0.22 + rng.gauss(0, 0.035)


def confusion_for(accuracy: float, per_class: int) -> list[list[int]]:
    """A confusion matrix with about ``accuracy`` on the diagonal; neutral is the hard one."""
    difficulty = [0.9, 1.4, 0.8]  # errors relative to the average
    matrix = []
    for row, weight in enumerate(difficulty):
        wrong = min(per_class, round(per_class * (1 - accuracy) * weight))
        right = per_class - wrong
        cells = [0] * 3
        cells[row] = right
        others = [c for c in range(3) if c != row]
        cells[others[0]] = wrong * 2 // 3
        cells[others[1]] = wrong - wrong * 2 // 3
        matrix.append(cells)
    return matrix


def metrics_from_confusion(matrix: list[list[int]], loss: float) -> dict[str, Any]:
    """METRICS (see contracts.md) computed from a confusion matrix."""
    per_class: dict[str, dict[str, float]] = {}
    total = sum(map(sum, matrix))
    for index, label in enumerate(LABELS):
        true_pos = matrix[index][index]
        predicted = sum(row[index] for row in matrix)
        support = sum(matrix[index])
        precision = true_pos / predicted if predicted else 0.0
        recall = true_pos / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": round(precision, 4), "recall": round(recall, 4),
                            "f1": round(f1, 4), "support": support}
    macro = {k: round(sum(c[k] for c in per_class.values()) / len(per_class), 4)
             for k in ("precision", "recall", "f1")}
    accuracy = sum(matrix[i][i] for i in range(len(matrix))) / total
    return {"loss": round(loss, 4), "accuracy": round(accuracy, 4), **macro,
            "per_class": per_class, "confusion": matrix, "labels": list(LABELS)}


def synthetic_events(spec: RunSpec) -> list[Event]:
    """The whole event stream of a finished run, with fixed times."""
    rng = random.Random(spec.seed)
    cfg = spec.config()
    clock = spec.start_time
    events: list[Event] = []

    def emit(kind: str, **data: Any) -> None:
        events.append(Event(seq=len(events) + 1, time=round(clock, 3), kind=kind, data=data))

    emit("run_started", run_id=spec.run_id, name=cfg.run.name, config_hash=config_hash(cfg),
         device="cpu", labels=list(LABELS), sizes={"train": 3840, "val": spec.val_size,
                                                   "test": spec.val_size},
         params=spec.params, epochs=spec.epochs, steps_per_epoch=spec.steps_per_epoch,
         batch_size=cfg.train.batch_size, finetune=cfg.model.finetune, model=cfg.model.name,
         arch="TFBertForSequenceClassification", dataset=cfg.data.name, split_note="")
    emit("status", status="running", message="")  # as the trainer writes after run_started
    best_epoch, best_loss, patience_left = 0, float("inf"), spec.patience
    best_metrics: dict[str, Any] = {}
    for epoch in range(1, spec.epochs + 1):
        # Keras reports running means over the epoch so far, as the trainer's step events do.
        loss_sum = accuracy_sum = 0.0
        for step_in_epoch in range(1, spec.steps_per_epoch + 1):
            clock += spec.seconds_per_step
            step = (epoch - 1) * spec.steps_per_epoch + step_in_epoch
            progress = step / spec.steps_per_epoch
            batch_loss = train_loss_at(spec, progress, rng) + rng.gauss(0, 0.06)
            loss_sum += batch_loss
            accuracy_sum += min(0.99, max(0.3, 1.02 - 0.55 * batch_loss + rng.gauss(0, 0.03)))
            if step_in_epoch % spec.log_every:
                continue
            emit("step", epoch=epoch, step=step, loss=round(loss_sum / step_in_epoch, 4),
                 accuracy=round(accuracy_sum / step_in_epoch, 4),
                 learning_rate=round(cfg.train.learning_rate * (1 - progress / spec.epochs), 8),
                 samples_per_sec=round(128 + rng.gauss(0, 3), 1))
        clock += 3.0  # validation pass
        val_loss = 1.1 * math.exp(-1.3 * spec.learn_speed * epoch) + 0.3 + 0.02 * max(
            0, epoch - 3) ** 2
        val_accuracy = min(0.97, 1.0 - 0.62 * val_loss)
        val = metrics_from_confusion(confusion_for(val_accuracy, spec.val_size // 3), val_loss)
        if val_loss < best_loss:
            best_epoch, best_loss, patience_left, best_metrics = epoch, val_loss, spec.patience, val
        else:
            patience_left -= 1
        train_loss = train_loss_at(spec, epoch - 0.5, random.Random(epoch))
        emit("epoch", epoch=epoch,
             train={"loss": round(train_loss, 4), "accuracy": round(1.02 - 0.55 * train_loss, 4)},
             val=val, best_epoch=best_epoch, patience_left=patience_left,
             elapsed=round(clock - spec.start_time, 3))
    clock += 3.0
    test = metrics_from_confusion(confusion_for(best_metrics["accuracy"] - 0.01,
                                                spec.val_size // 3), best_loss + 0.02)
    emit("test", **test, report="(classification report)")
    clock += 0.5
    emit("status", status="completed", message="")  # the trainer's closing status event
    emit("run_finished", status="completed", best_epoch=best_epoch, best=best_metrics,
         test=test, duration=round(clock - spec.start_time, 3), message="")
    return events


def summary_for(spec: RunSpec, events: list[Event]) -> dict[str, Any]:
    """summary.json as the trainer leaves it after a completed run."""
    cfg = spec.config()
    finished = events[-1]
    best = finished.data["best"]
    test = finished.data["test"]
    return {
        "run_id": spec.run_id, "name": cfg.run.name, "status": "completed",
        "dataset": cfg.data.name, "model": cfg.model.name, "finetune": cfg.model.finetune,
        "started": spec.start_time, "finished": finished.time,
        "duration": finished.data["duration"], "best_epoch": finished.data["best_epoch"],
        "best": {k: best[k] for k in ("loss", "accuracy", "f1")},
        "test": {k: test[k] for k in ("loss", "accuracy", "f1")},
        "params": spec.params, "epochs_done": spec.epochs, "epochs": spec.epochs,
        "pid": None, "pid_started": None, "host": "fixture-host", "heartbeat": finished.time,
        "parent": "", "sweep": "", "trial": -1, "config_hash": config_hash(cfg),
        "message": "", "reused_from": "",
    }


def write_run_dir(root: Path, spec: RunSpec, events: list[Event] | None = None,
                  summary: dict[str, Any] | None = None) -> Path:
    """A run directory like the trainer's: config.toml, events.jsonl, summary.json, log.txt."""
    events = synthetic_events(spec) if events is None else events
    run_dir = root / spec.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.toml").write_text(dumps_config(spec.config()), encoding="utf-8")
    (run_dir / "events.jsonl").write_text(
        "".join(event.to_json() + "\n" for event in events), encoding="utf-8")
    summary = summary_for(spec, events) if summary is None else summary
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (run_dir / "log.txt").write_text(
        "loading dataset reviews (builtin)\n"
        "tokenizer: trained WordPiece, 8000 tokens\n"
        "model: tiny-bert, 4 layers\n"
        "training on cpu\n", encoding="utf-8")
    return run_dir


def write_fixed_runs(root: Path = DATA_RUNS) -> list[Path]:
    return [write_run_dir(root, spec) for spec in FIXED_SPECS]


class ScreenTestApp(App[None]):
    """A bare app that pushes one screen: the screen tests do not need the app shell.

    It implements the screens' interface (``tui.services.Workbench``): it trains nothing,
    records the runs asked for, and opens the real screens like the app does."""

    def __init__(self, make_screen: Callable[[], Screen[Any]],
                 store: RunStore | None = None) -> None:
        super().__init__()
        self._make_screen = make_screen
        self.store = store or RunStore(DATA_RUNS)
        self.last_experiment_config: RunConfig | None = None
        self.launched: list[RunConfig] = []
        self.training_busy = False

    def launch_run(self, cfg: RunConfig, *, watch: bool = True) -> None:
        self.launched.append(cfg)

    def cancel_run(self, run_id: str | None = None) -> bool:
        return False  # this app trains nothing

    def resume_run(self, run_id: str) -> None:
        raise AssertionError("ScreenTestApp cannot resume runs")

    def describe_queue(self) -> str:
        return ""

    def remember_experiment_config(self, cfg: RunConfig) -> None:
        self.last_experiment_config = cfg

    def open_run(self, run_id: str, *, live: bool) -> None:
        self.push_screen(navigation.run_screen(self.store, run_id, live=live))

    def open_new_experiment(self, config: RunConfig | None = None,
                            parent: str | None = None) -> None:
        self.push_screen(navigation.new_experiment_screen(config, parent))

    def open_compare(self, run_ids: list[str]) -> None:
        self.push_screen(navigation.compare_screen(self.store, run_ids))

    def open_sweeps(self) -> None:
        self.push_screen(navigation.sweeps_screen(self.store))

    def show_error(self, title: str, message: str, log_path: Path | None = None) -> None:
        self.push_screen(ErrorDialog(title, message, log_path))

    def compose(self) -> ComposeResult:
        yield Static("home")

    def on_mount(self) -> None:
        self.push_screen(self._make_screen())


if __name__ == "__main__":
    for path in write_fixed_runs():
        print(path)
