"""A TensorFlow-free stand-in for engine.trainer.train, for fast tests of the sweep loop.

It writes the same run directory a real run has (events, summary), reports one epoch event
per epoch with a validation F1 that is a smooth function of the learning rate (best near
1e-2.5) and rises with the epoch, honours ``cancel`` between epochs like the real trainer
does between batches, and sleeps a little per epoch so parallel workers overlap.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from densexp_tui.core.config import RunConfig, resolve_paths
from densexp_tui.core.events import Event
from densexp_tui.core.runstore import RunHandle, RunStore

EPOCH_SECONDS = float(os.environ.get("FAKE_EPOCH_SECONDS", "0.05"))
# Tests may hook the end of each epoch (e.g. to ask for a stop at a known point).
AFTER_EPOCH: Callable[[int], None] | None = None


@dataclass
class FakeResult:
    run_id: str
    status: str
    best_epoch: int | None
    best: dict[str, Any] | None
    test: dict[str, Any] | None
    duration: float
    message: str = ""


def score(cfg: RunConfig, epoch: int) -> float:
    """Validation F1 of a fake run: best at learning_rate 10**-2.5, grows with epochs."""
    distance = abs(math.log10(cfg.train.learning_rate) + 2.5)
    return round(max(0.0, 0.95 - 0.25 * distance) * (1 - 0.5 ** epoch), 6)


def fake_train(cfg: RunConfig, store: RunStore, *, cancel: threading.Event | None = None,
               on_event: Callable[[Event], None] | None = None,
               handle: RunHandle | None = None) -> FakeResult:
    cancel = cancel or threading.Event()
    started = time.time()
    handle = handle or store.create_run(resolve_paths(cfg))
    handle.start_heartbeat()

    def emit(kind: str, **fields: Any) -> None:
        event = handle.events.append(kind, **fields)
        if on_event is not None:
            on_event(event)

    # What the real trainer records about devices: a --gpus worker sees only its own GPU.
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    handle.update_summary(visible_gpus=visible, replicas=["cpu:0"])
    emit("run_started", run_id=handle.run_id, name=cfg.run.name, epochs=cfg.train.epochs,
         visible_gpus=visible, worker_pid=os.getpid())
    status, message, best, best_epoch = "completed", "", None, None
    for epoch in range(1, cfg.train.epochs + 1):
        if cancel.is_set():
            status, message = "cancelled", f"cancelled by the user (epoch {epoch})"
            break
        time.sleep(EPOCH_SECONDS)
        f1 = score(cfg, epoch)
        val = {"loss": round(1 - f1, 6), "accuracy": f1, "f1": f1}
        if best is None or val["loss"] < best["loss"]:
            best, best_epoch = val, epoch
        handle.update_summary(epochs_done=epoch, best_epoch=best_epoch, best=best)
        if AFTER_EPOCH is not None:
            AFTER_EPOCH(epoch)
        emit("epoch", epoch=epoch, train={"loss": 1.0, "accuracy": 0.5}, val=val,
             best_epoch=best_epoch)
    test = dict(best) if status == "completed" and best else None
    duration = round(time.time() - started, 3)
    emit("run_finished", status=status, best_epoch=best_epoch, best=best, test=test,
         duration=duration, message=message)
    handle.update_summary(status=status, message=message, test=test or {}, duration=duration,
                          finished=time.time())
    handle.close()
    return FakeResult(handle.run_id, status, best_epoch, best, test, duration, message)
