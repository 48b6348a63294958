"""Seed groups: one config run once per seed, the runs sharing ``run.group``."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import replace

from densexp_tui.core.config import RunConfig, config_hash
from densexp_tui.core.errors import BadInput


def parse_seeds(text: str, key: str = "--seeds") -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]``; BadInput for non-integers, duplicates or nothing."""
    parts = [part.strip() for part in str(text).split(",")]
    seeds: list[int] = []
    for part in parts:
        try:
            seed = int(part)
        except ValueError:
            raise BadInput(f"{part!r} is not an integer; allowed: comma-separated integers "
                           "such as 1,2,3", key=key) from None
        if seed in seeds:
            raise BadInput(f"seed {seed} is given twice; allowed: distinct integers",
                           key=key)
        seeds.append(seed)
    if not seeds:
        raise BadInput("no seeds; allowed: comma-separated integers such as 1,2,3", key=key)
    return seeds


def group_name(cfg: RunConfig) -> str:
    """The config's own ``run.group``, else ``<name>-<hash6>`` of the config without its seed,
    so the same config with the same seeds joins the same group."""
    if cfg.run.group:
        return cfg.run.group
    unseeded = replace(cfg, run=replace(cfg.run, seed=0))
    return f"{cfg.run.name}-{config_hash(unseeded)[:6]}"


def seed_configs(cfg: RunConfig, seeds: Sequence[int]) -> list[RunConfig]:
    """One config per seed, all in one group."""
    group = group_name(cfg)
    return [replace(cfg, run=replace(cfg.run, seed=seed, group=group)) for seed in seeds]


def mean_and_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    if not values:
        raise ValueError("no values")
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def seed_list(value: object, key: str, file: str | None = None) -> list[int]:
    """A TOML ``seeds = [1, 2, 3]`` value checked: distinct integers (empty: one run)."""
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int)
                                          for v in value):
        raise BadInput(f"{value!r} is not a list of integers; allowed: e.g. [1, 2, 3]",
                       file=file, key=key)
    if len(set(value)) != len(value):
        raise BadInput(f"{value!r} repeats a seed; allowed: distinct integers",
                       file=file, key=key)
    return [int(v) for v in value]
