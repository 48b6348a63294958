"""Which screen serves each destination of the navigation API (``Workbench.open_*``).

The app pushes what these return. Screens are imported here, when first opened, so the app
starts fast and no screen imports another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen

    from densexp_tui.core.config import RunConfig
    from densexp_tui.core.runstore import RunStore


def run_screen(store: RunStore, run_id: str, *, live: bool) -> Screen[None]:
    """The run's dashboard: following its log while it trains, replaying it afterwards."""
    from densexp_tui.tui.screens.dashboard import DashboardScreen

    return DashboardScreen(store.run_dir(run_id), mode="live" if live else "replay",
                           store=store)


def new_experiment_screen(config: RunConfig | None = None,
                          parent: str | None = None) -> Screen[None]:
    from densexp_tui.tui.screens.new_experiment import NewExperimentScreen

    return NewExperimentScreen(config, parent)


def compare_screen(store: RunStore, run_ids: list[str]) -> Screen[None]:
    from densexp_tui.tui.screens.compare import CompareScreen

    unique = list(dict.fromkeys(run_ids))  # one row per run, in the order given
    return CompareScreen(unique, store)


def sweeps_screen(store: RunStore) -> Screen[None]:
    from densexp_tui.tui.screens.sweeps import SweepsScreen

    return SweepsScreen(store)
