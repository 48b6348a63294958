"""Announcing the ends of runs the app did not launch (``densexp run`` or a sweep worker in
another terminal, writing into the same runs directory).

The runs screen already re-reads the runs (the whole list, or only the running ones, in a
worker for a big runs dir); it hands the runs that were running and now are not to the app
as ``RunStatusesChanged``. The app announces those as it does its own runs: a toast, and the
bell and desktop escape unless notifications are off or the user watches that run. Its own
runs are left out (the trainer thread writes them with this process's pid and the app
announces them when its worker ends), and so are trials of sweeps it launched (the sweep's
end is announced instead). Under another screen the runs screen lists everything only every
10 s or so, so a run from elsewhere that starts and ends in between is never seen running
and not announced (it is in the list).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from textual.message import Message

from densexp_tui.core.runstore import RunSummary
from densexp_tui.tui.end_notice import alert

if TYPE_CHECKING:
    from textual.app import App

ANNOUNCED_ENDS = ("completed", "failed", "diverged")
DETAIL_CHARS = 80


class RunStatusesChanged(Message):
    """The runs screen saw these runs leave 'running' (their newest summaries)."""

    def __init__(self, changed: list[RunSummary]) -> None:
        super().__init__()
        self.changed = changed


def ended_since(previous_running: Collection[str],
                summaries: Iterable[RunSummary]) -> list[RunSummary]:
    """Of ``summaries``, the runs that were running at the last look and now are not."""
    if not previous_running:
        return []
    was_running = set(previous_running)
    return [s for s in summaries if s.run_id in was_running and s.status != "running"]


def launched_elsewhere(summary: RunSummary, own_sweeps: Collection[str]) -> bool:
    """Not trained by this process and not a trial of a sweep this app started."""
    return summary.pid != os.getpid() and not (summary.sweep and summary.sweep in own_sweeps)


def end_detail(summary: RunSummary) -> str:
    if summary.status == "completed":
        accuracy = summary.best.get("accuracy")
        return f"best val accuracy {accuracy:.3f}" if isinstance(accuracy, float) else ""
    return summary.message[:DETAIL_CHARS]


def announce_outside_ends(app: App[Any], changed: Iterable[RunSummary], *,
                          own_sweeps: Collection[str], watched_run: str | None,
                          ring: bool) -> list[str]:
    """Toast every end of a run launched elsewhere; ring too when ``ring`` and the user is
    not watching that run. Returns the announced run ids."""
    announced = []
    for summary in changed:
        if summary.status not in ANNOUNCED_ENDS or not launched_elsewhere(summary, own_sweeps):
            continue
        alert(app, "run", summary.name or summary.run_id, summary.status, end_detail(summary),
              ring=ring and summary.run_id != watched_run)
        announced.append(summary.run_id)
    return announced
