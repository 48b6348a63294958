"""The search space, sampler and pruner of a sweep as Optuna objects."""

from __future__ import annotations

import warnings
from typing import Any

import optuna

from densexp_tui.core.sweepconfig import (
    Choices,
    FloatRange,
    IntRange,
    ParamSpec,
    SweepConfig,
    grid_values,
)


def suggest(trial: optuna.Trial, space: dict[str, ParamSpec]) -> dict[str, Any]:
    """Ask the trial for one value per parameter; names are the config key paths."""
    return {key: suggest_one(trial, param) for key, param in space.items()}


def suggest_one(trial: optuna.Trial, param: ParamSpec) -> Any:
    if isinstance(param, Choices):
        return trial.suggest_categorical(param.key, list(param.encoded))
    if isinstance(param, IntRange):
        return trial.suggest_int(param.key, param.low, param.high, step=param.step, log=param.log)
    assert isinstance(param, FloatRange)
    return trial.suggest_float(param.key, param.low, param.high, step=param.step, log=param.log)


def distributions(space: dict[str, ParamSpec]) -> dict[str, Any]:
    """Optuna distributions of the space (for enqueued and reused trials)."""
    out: dict[str, Any] = {}
    for key, param in space.items():
        if isinstance(param, Choices):
            out[key] = optuna.distributions.CategoricalDistribution(list(param.encoded))
        elif isinstance(param, IntRange):
            out[key] = optuna.distributions.IntDistribution(param.low, param.high,
                                                            log=param.log, step=param.step)
        else:
            out[key] = optuna.distributions.FloatDistribution(param.low, param.high,
                                                              log=param.log, step=param.step)
    return out


def make_sampler(cfg: SweepConfig, seed: int | None) -> optuna.samplers.BaseSampler:
    name = cfg.sweep.sampler
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        grid = {key: grid_values(param) or [] for key, param in cfg.space.items()}
        return optuna.samplers.GridSampler(grid, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # multivariate is marked experimental
        # multivariate: learning rate and batch size interact; constant_liar keeps parallel
        # workers from all proposing the same point while their trials are still running.
        return optuna.samplers.TPESampler(n_startup_trials=cfg.sweep.startup_trials, seed=seed,
                                          multivariate=True, constant_liar=True)


def max_epochs(cfg: SweepConfig) -> int:
    """The most epochs any trial can run (hyperband's budget)."""
    param = cfg.space.get("train.epochs")
    if isinstance(param, Choices):
        return int(max(param.choices))
    if isinstance(param, IntRange):
        return param.high
    return cfg.base.train.epochs


def make_pruner(cfg: SweepConfig) -> optuna.pruners.BasePruner:
    name = cfg.sweep.pruner
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=cfg.sweep.pruner_startup_trials,
                                           n_warmup_steps=cfg.sweep.pruner_warmup_epochs)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(max_epochs(cfg), 2))
    return optuna.pruners.NopPruner()
