"""The one typed interface between screens and the app.

Screens and widgets never reach into the concrete app (no ``getattr(self.app, ...)``, no
``app.training``): they inherit :class:`UsesWorkbench` and call ``self.densexp``, a
:class:`Workbench`. ``DensexpApp`` implements it; a test can give a screen any app that does.
Every way to another screen goes through the navigation methods (``open_run``,
``open_compare``, ...), so which screen class serves a destination is decided in one place
(``tui.navigation``) and screens never import each other.

Worker errors: ``Worker.StateChanged`` does not bubble, so a screen's failed worker would be
seen only by that screen. ``UsesWorkbench`` forwards every worker that reaches ERROR to the
app, whose one ``on_worker_state_changed`` shows the error dialog.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from textual.app import App

    from densexp_tui.core.config import RunConfig
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.engine.gpu_queue import QueueSetting


@runtime_checkable
class Workbench(Protocol):
    """What a screen may ask of the app."""

    # -- runs -------------------------------------------------------------------------------
    @property
    def store(self) -> RunStore:
        """The runs directory this app shows."""
        ...

    # -- training (one run at a time, the rest queued) --------------------------------------
    def launch_run(self, cfg: RunConfig, *, watch: bool = True) -> None:
        """Train ``cfg`` now or after the queued runs; ``watch``: open its dashboard."""
        ...

    def cancel_run(self, run_id: str | None = None) -> bool:
        """Stop the run this app trains (``run_id``, or whichever); False if it trains none."""
        ...

    def resume_run(self, run_id: str) -> None:
        """Queue the run to continue from its checkpoint (reports why not itself)."""
        ...

    @property
    def training_busy(self) -> bool:
        """A run trains or waits in the queue."""
        ...

    def describe_queue(self) -> str:
        """One line: what trains and what waits ("" when nothing does)."""
        ...

    # -- the New experiment form's settings -------------------------------------------------
    @property
    def last_experiment_config(self) -> RunConfig | None:
        """The settings last launched or saved from the New experiment form."""
        ...

    def remember_experiment_config(self, cfg: RunConfig) -> None:
        """Called on launch and on save (never per keystroke): a new sweep starts from it."""
        ...

    # -- navigation -------------------------------------------------------------------------
    def open_run(self, run_id: str, *, live: bool) -> None:
        """The run's dashboard: following it (live) or replaying it."""
        ...

    def open_new_experiment(self, config: RunConfig | None = None,
                            parent: str | None = None) -> None:
        """The New experiment form, filled from ``config``; ``parent``: a re-run of that run."""
        ...

    def open_compare(self, run_ids: list[str]) -> None:
        """Runs side by side (each id once, in the order given)."""
        ...

    def open_sweeps(self) -> None:
        """The Optuna studies of this runs directory."""
        ...

    def show_error(self, title: str, message: str, log_path: Path | None = None) -> None:
        """The error dialog: the message and, when given, the tail of that log."""
        ...


class QueueSettings(Protocol):
    """What the palette's Run queue dialog asks of the app (handed to it when it opens)."""

    def queue_setting(self) -> QueueSetting:
        """The user's per_gpu, the GPUs found (None: not counted yet) and the file."""
        ...

    def find_gpus(self) -> None:
        """Count the GPUs in a worker, once per app; QueueChanged reaches the screens after."""
        ...

    def set_queue_per_gpu(self, on: bool) -> str | None:
        """Save ``[queue] per_gpu`` and use it from the queue's next run; a problem line
        (nothing changed) or None."""
        ...


@runtime_checkable
class ShowsRun(Protocol):
    """A screen about one run: errors of its workers come with that run's log."""

    @property
    def run_log_path(self) -> Path: ...


def workbench_of(app: App[Any]) -> Workbench:
    """``app`` as the screens' interface; a TypeError names an app that is not one."""
    if not isinstance(app, Workbench):
        raise TypeError(f"{type(app).__name__} does not implement tui.services.Workbench")
    return app


class _InApp(Protocol):
    """What UsesWorkbench needs of the screen or widget it is mixed into."""

    @property
    def app(self) -> App[Any]: ...


class UsesWorkbench:
    """Mixin for screens and widgets: ``self.densexp`` and worker errors reported to the app.

    List it before the Textual base class: ``class HomeScreen(UsesWorkbench, Screen[None])``.
    """

    @property
    def densexp(self: _InApp) -> Workbench:
        return workbench_of(self.app)

    # The underscore name is Textual's handler for the node's own use: it runs in addition to
    # any ``on_worker_state_changed`` the screen defines, and a subclass cannot shadow it.
    def _on_worker_state_changed(self: _InApp, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.post_message(Worker.StateChanged(event.worker, event.state))
