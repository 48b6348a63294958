"""seeds = [..] in a sweep: each trial is a group of runs, one per seed; Optuna gets the mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.core.config import load_config
from densexp_tui.core.errors import ConfigError
from densexp_tui.core.runstore import RunStore
from densexp_tui.core.sweepconfig import load_sweep
from tests.sweep import fake_trainer
from tests.sweep.conftest import Sweeper, write_sweep

pytestmark = pytest.mark.timeout(120)
SPACE = '[space]\n"train.learning_rate" = {low = 1e-4, high = 1e-1, log = true}\n'


def test_each_trial_runs_every_seed_as_one_group_and_reports_the_mean(
        tmp_path: Path, sweeper: Sweeper, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_score = fake_trainer.score
    # the fake's F1 otherwise ignores the seed: make seeds differ so the mean is visible
    monkeypatch.setattr(fake_trainer, "score",
                        lambda cfg, epoch: plain_score(cfg, epoch) - 0.01 * cfg.run.seed)
    sweep = write_sweep(tmp_path, '[sweep]\nname = "multi"\nn_trials = 2\nseeds = [1, 2, 3]\n'
                        + SPACE)
    outcome = sweeper.run(sweep)
    assert outcome.finished == 2
    store = RunStore(sweeper.runs)
    runs = store.list_runs()
    assert len(runs) == 6
    from densexp_tui.sweep.study import load_local_study

    study = load_local_study(store, "multi")
    assert study is not None
    for trial in study.trials:
        assert len(set(trial.user_attrs["run_ids"])) == 3
        assert trial.user_attrs["group"] == f"multi-t{trial.number}"
    groups: dict[str, list[float]] = {}
    for run in runs:
        cfg = load_config(store.run_dir(run.run_id) / "config.toml")
        assert cfg.run.group == run.group == f"multi-t{cfg.run.trial}"
        groups.setdefault(run.group, []).append(run.best["f1"])
    assert sorted(len(v) for v in groups.values()) == [3, 3]
    for row in outcome.rows:
        values = groups[f"multi-t{row.number}"]
        assert row.value == pytest.approx(sum(values) / 3)


@pytest.mark.parametrize("seeds", ["[1, 1]", "[1, \"x\"]", "3"])
def test_bad_seed_lists_are_config_errors_naming_the_key(tmp_path: Path, seeds: str) -> None:
    sweep = write_sweep(tmp_path, f'[sweep]\nname = "bad"\nseeds = {seeds}\n' + SPACE)
    with pytest.raises(ConfigError, match="sweep.seeds"):
        load_sweep(sweep)
