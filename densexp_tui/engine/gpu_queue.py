"""The app's runs that train in a ``densexp run`` process of their own: one job per GPU (each
child sees only its GPU, ``CUDA_VISIBLE_DEVICES``), and every ``cpu:N`` run (N >= 2).

Why processes: several training threads in the app's one process would share Keras' global
state (the session, layer name counters, mixed precision policy) and the process-wide log
capture, so each parallel job is an ordinary ``densexp run`` (or ``densexp resume``) child,
exactly as ``densexp sweep --gpus`` runs one worker per GPU (sweep/workers.py chooses the
CUDA_VISIBLE_DEVICES values here too). A ``cpu:N`` run splits the CPU into N logical
devices, which TensorFlow allows only before a process's first op: the app's process may
have trained already, and a split made there would stay for every later run, so it too
trains in a fresh child (its environment the app's own: no GPU chosen for it). The app
follows such a run through its events.jsonl like any run started elsewhere, and stops it
with one SIGINT, which the child turns into a clean 'cancelled' end (events, best
checkpoint and log kept).

Nothing here imports TensorFlow: finding the GPUs asks a child process (sweep.workers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from densexp_tui.core.config import RunConfig, resolve_paths, save_config
from densexp_tui.core.errors import BadInput, ConfigError
from densexp_tui.core.logtail import last_said_line
from densexp_tui.core.runstore import RunStore, new_run_id
from densexp_tui.engine.devices import parse_device
from densexp_tui.sweep.workers import WorkerSlot, count_gpus, plan_slots

QUEUE_DIR = ".queue"  # in the runs dir: each job's config file and its process output
POLL_SECONDS = 0.2  # how often the job's thread looks for the run dir, a cancel, the end
STOP_SECONDS = 120.0  # after SIGINT, how long a child gets to end before it is killed


# ---------------------------------------------------------------------------------------
# How many run at once


@dataclass(frozen=True)
class QueueMode:
    """How the app's queue trains: one run at a time in the app (the default), or up to one
    per GPU at once, each in its own process (``[queue] per_gpu = true``)."""

    per_gpu: bool = False  # the user asked for one run per GPU
    gpus: tuple[str, ...] = ()  # CUDA_VISIBLE_DEVICES of each slot; () -> in the app
    finding: bool = False  # per_gpu is on and the GPUs are not counted yet
    note: str = ""  # why per_gpu runs one at a time after all (no GPU, ...)

    @property
    def capacity(self) -> int:
        """How many jobs may train at once (0 while the GPUs are being counted)."""
        if self.finding:
            return 0
        return len(self.gpus) if self.gpus else 1

    def free_gpu(self, busy: Collection[str | None]) -> str | None:
        """The first GPU no running job has (None: the job trains in the app's process)."""
        for gpu in self.gpus:
            if gpu not in busy:
                return gpu
        return None

    def describe(self) -> str:
        """For the queue line: "" by default, else how many run at once, and why."""
        if not self.per_gpu:
            return ""
        if self.finding:
            return "Per-GPU queue: counting the GPUs…"
        if self.gpus:
            noun = "GPU" if len(self.gpus) == 1 else "GPUs"
            return (f"Up to {len(self.gpus)} at once, one per GPU ({noun} "
                    f"{', '.join(self.gpus)})")
        return f"One at a time: {self.note}"


@dataclass(frozen=True)
class QueueSetting:
    """What the palette's "Run queue" entry shows: the user's ``[queue] per_gpu`` and what
    counting the GPUs found (``per_gpu_mode()``'s answer; None while not counted yet)."""

    per_gpu: bool
    found: QueueMode | None = None
    path: Path | None = None  # the user config file the switch writes

    def mode_line(self) -> str:
        """How the queue trains with this setting."""
        if not self.per_gpu:
            return "One run at a time (per_gpu is off)."
        if self.found is None:
            return "One run per GPU (per_gpu is on); counting the GPUs…"
        if self.found.gpus:
            return f"One run per GPU: up to {len(self.found.gpus)} at once."
        if self.found.note.startswith("could not"):
            return "One run at a time: per_gpu is on, but the GPUs could not be counted."
        return "One run at a time: per_gpu is on, but no GPU was found."

    def gpus_line(self) -> str:
        """How many GPUs TensorFlow sees (a child process counts them: seconds)."""
        if self.found is None:
            return "GPUs: counting…"
        if self.found.gpus:
            noun = "GPU" if len(self.found.gpus) == 1 else "GPUs"
            return f"GPUs found: {len(self.found.gpus)} ({noun} {', '.join(self.found.gpus)})."
        if self.found.note.startswith("could not"):
            return f"GPUs: {self.found.note}."
        return "GPUs found: none, so the queue runs one at a time either way."


def per_gpu_mode(gpu_count: Callable[[], int] = count_gpus) -> QueueMode:
    """The per-GPU mode for this machine (asks TensorFlow in a child process: seconds).

    GPU i of the slots is what TensorFlow sees as i here; if the app itself was started
    with CUDA_VISIBLE_DEVICES, the slots are its entries, as ``sweep --gpus`` does.
    """
    try:
        count = gpu_count()
    except (ConfigError, OSError, subprocess.TimeoutExpired) as error:
        return QueueMode(per_gpu=True, note=f"could not count the GPUs ({error})")
    if count < 1:
        return QueueMode(per_gpu=True, note="per_gpu is on, but TensorFlow sees no GPU here")
    slots = plan_slots(None, ",".join(str(index) for index in range(count)), lambda: count)
    names = tuple(slot.cuda_visible for slot in slots or [] if slot.cuda_visible is not None)
    return QueueMode(per_gpu=True, gpus=names)


# ---------------------------------------------------------------------------------------
# One job in its own process


def needs_a_fresh_process(cfg: RunConfig) -> bool:
    """True for ``cpu:N`` with N >= 2: its logical CPU devices can only be made in a process
    where TensorFlow has not started yet (engine/devices.py ensure_logical_cpus)."""
    try:
        request = parse_device(cfg.device.device)
    except (ConfigError, ValueError):
        return False  # the trainer reports a bad device as bad input
    return request.kind == "cpus" and request.n_cpus >= 2


@dataclass
class ProcessOutcome:
    """How a job's process ended, shaped like the trainer's RunResult where the app reads it
    (run_id, status, best, message)."""

    run_id: str
    status: str
    best: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    exit_code: int | None = None
    visible_gpus: str | None = None


CommandFor = Callable[[Path | None, Path, str, bool], list[str]]


def job_command(config_path: Path | None, runs_dir: Path, run_id: str,
                resume: bool) -> list[str]:
    """``densexp run CONFIG --run-id ID`` (a new run under the id chosen here) or
    ``densexp resume ID``; output goes to a file, so neither draws progress."""
    base = [sys.executable, "-m", "densexp_tui"]
    if resume:
        return [*base, "resume", run_id, "--runs-dir", str(runs_dir)]
    return [*base, "run", str(config_path), "--runs-dir", str(runs_dir), "--run-id", run_id,
            "--json"]


def train_in_process_of_its_own(
    cfg: RunConfig, store: RunStore, gpu: str | None, cancel: threading.Event,
    on_started: Callable[[str], None], *, resume_id: str = "",
    command_for: CommandFor | None = None,
) -> ProcessOutcome:
    """Train ``cfg`` (or resume ``resume_id``) in a child that sees only GPU ``gpu`` (None:
    the devices the app sees, CUDA_VISIBLE_DEVICES left as it is; a ``cpu:N`` run).

    Blocks until the child ends (call it from a worker thread). ``on_started(run_id)``
    once the run directory exists; ``cancel`` set: one SIGINT, the run ends 'cancelled'.
    BadInput (the child's one line) when the child refused the config before creating the
    run; RuntimeError when it died without one.
    """
    store.ensure_writable()
    run_id = resume_id or new_run_id(cfg.run.name)
    folder = store.root / QUEUE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    config_path = None
    if not resume_id:
        # Resolved: data and model paths absolute, so the file works from the queue folder.
        config_path = folder / f"{run_id}.toml"
        save_config(resolve_paths(cfg), config_path)
    out_path = folder / f"{run_id}.out"
    command = (command_for or job_command)(config_path, store.root, run_id, bool(resume_id))
    child = _spawn(command, WorkerSlot(0, gpu).environment(), out_path)
    try:
        _follow(child, store.run_dir(run_id), cancel, on_started, already=bool(resume_id))
    finally:
        _stop(child)
    return _outcome(child, store, run_id, out_path, cancel, gpu)


def _spawn(command: list[str], env: dict[str, str], out_path: Path) -> subprocess.Popen[bytes]:
    with open(out_path, "ab") as out:
        # A session of its own: the terminal's signals reach it only through the app.
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                env=env, cwd=os.getcwd(), start_new_session=True,
                                close_fds=True)


