"""Runs and studies made fast for report tests and the report benchmark (no training).

Runs are copies of the fixture runs under tests/data/runs with new ids; a sweep is an Optuna
journal in the runs dir whose trials are added with ``optuna.trial.create_trial`` (params,
value, intermediate values, a run id), exactly what a real sweep records, but in a second.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path

FIXTURE_RUNS = Path(__file__).resolve().parents[1] / "data" / "runs"
FIXTURES = ("20250101-100000-quickstart-a1b2c3", "20250101-110000-lora-fast-d4e5f6")


def copy_runs(runs_dir: Path, count: int, sweep: str = "") -> list[str]:
    """``count`` copies of the fixture runs (alternating) with ids 20250102-...-NNNN."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    ids = []
    for index in range(count):
        source = FIXTURE_RUNS / FIXTURES[index % 2]
        run_id = f"20250102-{index:06d}-copy-{index:04d}"
        shutil.copytree(source, runs_dir / run_id)
        summary_path = runs_dir / run_id / "summary.json"
        summary = json.loads(summary_path.read_text())
        # An hour apart, so newest-first lists put the last copy first.
        started = summary["started"] + 86_400 + index * 3600
        summary.update(run_id=run_id, name=f"copy-{index}", sweep=sweep,
                       trial=index if sweep else -1, started=started,
                       finished=started + summary["duration"])
        summary_path.write_text(json.dumps(summary))
        ids.append(run_id)
    return ids


def make_sweep(runs_dir: Path, name: str, trials: int, seed: int = 0,
               with_runs: bool = False) -> None:
    """A finished study of ``trials`` trials (every 7th pruned) in runs_dir/sweeps/."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.trial import TrialState, create_trial

    from densexp_tui.sweep import storage as storage_mod

    path = storage_mod.journal_path(runs_dir, name)
    spec = storage_mod.StorageSpec("journal", path=path, display=str(path))
    study = optuna.create_study(study_name=name, storage=storage_mod.open_storage(spec),
                                direction="maximize")
    study.set_user_attr("densexp", {"objective": "val.accuracy", "n_trials": trials})
    run_ids = copy_runs(runs_dir, trials, sweep=name) if with_runs else []
    rng = random.Random(seed)
    distributions = {"train.learning_rate": FloatDistribution(1e-5, 1e-2, log=True),
                     "train.batch_size": CategoricalDistribution([16, 32, 64])}
    for number in range(trials):
        lr = math.exp(rng.uniform(math.log(1e-5), math.log(1e-2)))
        batch = rng.choice([16, 32, 64])
        value = 0.9 - 0.04 * abs(math.log10(lr) + 3.3) - batch / 2000 + rng.gauss(0, 0.01)
        pruned = number % 7 == 6
        study.add_trial(create_trial(
            state=TrialState.PRUNED if pruned else TrialState.COMPLETE,
            value=None if pruned else value,
            params={"train.learning_rate": lr, "train.batch_size": batch},
            distributions=distributions,
            intermediate_values={1: value - 0.05, 2: value},
            user_attrs={"run_id": run_ids[number] if run_ids else "", "epochs": 2}))
