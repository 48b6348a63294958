"""Stopping a run that another process trains (``densexp run`` in a terminal, ``--detach``).

The trainer of such a run turns SIGINT into a clean stop: the run ends 'cancelled' with its
events, best checkpoint and log kept. Only a process on this host can be signalled, and only
the very process that wrote the run (a reused pid is not it). The dashboard's cancel key uses
this for runs it does not train itself; the CLI can reach the same code.
"""

from __future__ import annotations

import os
import signal
import socket

from densexp_tui.core.errors import BadInput
from densexp_tui.core.runstore import RunSummary, process_is_alive


class CannotCancel(BadInput):
    """The run's process cannot be asked to stop from here (other host, already gone)."""


class SignalFailed(CannotCancel):
    """The process exists but refused the signal (another user's process, ...)."""


def interrupt_run_process(summary: RunSummary) -> int:
    """Send SIGINT to the process training ``summary``'s run; returns its pid.

    Raises CannotCancel (or SignalFailed) with one line saying why not.
    """
    if summary.host != socket.gethostname():
        raise CannotCancel(f"The run belongs to host {summary.host}; cancel it there")
    pid = summary.pid
    if pid is None or not process_is_alive(pid, summary.pid_started):
        raise CannotCancel("The run's process is gone")
    try:
        os.kill(pid, signal.SIGINT)
    except OSError as error:
        raise SignalFailed(f"Could not signal process {pid}: {error.strerror}") from error
    return pid
