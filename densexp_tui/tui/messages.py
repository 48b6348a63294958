"""App-level messages shared by screens, workers and the app shell.

Workers never touch widgets: they post these messages and handlers on the UI thread own all
state. ``RunEventsArrived`` is the only way events reach a dashboard, whatever their source
(a live log being followed, a detached run, or a replay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from densexp_tui.core.events import Event

if TYPE_CHECKING:  # it imports scikit-learn: seconds the app's first frame must not wait
    from densexp_tui.core.evaluation_view import EvaluationData


class RunEventsArrived(Message):
    """A batch of events of one run, posted by a dashboard's source worker.

    Batches are never replaced (``can_replace`` stays False): every event matters for the
    run's state. The worker coalesces instead, by sending bigger batches when the queue is busy.
    """

    def __init__(self, run_id: str, events: list[Event], finished: bool = False,
                 reset: bool = False) -> None:
        super().__init__()
        self.run_id = run_id
        self.events = events
        # True when the source has nothing more to give (run finished, replay at its end).
        self.finished = finished
        # True when these events replace all earlier ones (a replay scrubbed to an epoch).
        self.reset = reset


class RunLaunched(Message):
    """A training run was created and its worker started (the app posts it)."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id


class RunEnded(Message):
    """A run of this app stopped: completed, failed, cancelled or diverged."""

    def __init__(self, run_id: str, status: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.status = status


class QueueChanged(Message):
    """The app's queue of pending runs changed (a run was queued, started or removed)."""


class EvaluationLoaded(Message):
    """A worker read a run's test predictions (the dashboard's calibration and errors views)."""

    def __init__(self, data: EvaluationData) -> None:
        super().__init__()
        self.data = data
