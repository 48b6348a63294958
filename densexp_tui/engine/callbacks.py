"""The Keras callback that turns ``fit`` into events, checkpoints and TensorBoard scalars.

It also carries the run's control flow: cancel (checked after every batch), divergence
(a NaN/inf loss stops the run and names the step), best epoch and early stopping.
Imports TensorFlow: only ``engine/trainer.py`` loads it, inside ``train()``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import tensorflow as tf
import tf_keras

from densexp_tui.core.config import TrainSection, write_text_atomic
from densexp_tui.engine.devices import load_weights
from densexp_tui.engine.optim import learning_rate_at

# Optimizer slots (Adam keeps two per weight) are written with the last checkpoint only
# below this size: tiny-bert's are a few MB, a full bert-base's ~900 MB every epoch is not
# worth it just so a later resume keeps its moments (it can start them afresh).
OPTIMIZER_STATE_MAX_BYTES = 256 * 1024 * 1024

# Room a checkpoint needs beyond its raw arrays (HDF5 headers, names, the event log).
CHECKPOINT_MARGIN_BYTES = 1024 * 1024

Emit = Callable[..., Any]


@dataclass
class Outcome:
    """What happened during ``fit``: the trainer reads it once ``fit`` returns."""

    status: str = "running"  # running | cancelled | diverged
    message: str = ""
    global_step: int = 0
    epochs_done: int = 0
    best_epoch: int | None = None
    best_score: float | None = None  # the monitored metric, sign-flipped so higher is better
    best_val: dict[str, Any] | None = None
    wait: int = 0  # epochs since the best one
    early_stopped: bool = False


def monitored_score(metric: str, val: dict[str, Any] | None, train: dict[str, Any]) -> float | None:
    """``train.early_stopping_metric`` as a higher-is-better number (train metrics when
    there is no validation split); None when it is missing or not finite."""
    key = metric.split(".", 1)[1]
    value = (val or train).get(key)
    if value is None or not math.isfinite(value):
        return None
    return -float(value) if key == "loss" else float(value)


class Checkpointer:
    """best/last weights (``model.save_weights``) and a small state file for resuming."""

    def __init__(self, directory: Path, model: Any):
        self.directory = directory
        self.model = model
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, which: str) -> Path:
        return self.directory / f"{which}.weights.h5"

    def save_weights(self, which: str) -> None:
        """Write to a temp name and rename: a crash mid-write never spoils the old file."""
        final = self.path(which)
        temp = self.directory / f".{which}.tmp.weights.h5"  # .h5 suffix selects HDF5
        self._check_room(_weights_bytes(self.model.weights))
        with _removed_on_failure(temp):
            self.model.save_weights(str(temp))
        os.replace(temp, final)

    def copy(self, source: str, target: str) -> None:
        temp = self.directory / f".{target}.tmp.weights.h5"
        self._check_room(self.path(source).stat().st_size)
        with _removed_on_failure(temp):
            shutil.copyfile(self.path(source), temp)
        os.replace(temp, self.path(target))

    def _check_room(self, needed: int) -> None:
        """Refuse a write the disk cannot hold, before HDF5 starts it: an HDF5 file that hits
        a full disk half-way is left in a state that can crash the process later."""
        free = shutil.disk_usage(self.directory).free
        if free < needed + CHECKPOINT_MARGIN_BYTES:
            raise OSError(errno.ENOSPC, f"No space left on device for a checkpoint: need "
                          f"{_mb(needed)}, {_mb(free)} free in {self.directory}")

    def save_state(self, state: dict[str, Any]) -> None:
        """state.json (+ optimizer.npz when cheap): where a resume would pick up."""
        names = self._save_optimizer()
        state = dict(state, optimizer_state="optimizer.npz" if names else None,
                     optimizer_variables=names)
        write_text_atomic(self.directory / "state.json", json.dumps(state, indent=2))

    def _save_optimizer(self) -> list[str]:
        """optimizer.npz (arrays v00000.. in ``optimizer.variables`` order); returns the
        variables' names, or [] when skipped as too big."""
        found = getattr(self.model.optimizer, "variables", None) or []
        variables = list(found() if callable(found) else found)  # a method on legacy optimizers
        size = _weights_bytes(variables)
        if not variables or size > OPTIMIZER_STATE_MAX_BYTES:
            return []
        self._check_room(size)
        arrays = {f"v{i:05d}": v.numpy() for i, v in enumerate(variables)}
        temp = self.directory / ".optimizer.tmp.npz"
        with _removed_on_failure(temp), open(temp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(temp, self.directory / "optimizer.npz")
        return [v.name for v in variables]

    def restore_best(self) -> bool:
        if not self.path("best").is_file():
            return False
        load_weights(self.model, str(self.path("best")))  # also under MirroredStrategy
        return True


def _weights_bytes(variables: list[Any]) -> int:
    return sum(int(np.prod(v.shape)) * v.dtype.size for v in variables)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@contextlib.contextmanager
def _removed_on_failure(temp: Path) -> Iterator[None]:
    """A half-written temp file (a full disk) is deleted, giving back the space the run
    needs to record that it failed."""
    try:
        yield
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class ScalarLog:
    """TensorBoard scalars under run_dir/tb/{train,val}: ``tensorboard --logdir runs`` works."""

    def __init__(self, tb_dir: Path):
        self.train = tf.summary.create_file_writer(str(tb_dir / "train"))
        self.val = tf.summary.create_file_writer(str(tb_dir / "val"))

    def step(self, step: int, values: dict[str, float | None]) -> None:
        self._write(self.train, step, values)

    def epoch(self, step: int, train: dict[str, Any], val: dict[str, Any] | None) -> None:
        # Logged at the global step, so the val curve lines up with the train curve.
        self._write(self.train, step, {f"epoch_{k}": train.get(k) for k in ("loss", "accuracy")})
        if val:
            self._write(self.val, step, {k: val.get(k) for k in ("loss", "accuracy", "f1")})
            self.val.flush()
        self.train.flush()

    @staticmethod
    def _write(writer: Any, step: int, values: dict[str, float | None]) -> None:
        with writer.as_default(step=step):
            for name, value in values.items():
                if value is not None and math.isfinite(value):
                    tf.summary.scalar(name, value)

    def close(self) -> None:
        self.train.close()
        self.val.close()


@dataclass
class CallbackSetup:
    """Everything the callback needs from the trainer, in one place."""

    emit: Emit
    train_cfg: TrainSection
    epochs: int
    steps_per_epoch: int
    n_train: int
    cancel: threading.Event
    schedule: Any
    validate: Callable[[], dict[str, Any] | None]
    checkpoints: Checkpointer
    scalars: ScalarLog
    on_epoch: Callable[[Outcome], object]  # its result is ignored
    sync: Callable[[], None]
    outcome: Outcome = field(default_factory=Outcome)
    seed: int = 0


class EventCallback(tf_keras.callbacks.Callback):
    """Step and epoch events, cancel, divergence, best/last checkpoints, early stopping."""

    def __init__(self, setup: CallbackSetup):
        super().__init__()
        # Logs arrive as tensors: no per-batch conversion of every metric to numpy.
        self._supports_tf_logs = True
        self.setup = setup
        self.outcome = setup.outcome
        self.epoch = 0
        self.started = time.monotonic()
        self._last_log_time = self.started
        self._last_log_step = 0

    # -- batches ------------------------------------------------------------------------
    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.outcome.global_step += 1
        step = self.outcome.global_step
        if self.setup.cancel.is_set():
            self._stop("cancelled", f"cancelled by the user at step {step} (epoch {self.epoch})")
            return
        logs = logs or {}
        loss = float(logs.get("loss", 0.0))  # one scalar sync per batch: cheap, and it
        # catches divergence at the very step it happens
        if not math.isfinite(loss):
            self._emit_step(step, loss, logs)
            self._stop("diverged", f"loss became {loss} at step {step} (epoch {self.epoch}); "
                       "try a lower train.learning_rate or train.grad_clip_norm > 0")
            return
        if step % self.setup.train_cfg.log_every_steps == 0:
            self._emit_step(step, loss, logs)

    def _emit_step(self, step: int, loss: float, logs: dict[str, Any]) -> None:
        now = time.monotonic()
        samples = self._samples_between(self._last_log_step, step)
        speed = samples / max(now - self._last_log_time, 1e-9)
        self._last_log_time, self._last_log_step = now, step
        accuracy = float(logs["accuracy"]) if "accuracy" in logs else None
        lr = learning_rate_at(self.setup.schedule, step - 1)
        self.setup.emit("step", epoch=self.epoch, step=step, loss=loss, accuracy=accuracy,
                        learning_rate=lr, samples_per_sec=round(speed, 2))
        self.setup.scalars.step(step, {"loss": loss, "accuracy": accuracy,
                                       "learning_rate": lr, "samples_per_sec": speed})

    def _samples_between(self, first_step: int, last_step: int) -> int:
        """Examples seen in steps (first_step, last_step]; each epoch's last batch is short."""
        per_epoch, batch = self.setup.steps_per_epoch, self.setup.train_cfg.batch_size
        total = 0
        for step in range(first_step, last_step):
            index = step % per_epoch
            total += min(batch, self.setup.n_train - index * batch)
        return total

    def _stop(self, status: str, message: str) -> None:
        self.outcome.status, self.outcome.message = status, message
        self.model.stop_training = True

    # -- epochs -------------------------------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        from densexp_tui.engine.dropout import reseed_dropout

        self.epoch = epoch + 1
        reseed_dropout(self.model, self.setup.seed, epoch)  # what makes resume exact

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.outcome.status != "running":
            return  # cancelled or diverged mid-epoch: no validation, no checkpoint
        logs = logs or {}
        train = {k: _plain(logs.get(k)) for k in ("loss", "accuracy")}
        val = self.setup.validate()
        improved = self._track_best(train, val)
        self.outcome.epochs_done = self.epoch
        self.setup.checkpoints.save_weights("last")
        if improved:
            self.setup.checkpoints.copy("last", "best")  # a file copy: one h5 write per epoch
        self._save_state()
        patience_left = self._early_stopping()
        self.setup.emit("epoch", epoch=self.epoch, train=train, val=val,
                        best_epoch=self.outcome.best_epoch, patience_left=patience_left,
                        elapsed=round(time.monotonic() - self.started, 3))
        self.setup.scalars.epoch(self.outcome.global_step, train, val)
        self.setup.on_epoch(self.outcome)
        self.setup.sync()

    def _track_best(self, train: dict[str, Any], val: dict[str, Any] | None) -> bool:
        score = monitored_score(self.setup.train_cfg.early_stopping_metric, val, train)
        best = self.outcome.best_score
        if score is not None and (best is None or score > best):
            self.outcome.best_score, self.outcome.best_epoch = score, self.epoch
            self.outcome.best_val = val if val is not None else dict(train)
            self.outcome.wait = 0
            return True
        self.outcome.wait += 1
        return False

    def _early_stopping(self) -> int | None:
        """Patience left (None when early stopping is off); stops ``fit`` when it runs out."""
        patience = self.setup.train_cfg.early_stopping_patience
        if patience <= 0:
            return None
        left = max(patience - self.outcome.wait, 0)
        if left == 0 and self.epoch < self.setup.epochs:
            self.outcome.early_stopped = True
            self.outcome.message = (f"early stopping after epoch {self.epoch}: "
                                    f"no better {self.setup.train_cfg.early_stopping_metric} "
                                    f"for {patience} epoch(s)")
            self.model.stop_training = True
        return left

    def _save_state(self) -> None:
        optimizer = self.model.optimizer
        self.setup.checkpoints.save_state({
            "epoch": self.epoch,
            "global_step": self.outcome.global_step,
            "optimizer_iterations": int(optimizer.iterations.numpy()),
            "best_epoch": self.outcome.best_epoch,
            "best_score": self.outcome.best_score,
            "best_metric": self.setup.train_cfg.early_stopping_metric,
            "wait": self.outcome.wait,
            "time": time.time(),
        })


def _plain(value: Any) -> float | None:
    """A Keras log value as a plain float (None when absent or not finite)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
