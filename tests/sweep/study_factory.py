"""A journal study with many finished trials, written straight through Optuna (no runs)."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from densexp_tui.sweep import storage as storage_mod


def write_study(runs_dir: Path, name: str, trials: int, *, running: int = 0) -> optuna.Study:
    """``trials`` complete trials (and ``running`` still running) in the runs dir's journal."""
    spec = storage_mod.parse_storage(None, runs_dir, name)
    study = optuna.create_study(study_name=name, storage=storage_mod.open_storage(spec),
                                direction="maximize")
    distributions = {"train.learning_rate": FloatDistribution(1e-5, 1e-2, log=True),
                     "train.batch_size": IntDistribution(8, 64)}
    for number in range(trials):
        lr = 1e-5 * math.exp(number % 50 / 8)
        batch = 8 + number % 57
        study.add_trial(create_trial(
            params={"train.learning_rate": lr, "train.batch_size": batch},
            distributions=distributions, value=0.5 + 0.4 * math.sin(number) ** 2,
            intermediate_values={1: 0.4, 2: 0.5}, user_attrs={"run_id": f"run-{number}",
                                                              "epochs": 2},
            state=TrialState.COMPLETE))
    for _ in range(running):
        study.ask(distributions)
    return study
