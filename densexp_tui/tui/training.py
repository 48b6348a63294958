"""Training inside the app: the FIFO queue (UI-thread state) and the worker's job.

The app owns one :class:`TrainingQueue`. Only the UI thread touches it. The worker thread
runs :func:`run_job`, which imports the trainer (and with it TensorFlow) inside the thread,
so the app starts without TensorFlow and the import stall never blocks the screen. The
worker talks back through thread-safe ``post_message`` only.

Garbage collection: once TensorFlow, transformers and the model are loaded the process holds
about half a million objects, and each full (generation 2) collection walks them all while
holding the GIL: ~200 ms, several times a run, on whichever thread allocates at the moment,
often the UI thread in the middle of drawing a frame (measured with bench/keypress_latency.py:
tab switches took ~300 ms instead of ~30). So when the run starts everything alive is frozen
(``gc.freeze``: no longer scanned; full collections then take a few ms) and unfrozen when the
run ends, so that the run's own cyclic garbage (the model) can still be collected.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from textual.message import Message
from textual.worker import Worker

from densexp_tui.core.config import RunConfig
from densexp_tui.core.events import Event
from densexp_tui.core.runstore import RunStore

Post = Callable[[Message], Any]


class TrainingStarted(Message):
    """Worker -> app only: the trainer created the run. The app then tells the screens
    (RunLaunched); a separate type keeps the screens' copies, which bubble up to the app,
    from being mistaken for news from the worker."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id


@dataclass
class TrainingJob:
    """A run the user asked for; ``watch``: open its dashboard once it starts."""

    cfg: RunConfig
    watch: bool = True
    resume_id: str = ""  # set: continue this run from its checkpoint instead of a new run

    @property
    def name(self) -> str:
        return self.cfg.run.name


@dataclass
class ActiveJob:
    """The job the worker is training now."""

    job: TrainingJob
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)  # set when the thread ends
    worker: Worker[Any] | None = None
    run_id: str | None = None  # known once the trainer created the run (run_started)


class TrainingQueue:
    """One run trains at a time; the rest wait here in order (first in, first out)."""

    def __init__(self) -> None:
        self.pending: deque[TrainingJob] = deque()
        self.active: ActiveJob | None = None

    @property
    def busy(self) -> bool:
        return self.active is not None or bool(self.pending)

    def enqueue(self, job: TrainingJob) -> None:
        self.pending.append(job)

    def start_next(self) -> ActiveJob | None:
        """Make the oldest waiting job the active one (the caller starts its worker)."""
        if self.active is not None or not self.pending:
            return None
        self.active = ActiveJob(self.pending.popleft())
        return self.active

    def finish(self) -> ActiveJob | None:
        """Forget the active job; returns it."""
        done, self.active = self.active, None
        return done

    def describe(self) -> str:
        """One line for the runs screen: what trains and what waits."""
        parts = []
        if self.active is not None:
            state = "training" if self.active.run_id else "starting (loading data, building model)"
            parts.append(f"▶ {self.active.job.name}: {state}")
        if self.pending:
            names = ", ".join(job.name for job in self.pending)
            parts.append(f"Queued: {len(self.pending)} ({names})")
        return " · ".join(parts)


def run_job(job: TrainingJob, store: RunStore, active: ActiveJob, post: Post) -> Any:
    """The worker's body: train ``job`` and return the trainer's RunResult.

    Raises BadInput when the config cannot run (nothing was created); the app's single
    worker-state handler turns that, and any other exception, into a message for the user.
    Reads only the thread-safe parts of ``active`` (its Events).
    """
    try:
        return _train_or_resume(job, store, active.cancel, post)
    finally:
        gc.unfreeze()  # frozen objects are never collected: let this run's model go
        active.done.set()


def _train_or_resume(job: TrainingJob, store: RunStore, cancel: threading.Event,
                     post: Post) -> Any:
    reported: list[str] = []

    def on_event(event: Event) -> None:
        # Runs on this thread for every event: post once, when the run exists; the dashboard
        # follows events.jsonl itself, so step events need no message.
        starts = event.kind == "run_started" or (
            event.kind == "status" and event.get("status") == "resumed")
        if starts and not reported:
            run_id = str(event.get("run_id", "") or job.resume_id)
            reported.append(run_id)
            gc.freeze()  # TensorFlow and the model are loaded: see the module docstring
            post(TrainingStarted(run_id))

    if job.resume_id:
        from densexp_tui.engine import resume as resume_module  # TensorFlow loads in the thread

        return resume_module.resume(job.resume_id, store, cancel=cancel, on_event=on_event)
    from densexp_tui.engine.trainer import train  # heavy: TensorFlow loads here, in the thread

    return train(job.cfg, store, cancel=cancel, on_event=on_event)
