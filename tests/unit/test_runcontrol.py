"""Stopping a run another process trains: SIGINT to the right process, or one line why not."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import psutil
import pytest

from densexp_tui.core.errors import BadInput
from densexp_tui.core.runcontrol import CannotCancel, interrupt_run_process
from densexp_tui.core.runstore import RunSummary
from tests.sigint_standin import start_standin

pytestmark = pytest.mark.timeout(60)

@pytest.fixture
def trainer() -> Iterator[subprocess.Popen[str]]:
    process = start_standin()
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def summary_of(pid: int | None, host: str | None = None) -> RunSummary:
    started = psutil.Process(pid).create_time() if pid else None
    return RunSummary(run_id="r1", name="outside", status="running", pid=pid,
                      pid_started=started, host=host or socket.gethostname())


def test_the_trainer_gets_sigint_and_stops_cleanly(trainer: subprocess.Popen[str]) -> None:
    assert interrupt_run_process(summary_of(trainer.pid)) == trainer.pid
    assert trainer.wait(timeout=20) == 0


def test_a_run_of_another_host_is_refused_without_signalling(
        trainer: subprocess.Popen[str]) -> None:
    with pytest.raises(CannotCancel, match="belongs to host gpu-box; cancel it there"):
        interrupt_run_process(summary_of(trainer.pid, host="gpu-box"))
    assert trainer.poll() is None


def test_a_reused_pid_is_not_signalled(trainer: subprocess.Popen[str]) -> None:
    summary = summary_of(trainer.pid)
    summary.pid_started = (summary.pid_started or 0.0) - 3600  # the run's process was older
    with pytest.raises(CannotCancel, match="process is gone"):
        interrupt_run_process(summary)
    assert trainer.poll() is None


def test_a_finished_process_or_none_is_gone(trainer: subprocess.Popen[str]) -> None:
    summary = summary_of(trainer.pid)
    trainer.kill()
    trainer.wait(timeout=10)
    for gone in (summary, summary_of(None)):
        with pytest.raises(BadInput, match="The run's process is gone"):
            interrupt_run_process(gone)
