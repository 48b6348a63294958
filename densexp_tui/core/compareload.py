"""Loading runs for comparison: summary, config and every event of each run, off the UI.

The compare screen calls ``load_runs`` from a thread worker and renders the result; the
CLI and tests reach the same code. A run that cannot be read comes back with its
``problem`` set instead of stopping the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from densexp_tui.core.config import RunConfig, config_to_dict, load_config
from densexp_tui.core.errors import BadInput
from densexp_tui.core.events import EventFollower
from densexp_tui.core.runstore import RunStore, RunSummary
from densexp_tui.core.runview import RunView

# Keys that identify rather than configure a run; the name has its own column.
IGNORED_KEYS = frozenset({"run.name", "run.parent", "run.sweep", "run.trial", "run.group"})


@dataclass
class LoadedRun:
    """Everything a comparison needs about one run."""

    run_id: str
    summary: RunSummary
    config: RunConfig | None
    view: RunView
    problem: str = ""


def load_run(store: RunStore, run_id: str) -> LoadedRun:
    """Summary, config and every event of one run (step lines thinned if the log is huge)."""
    summary = store.read_summary(run_id)
    run_dir = store.run_dir(run_id)
    config, problem = None, ""
    try:
        config = load_config(run_dir / "config.toml")
    except BadInput as error:
        problem = str(error)
    view = RunView()
    follower = EventFollower(run_dir / "events.jsonl")
    while events := follower.poll():
        view.apply_all(events)
    return LoadedRun(run_id, summary, config, view, problem)


def load_runs(store: RunStore, run_ids: Sequence[str]) -> list[LoadedRun]:
    """``load_run`` for each id, in order; an unreadable run carries its problem."""
    runs = []
    for run_id in run_ids:
        try:
            runs.append(load_run(store, run_id))
        except (OSError, BadInput) as error:
            runs.append(LoadedRun(run_id, RunSummary(run_id=run_id, status="interrupted"),
                                  None, RunView(), problem=str(error)))
    return runs


def differing_keys(configs: Sequence[RunConfig | None]) -> list[str]:
    """Config keys ("section.key") whose values are not the same in every run."""
    flat = [_flatten(config_to_dict(c)) for c in configs if c is not None]
    if len(flat) < 2:
        return []
    keys = [k for k in flat[0] if k not in IGNORED_KEYS]
    return [k for k in keys if any(f.get(k) != flat[0].get(k) for f in flat[1:])]


def _flatten(mapping: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {f"{s}.{k}": v for s, table in mapping.items() for k, v in table.items()}
