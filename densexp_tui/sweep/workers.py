"""``densexp sweep SWEEP.toml --workers N | --gpus 0,1,2,3``: several local workers, one study.

Each worker is an ordinary ``densexp sweep`` process joining the same study (Optuna hands
out the trials; see runner.py); this process only starts them, shows the study's table,
and stops them. With ``--gpus`` there is one worker per GPU and each sees only its own
(``CUDA_VISIBLE_DEVICES``), so its trials train on "gpu:0" of a one-GPU world and record
which physical GPU that was (``visible_gpus`` in run_started and the summary).

Ctrl-C: every worker gets one SIGINT, which makes it cancel its running trial (the trial
is queued to run again) and stop; running the same command continues the study. A second
Ctrl-C aborts the workers the same way ``densexp sweep`` aborts on a second Ctrl-C (the
aborted trials are queued to run again too).
Workers run in sessions of their own, so the terminal's Ctrl-C reaches them only through
this process, exactly once each.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from densexp_tui.core.errors import ConfigError


@dataclass(frozen=True)
class WorkerSlot:
    """One worker process to start: its number and the GPU it may see (None: no limit)."""

    index: int
    cuda_visible: str | None = None

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        if self.cuda_visible is not None:
            env["CUDA_VISIBLE_DEVICES"] = self.cuda_visible
        return env


def parse_gpu_list(text: str) -> list[int]:
    """``--gpus 0,1,3`` as indices; ConfigError for anything else."""
    parts = [part.strip() for part in text.split(",")]
    if not parts or not all(part.isdigit() for part in parts):
        raise ConfigError(f"--gpus {text!r}; allowed: GPU indices separated by commas, "
                          "e.g. --gpus 0,1,2,3")
    indices = [int(part) for part in parts]
    if len(set(indices)) != len(indices):
        raise ConfigError(f"--gpus {text!r} names a GPU twice; allowed: each GPU once")
    return indices


def count_gpus() -> int:
    """How many GPUs TensorFlow sees, asked in a child process: this process (and the app)
    never loads TensorFlow, and TensorFlow's start-up chatter goes nowhere."""
    probe = ("import densexp_tui; from densexp_tui.engine.devices import physical_gpus; "
             "print(len(physical_gpus()))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].isdigit():
        raise ConfigError("--gpus: could not ask TensorFlow which GPUs there are "
                          f"({(done.stderr.strip().splitlines() or ['no output'])[-1]})")
    return int(lines[-1])


def plan_slots(workers: int | None, gpus: str | None,
               gpu_count: Callable[[], int] | None = None) -> list[WorkerSlot] | None:
    """The worker processes to start; None for today's single in-process worker.

    ConfigError (bad input, nothing started) for ``--workers 0``, both options at once, or
    a GPU that is not there. GPU indices are those TensorFlow sees here; when this process
    itself has CUDA_VISIBLE_DEVICES, index i is its i-th entry.
    """
    if workers is not None and gpus is not None:
        raise ConfigError("--workers and --gpus together; allowed: one of them "
                          "(--gpus starts one worker per GPU)")
    if gpus is not None:
        return _gpu_slots(parse_gpu_list(gpus), (gpu_count or count_gpus)())
    if workers is None:
        return None
    if workers < 1:
        raise ConfigError(f"--workers {workers}; allowed: an integer >= 1")
    return None if workers == 1 else [WorkerSlot(index) for index in range(workers)]


def _gpu_slots(indices: list[int], available: int) -> list[WorkerSlot]:
    missing = [index for index in indices if index >= available]
    if missing:
        allowed = f"0 to {available - 1}" if available else "none: TensorFlow sees no GPU"
        raise ConfigError(f"--gpus names GPU {missing[0]}, which is not there "
                          f"({available} GPU(s)); allowed: {allowed}")
    inherited = [part.strip() for part in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
                 if part.strip()]
    names = [inherited[i] if i < len(inherited) else str(i) for i in indices]
    return [WorkerSlot(n, name) for n, name in enumerate(names)]


def sweep_worker_command(sweep_file: Path, runs_dir: Path, storage: str | None,
                         n_trials: int | None) -> list[str]:
    """The ``densexp sweep`` command line each worker runs (no --workers: one worker; the
    devices were checked before it started, so it does not ask TensorFlow again)."""
    cmd = [sys.executable, "-m", "densexp_tui", "sweep", str(Path(sweep_file).resolve()),
           "--runs-dir", str(Path(runs_dir).resolve()), "--devices-checked"]
    if storage:
        cmd += ["--storage", storage]
    if n_trials is not None:
        cmd += ["--n-trials", str(n_trials)]
    return cmd


class WorkerPool:
    """The worker processes of one sweep: start, forward Ctrl-C, wait, report."""

    def __init__(self, slots: Sequence[WorkerSlot], command: list[str], log_dir: Path,
                 study_name: str, cwd: Path | None = None) -> None:
        self.slots = list(slots)
        self.command = command
        self.log_dir = log_dir
        self.study_name = study_name
        self.cwd = cwd
        self.processes: list[subprocess.Popen[bytes]] = []
        self.interrupts = 0
        self._logs: list[IO[bytes]] = []

    def log_path(self, slot: WorkerSlot) -> Path:
        return self.log_dir / f"{self.study_name}.worker{slot.index}.out"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for slot in self.slots:
            log = open(self.log_path(slot), "ab")  # noqa: SIM115 - closed in wait()
            self._logs.append(log)
            self.processes.append(subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=slot.environment(), cwd=self.cwd, start_new_session=True))

    def interrupt(self) -> None:
        """One SIGINT to every worker still running (the first: stop cleanly)."""
        self.interrupts += 1
        for process in self.processes:
            if process.poll() is None:
                with _ignore_gone():
                    process.send_signal(signal.SIGINT)

    def wait(self) -> list[int]:
        """Wait for every worker; their exit codes in slot order."""
        codes = [process.wait() for process in self.processes]
        for log in self._logs:
            log.close()
        return codes

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def bad_input_line(self) -> str | None:
        """A worker's one-line bad-input message ("densexp: ..."), if one printed it."""
        for slot, process in zip(self.slots, self.processes, strict=True):
            if process.returncode != 2:
                continue
            lines = self.log_path(slot).read_text(errors="replace").splitlines()
            said = [line for line in lines if line.startswith("densexp: ")]
            return said[-1] if said else f"densexp: worker {slot.index} exited with code 2"
        return None


class _ignore_gone:
    """A worker that exited between poll() and the signal is fine."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> bool:
        return kind is not None and issubclass(kind, ProcessLookupError)


def install_interrupt(pool: WorkerPool, say: Callable[[str], None]) -> Callable[[], None]:
    """SIGINT/SIGTERM forward to the workers; returns the function that restores handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        if pool.interrupts == 0:
            say("stopping: every worker cancels its current trial (Ctrl-C again to abort); "
                "run the same command to continue the study")
        pool.interrupt()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
