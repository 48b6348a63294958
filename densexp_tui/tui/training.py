"""Training inside the app: the FIFO queue (UI-thread state) and the worker's job.

The app owns one :class:`TrainingQueue`. Only the UI thread touches it. By default one run
trains at a time; with the user config's ``[queue] per_gpu = true`` on a machine with GPUs,
up to one per GPU trains at once, each in a ``densexp run`` process of its own
(engine/gpu_queue.py), and the worker thread only follows and signals that process. A
``cpu:N`` run (N >= 2) trains in such a process too, whatever the mode: TensorFlow splits
a process's CPU only before its first op, and the app's process may have trained already.
Otherwise the worker thread runs :func:`run_job`, which imports the trainer (and with it
TensorFlow) inside the thread, so the app starts without TensorFlow and the import stall
never blocks the screen. The worker talks back through thread-safe ``post_message`` only.

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
from typing import Any, Callable, Iterable

from textual.message import Message
from textual.worker import Worker

from densexp_tui.core.config import RunConfig
from densexp_tui.core.events import Event
from densexp_tui.core.runstore import RunStore, RunSummary
from densexp_tui.engine.gpu_queue import QueueMode, needs_a_fresh_process

Post = Callable[[Message], Any]


class TrainingStarted(Message):
    """Worker -> app only: the trainer created the run. The app then tells the screens
    (RunLaunched); a separate type keeps the screens' copies, which bubble up to the app,
    from being mistaken for news from the worker."""

    def __init__(self, run_id: str, active: ActiveJob | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.active = active  # which of the running jobs (several train in per-GPU mode)


class QueueModeFound(Message):
    """Worker -> app: the GPUs are counted; the per-GPU queue knows how many run at once."""

    def __init__(self, mode: QueueMode) -> None:
        super().__init__()
        self.mode = mode


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
    gpu: str | None = None  # per-GPU queue: its process's CUDA_VISIBLE_DEVICES
    own_process: bool = False  # trains in a `densexp run` child (a per-GPU job, cpu:N)


class TrainingQueue:
    """Runs train in order (first in, first out): one at a time, or in per-GPU mode up to one
    per GPU at once; the rest wait here."""

    def __init__(self, mode: QueueMode | None = None) -> None:
        self.pending: deque[TrainingJob] = deque()
        self.running: list[ActiveJob] = []
        self.mode = mode or QueueMode()
        # Every run this queue started: per-GPU jobs are written by processes of their own,
        # so the pid does not tell the app's runs from runs launched elsewhere.
        self.own_run_ids: set[str] = set()

    @property
    def active(self) -> ActiveJob | None:
        """The oldest running job (the only one, unless per-GPU mode runs several)."""
        return self.running[0] if self.running else None

    @property
    def busy(self) -> bool:
        return bool(self.running) or bool(self.pending)

    @property
    def full(self) -> bool:
        """A new job would wait (every slot trains, or the GPUs are still being counted)."""
        if len(self.running) >= self.mode.capacity:
            return True
        # A run training in the app's process sees every GPU (per_gpu was switched on while
        # it trained): per-GPU jobs wait for it rather than share its GPU.
        return bool(self.mode.gpus) and any(not job.own_process for job in self.running)

    def enqueue(self, job: TrainingJob) -> None:
        self.pending.append(job)

    def start_next(self) -> ActiveJob | None:
        """Make the oldest waiting job a running one (the caller starts its worker)."""
        if self.full or not self.pending:
            return None
        job = self.pending.popleft()
        fresh = needs_a_fresh_process(job.cfg)  # cpu:N: a child, but not on a GPU slot
        gpu = None if fresh else self.mode.free_gpu({job.gpu for job in self.running})
        started = ActiveJob(job, gpu=gpu, own_process=fresh or gpu is not None)
        self.running.append(started)
        return started

    def finish(self, worker: Worker[Any] | None = None) -> ActiveJob | None:
        """Forget the running job of ``worker`` (the oldest when not given); returns it."""
        for job in self.running:
            if worker is None or job.worker is worker:
                self.running.remove(job)
                return job
        return None

    def mark_started(self, job: ActiveJob, run_id: str) -> None:
        job.run_id = run_id
        self.own_run_ids.add(run_id)

    def not_own(self, summaries: Iterable[RunSummary]) -> list[RunSummary]:
        """The runs this queue did not start (the app announces its own runs' ends itself)."""
        return [summary for summary in summaries if summary.run_id not in self.own_run_ids]

    def cancel(self, run_id: str | None = None) -> bool:
        """Ask the job training ``run_id`` (or the oldest) to stop; False if none trains it."""
        for job in self.running:
            if run_id is None or job.run_id == run_id:
                job.cancel.set()
                return True
        return False

    def cancel_all(self) -> None:
        self.pending.clear()
        for job in self.running:
            job.cancel.set()

    def quit_question(self) -> str:
        """What quitting would stop: "x is training (1 queued run will not start).\n..."."""
        names = [job.job.name for job in self.running]
        waiting = len(self.pending)
        more = f" ({waiting} queued run{'s' * (waiting != 1)} will not start)" if waiting else ""
        if not names:  # per-GPU mode, still counting the GPUs: nothing trains yet
            return (f"{waiting} run{'s' * (waiting != 1)} waiting in the queue "
                    "(the GPUs are being counted).\nQuit anyway?")
        training = f"{names[0]} is" if len(names) == 1 else f"{len(names)} runs are"
        them = "it" if len(names) == 1 else "them"
        return f"{training} training{more}.\nCancel {them} and quit?"

    def describe(self) -> str:
        """One line for the runs screen: what trains, what waits, how many run at once."""
        parts = []
        for job in self.running:
            state = "training" if job.run_id else "starting (loading data, building model)"
            where = (f" on GPU {job.gpu}" if job.gpu is not None
                     else " in its own process" if job.own_process else "")
            parts.append(f"▶ {job.job.name}: {state}{where}")
        if self.pending:
            names = ", ".join(job.name for job in self.pending)
            parts.append(f"Queued: {len(self.pending)} ({names})")
        if self.mode.describe():
            parts.append(self.mode.describe())
        return " · ".join(parts)


def run_job(job: TrainingJob, store: RunStore, active: ActiveJob, post: Post) -> Any:
    """The worker's body: train ``job`` and return the trainer's RunResult.

    Raises BadInput when the config cannot run (nothing was created); the app's single
    worker-state handler turns that, and any other exception, into a message for the user.
    Reads only the thread-safe parts of ``active`` (its Events).
    """
    try:
        if active.own_process:
            return _train_in_its_own_process(job, store, active, post)
        return _train_or_resume(job, store, active, post)
    finally:
        gc.unfreeze()  # frozen objects are never collected: let this run's model go
        active.done.set()


def _train_in_its_own_process(job: TrainingJob, store: RunStore, active: ActiveJob,
                              post: Post) -> Any:
    """A `densexp run` (or `densexp resume`) child trains the job: in per-GPU mode it sees
    only ``active.gpu``; a cpu:N job (gpu None) sees what the app sees. No TensorFlow in the
    app, so nothing to freeze; this thread follows and signals the child."""
    from densexp_tui.engine.gpu_queue import train_in_process_of_its_own

    return train_in_process_of_its_own(
        job.cfg, store, active.gpu, active.cancel,
        lambda run_id: post(TrainingStarted(run_id, active)), resume_id=job.resume_id)


def _train_or_resume(job: TrainingJob, store: RunStore, active: ActiveJob,
                     post: Post) -> Any:
    cancel = active.cancel
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
            post(TrainingStarted(run_id, active))

    if job.resume_id:
        from densexp_tui.engine import resume as resume_module  # TensorFlow loads in the thread

        return resume_module.resume(job.resume_id, store, cancel=cancel, on_event=on_event)
    from densexp_tui.engine.trainer import train  # heavy: TensorFlow loads here, in the thread

    return train(job.cfg, store, cancel=cancel, on_event=on_event)