def _follow(child: subprocess.Popen[bytes], run_dir: Path, cancel: threading.Event,
            on_started: Callable[[str], None], already: bool) -> None:
    """Until the child ends: announce the run once it exists, pass on a cancel once."""
    started, interrupted = already, False
    if already:
        on_started(run_dir.name)
    while child.poll() is None:
        if not started and run_dir.is_dir():
            started = True
            on_started(run_dir.name)
        if cancel.is_set() and not interrupted:
            interrupted = True
            _signal(child, signal.SIGINT)
        if interrupted:
            _wait_a_little(child)  # cancel.wait would return at once from now on
        else:
            cancel.wait(POLL_SECONDS)
    if not started and run_dir.is_dir():
        on_started(run_dir.name)


def _wait_a_little(child: subprocess.Popen[bytes]) -> None:
    try:
        child.wait(timeout=POLL_SECONDS)
    except subprocess.TimeoutExpired:
        pass


def _stop(child: subprocess.Popen[bytes]) -> None:
    """The thread is leaving (an error, the app ending): never leave the child training."""
    if child.poll() is not None:
        return
    _signal(child, signal.SIGINT)
    try:
        child.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _signal(child: subprocess.Popen[bytes], signum: int) -> None:
    try:
        child.send_signal(signum)
    except ProcessLookupError:
        pass  # it ended between poll() and the signal


def _outcome(child: subprocess.Popen[bytes], store: RunStore, run_id: str, out_path: Path,
             cancel: threading.Event, gpu: str | None) -> ProcessOutcome:
    code = child.returncode
    if not store.run_dir(run_id).is_dir():
        if cancel.is_set():
            return ProcessOutcome("", "cancelled", message="cancelled before it started",
                                  exit_code=code, visible_gpus=gpu)
        line = _last_line(out_path)
        if code == 2:
            raise BadInput(line.removeprefix("densexp: "))
        raise RuntimeError(f"`densexp run` exited with code {code} before creating the run"
                           f" ({line}); its output: {out_path}")
    summary = store.read_summary(run_id)
    status, message = summary.status, summary.message
    if status == "running":  # the child died without writing its end
        status, message = "failed", (f"its `densexp run` process exited with code {code}"
                                     f" ({_last_line(out_path)}); its output: {out_path}")
    return ProcessOutcome(run_id, status, dict(summary.best or {}), message, code, gpu)


def _last_line(out_path: Path) -> str:
    return last_said_line(out_path) or "no output"
