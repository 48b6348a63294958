"""data.split_seed: runs of different seeds on one split (for ensembles and paired tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from densexp_tui.core.config import (
    FIELD_SPECS,
    RunConfig,
    apply_overrides,
    config_hash,
    diff_configs,
    dumps_config,
    load_config,
    parse_config,
    validate_field,
)
from densexp_tui.core.ensemble import make_ensemble
from densexp_tui.core.errors import BadInput, ConfigError
from densexp_tui.core.runstore import RunStore
from densexp_tui.core.sweepconfig import Choices, parse_sweep
from tests.unit.ensemble_runs import finished_run, random_probs, true_labels

pytestmark = pytest.mark.timeout(30)

# config_hash(RunConfig()) and of examples/quickstart.toml on main before the key existed
DEFAULT_HASH_BEFORE_THE_KEY = "e3b71ed002ed6938"
QUICKSTART_HASH_BEFORE_THE_KEY = "3763bd6b48e7fbe6"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_unset_the_split_follows_run_seed_and_hashes_do_not_change() -> None:
    cfg = apply_overrides(RunConfig(), ["run.seed=11"])
    assert cfg.data.split_seed == -1 and cfg.effective_split_seed == 11
    assert config_hash(RunConfig()) == DEFAULT_HASH_BEFORE_THE_KEY
    assert config_hash(load_config(EXAMPLES / "quickstart.toml")) == QUICKSTART_HASH_BEFORE_THE_KEY


def test_set_it_decides_the_split_and_the_hash() -> None:
    cfg = apply_overrides(RunConfig(), ["run.seed=11", "data.split_seed=3"])
    assert cfg.effective_split_seed == 3
    assert config_hash(cfg) != config_hash(apply_overrides(RunConfig(), ["run.seed=11"]))
    assert FIELD_SPECS["data.split_seed"].help


@pytest.mark.parametrize("raw", ["-2", "1.5", "seven"])
def test_bad_values_are_refused_saying_what_is_allowed(raw: str) -> None:
    _, error = validate_field("data.split_seed", raw)
    assert error is not None and "allowed" in error
    with pytest.raises(ConfigError, match="data.split_seed"):
        apply_overrides(RunConfig(), [f"data.split_seed={raw}"])


def test_toml_round_trip_and_old_files_without_the_key(tmp_path: Path) -> None:
    cfg = apply_overrides(RunConfig(), ["data.split_seed=5"])
    path = tmp_path / "config.toml"
    path.write_text(dumps_config(cfg))
    assert load_config(path) == cfg and load_config(path).data.split_seed == 5
    old = parse_config({"data": {"name": "reviews"}}, source="old.toml")
    assert old.data.split_seed == -1
    # unset, a run's config.toml is what it was before the key (old readers load it)
    assert "split_seed" not in dumps_config(RunConfig())
    path.write_text(dumps_config(RunConfig()))
    assert load_config(path) == RunConfig()


def test_the_review_diff_and_sweep_spaces_know_the_key(tmp_path: Path) -> None:
    parent = RunConfig()
    child = apply_overrides(parent, ["data.split_seed=0"])
    assert diff_configs(parent, child) == [("data.split_seed", -1, 0)]
    sweep = parse_sweep({"base": {"data": {"name": "reviews", "split_seed": 1}},
                         "sweep": {"name": "seeds"},
                         "space": {"run.seed": [1, 2, 3], "data.split_seed": [1, 2]}},
                        source=tmp_path / "sweep.toml")
    assert isinstance(sweep.space["data.split_seed"], Choices)
    assert sweep.trial_config({"run.seed": 2, "data.split_seed": 1}, 0).effective_split_seed == 1


def _member(store: RunStore, name: str, overrides: list[str], seed: int) -> str:
    return finished_run(store, name, random_probs(30, 3, seed), true_labels(30),
                        overrides=overrides)


def test_runs_of_different_seeds_ensemble_on_a_fixed_split(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    ids = [_member(store, f"s{seed}", [f"run.seed={seed}", "data.split_seed=0"], seed)
           for seed in (1, 2, 3)]
    result = make_ensemble(store, ids)
    assert result.members == ids and 0.0 <= result.test["f1"] <= 1.0


def test_runs_whose_split_follows_different_seeds_are_refused_naming_the_split_seed(
        tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    ids = [_member(store, f"s{seed}", [f"run.seed={seed}"], seed) for seed in (1, 2)]
    before = sorted(p.name for p in store.root.iterdir())
    with pytest.raises(BadInput, match=r"split seed 1 vs 2.*data\.split_seed") as err:
        make_ensemble(store, ids)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in store.root.iterdir()) == before
    # the same split seed reached two ways (run.seed, data.split_seed) is the same split
    same = _member(store, "fixed", ["run.seed=9", "data.split_seed=1"], 9)
    assert make_ensemble(store, [ids[0], same]).members == [ids[0], same]


def test_members_with_other_split_data_keys_are_refused(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    a = _member(store, "a", ["data.split_seed=0"], 1)
    b = _member(store, "b", ["data.split_seed=0", "data.test_fraction=0.2"], 2)
    with pytest.raises(BadInput, match=r"data\.test_fraction 0\.1 vs 0\.2"):
        make_ensemble(store, [a, b])
    # keys that change training but not the test rows do not matter
    c = _member(store, "c", ["data.split_seed=0", "data.max_length=64", "train.epochs=9"], 3)
    assert len(make_ensemble(store, [a, c]).members) == 2
    assert np.isfinite(make_ensemble(store, [a, c]).test["loss"])
