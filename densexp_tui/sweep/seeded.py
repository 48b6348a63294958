"""Trials over several seeds: ``seeds = [1, 2, 3]`` in a sweep's [sweep] table.

Each trial then trains its config once per seed, as one group (``run.group`` =
``<sweep>-t<trial>``), and tells Optuna the mean of the seeds' objectives, so the search
ranks settings, not lucky seeds. Without ``seeds`` a trial is the one run it always was.
Pruning sees the first seed's epochs only (Optuna keeps the first value reported per step).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from densexp_tui.core.config import RunConfig

if TYPE_CHECKING:
    import optuna


def seed_group(run_cfg: RunConfig) -> str:
    return f"{run_cfg.run.sweep or run_cfg.run.name}-t{run_cfg.run.trial}"


def trial_seed_configs(run_cfg: RunConfig, seeds: Sequence[int]) -> list[RunConfig]:
    """The trial's config once per seed, all in the trial's group (names kept apart)."""
    group = seed_group(run_cfg)
    return [replace(run_cfg, run=replace(run_cfg.run, seed=seed, group=group,
                                         name=f"{run_cfg.run.name}-s{seed}"))
            for seed in seeds]


def seeded_objective(trial: optuna.Trial, run_cfg: RunConfig, seeds: Sequence[int],
                     one_run: Callable[[RunConfig], float]) -> float:
    """``one_run`` per seed; the mean goes to Optuna, the seeds' values to user attrs.
    A failing seed fails the trial (its exception propagates), as one run would."""
    if not seeds:
        return one_run(run_cfg)
    values: list[float] = []
    run_ids: list[str] = []
    for cfg in trial_seed_configs(run_cfg, seeds):
        values.append(one_run(cfg))
        run_ids.append(str(trial.user_attrs.get("run_id", "")))
    trial.set_user_attr("group", seed_group(run_cfg))
    trial.set_user_attr("seed_values", values)
    trial.set_user_attr("run_ids", run_ids)
    return statistics.fmean(values)
