"""Run configs: round-trips, every kind of error (one line, naming file and key), overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.core.config import (
    ConfigError,
    RunConfig,
    apply_overrides,
    config_hash,
    dumps_config,
    load_config,
    parse_config,
    resolve_paths,
    save_config,
    validate_field,
)

FULL_TOML = """\
[run]
name = "quickstart"
seed = 42
deterministic = false

[data]
source = "builtin"
name = "reviews"
max_samples = 3000
max_length = 64

[model]
name = "tiny-bert"
finetune = "lora"
lora_targets = ["query", "value"]

[train]
epochs = 3
batch_size = 32
learning_rate = 0.001
optimizer = "adamw"
"""


def _write(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message


# -- round trips -------------------------------------------------------------------------


def test_load_save_load_gives_the_same_config_and_file(tmp_path: Path) -> None:
    first = load_config(_write(tmp_path, FULL_TOML))
    saved = tmp_path / "saved.toml"
    save_config(first, saved)
    second = load_config(saved)
    assert second == first
    resaved = tmp_path / "resaved.toml"
    save_config(second, resaved)
    assert resaved.read_text() == saved.read_text()  # saving is stable byte for byte


def test_defaults_round_trip_and_missing_sections_take_defaults(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "[run]\nname = \"x\"\n"))
    assert cfg.train == RunConfig().train and cfg.run.name == "x"
    assert parse_config(__import__("tomllib").loads(dumps_config(cfg))) == cfg


def test_hash_ignores_name_but_not_hyperparameters(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, FULL_TOML))
    renamed = apply_overrides(cfg, ["run.name=other"])
    faster = apply_overrides(cfg, ["train.learning_rate=0.01"])
    assert config_hash(renamed) == config_hash(cfg) != config_hash(faster)


def test_relative_paths_resolve_against_the_toml_folder(tmp_path: Path) -> None:
    sub = tmp_path / "configs"
    sub.mkdir()
    (sub / "models" / "my-bert").mkdir(parents=True)
    path = _write(sub, '[data]\nsource = "csv"\npath = "data.csv"\n'
                       '[model]\nname = "./models/my-bert"\n')
    resolved = resolve_paths(load_config(path))
    assert resolved.data.path == str(sub / "data.csv")
    assert resolved.model.name == str(sub / "models" / "my-bert")


# -- errors ------------------------------------------------------------------------------


def test_malformed_toml(tmp_path: Path) -> None:
    assert "not valid TOML" in _error(tmp_path, "[train\nepochs = 3\n")


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    message = _error(tmp_path, "[train]\nlearnig_rate = 0.1\n")
    assert "unknown key train.learnig_rate, did you mean learning_rate?" in message


def test_unknown_section_suggests_the_right_one(tmp_path: Path) -> None:
    assert "did you mean [train]" in _error(tmp_path, "[trian]\nepochs = 1\n")


@pytest.mark.parametrize("text, key, fragment", [
    ('[train]\nepochs = "three"\n', "train.epochs", "wrong type"),
    ("[train]\nbatch_size = 1.5\n", "train.batch_size", "wrong type"),
    ('[run]\ndeterministic = "yes"\n', "run.deterministic", "true or false"),
    ("[model]\nlora_targets = \"query\"\n", "model.lora_targets", "list of strings"),
])
def test_wrong_type_names_key_and_what_is_allowed(tmp_path: Path, text: str, key: str,
                                                  fragment: str) -> None:
    message = _error(tmp_path, text)
    assert key in message and fragment in message


def test_negative_learning_rate(tmp_path: Path) -> None:
    message = _error(tmp_path, "[train]\nlearning_rate = -0.1\n")
    assert "train.learning_rate" in message and "out of range" in message and "> 0" in message


def test_zero_batch_size(tmp_path: Path) -> None:
    message = _error(tmp_path, "[train]\nbatch_size = 0\n")
    assert "train.batch_size" in message and ">= 1" in message


@pytest.mark.parametrize("val, test", [(0.5, 0.5), (0.7, 0.4)])
def test_fractions_that_leave_nothing_to_train_on(tmp_path: Path, val: float, test: float) -> None:
    message = _error(tmp_path, f"[data]\nval_fraction = {val}\ntest_fraction = {test}\n")
    assert "data.val_fraction" in message and "below 1" in message


def test_bad_choice_suggests_the_right_one(tmp_path: Path) -> None:
    message = _error(tmp_path, '[train]\noptimizer = "adamm"\n')
    assert "did you mean adam" in message and "one of adam, adamw, sgd" in message


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[run]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(bad)


# -- --set overrides ---------------------------------------------------------------------


def test_overrides_apply_with_the_types_of_the_keys() -> None:
    cfg = apply_overrides(RunConfig(), [
        "train.learning_rate=3e-5", "train.epochs=7", "run.deterministic=true",
        "model.lora_targets=query,key", "model.hidden_units=[32, 16]", "run.name=my-run",
    ])
    assert cfg.train.learning_rate == 3e-5 and cfg.train.epochs == 7
    assert cfg.run.deterministic is True and cfg.run.name == "my-run"
    assert cfg.model.lora_targets == ["query", "key"] and cfg.model.hidden_units == [32, 16]


@pytest.mark.parametrize("override, fragment", [
    ("train.epoch=2", "unknown key train.epoch, did you mean train.epochs?"),
    ("train.epochs=-1", "train.epochs"),
    ("train.epochs=two", "wrong type"),
    ("train.learning_rate", "not key=value"),
    ("data.val_fraction=0.95", "below 1"),
    ("train.epochs=", "train.epochs: empty; allowed: an integer"),
    ("train.learning_rate= ", "empty; allowed"),
])
def test_bad_overrides_are_one_line_errors(override: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        apply_overrides(RunConfig(), [override])
    message = str(err.value)
    assert fragment in message and "\n" not in message and message.startswith("--set")


def test_overrides_keep_the_source_path(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, FULL_TOML))
    assert apply_overrides(cfg, ["train.epochs=1"]).source_path == cfg.source_path


def test_validate_field_for_forms() -> None:
    assert validate_field("train.batch_size", "16") == (16, None)
    value, problem = validate_field("train.batch_size", "0")
    assert value is None and ">= 1" in problem
    assert "did you mean" in validate_field("train.learnig_rate", "1")[1]
