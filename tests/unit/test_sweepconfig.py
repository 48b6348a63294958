"""The sweep TOML loader: what it accepts, and one clear line for everything it refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from densexp_tui.core.errors import BadInput, ConfigError
from densexp_tui.core.sweepconfig import (
    Choices,
    FloatRange,
    IntRange,
    dumps_sweep,
    load_sweep,
    parse_sweep,
)
from densexp_tui.sweep.storage import check_reachable, parse_storage, redact

BASE = '[data]\nsource = "builtin"\nname = "iris"\n[model]\nname = "mlp"\n[train]\nepochs = 2\n'


def _sweep(tmp_path: Path, body: str, base: str = BASE) -> Path:
    (tmp_path / "base.toml").write_text(base)
    path = tmp_path / "sweep.toml"
    path.write_text('base = "base.toml"\n' + body)
    return path


def _error(tmp_path: Path, body: str, base: str = BASE) -> str:
    with pytest.raises(ConfigError) as info:
        load_sweep(_sweep(tmp_path, body, base))
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "sweep.toml"))
    return message


def test_a_full_sweep_loads(tmp_path: Path) -> None:
    cfg = load_sweep(_sweep(tmp_path, """
[sweep]
name = "lr-search"
objective = "val.loss"
sampler = "random"
pruner = "hyperband"
n_trials = 8
timeout = 60
[space]
"train.learning_rate" = {low = 1e-5, high = 1e-3, log = true}
"train.epochs" = {low = 1, high = 5, step = 2}
"train.batch_size" = [16, 32]
"model.dropout" = {choices = [0.0, 0.1]}
"model.hidden_units" = [[32], [64, 32]]
"""))
    assert cfg.sweep.name == "lr-search" and cfg.sweep.direction == "minimize"
    assert cfg.space["train.learning_rate"] == FloatRange("train.learning_rate", 1e-5, 1e-3, True)
    assert cfg.space["train.epochs"] == IntRange("train.epochs", 1, 5, step=2)
    assert cfg.space["train.batch_size"] == Choices("train.batch_size", (16, 32))
    assert cfg.space["model.hidden_units"].encoded == ("[32]", "[64, 32]")
    assert cfg.base.model.name == "mlp" and cfg.n_trials_target == 8
    trial = cfg.trial_config({"train.learning_rate": 1e-4, "model.hidden_units": "[64, 32]"}, 3)
    assert (trial.run.sweep, trial.run.trial, trial.run.name) == ("lr-search", 3, "lr-search-t3")
    assert trial.model.hidden_units == [64, 32] and trial.train.learning_rate == 1e-4


def test_defaults_and_an_inline_base(tmp_path: Path) -> None:
    path = tmp_path / "my sweep.toml"
    path.write_text('[base.data]\nname = "wine"\n[base.model]\nname = "mlp"\n'
                    '[space]\n"train.batch_size" = [8, 16]\n')
    cfg = load_sweep(path)
    assert cfg.base.data.name == "wine" and cfg.base_ref == ""
    assert (cfg.sweep.name, cfg.sweep.objective, cfg.sweep.direction) == ("my-sweep", "val.f1",
                                                                            "maximize")
    assert (cfg.sweep.sampler, cfg.sweep.pruner, cfg.n_trials_target) == ("tpe", "none", 20)


def test_grid_size_is_the_default_number_of_trials(tmp_path: Path) -> None:
    cfg = load_sweep(_sweep(tmp_path, '[sweep]\nsampler = "grid"\n[space]\n'
                            '"train.batch_size" = [8, 16]\n"train.epochs" = {low = 1, high = 3}\n'))
    assert cfg.n_trials_target == 6


def test_dumps_round_trips(tmp_path: Path) -> None:
    cfg = load_sweep(_sweep(tmp_path, '[sweep]\nname = "x"\npruner = "median"\n[space]\n'
                            '"train.learning_rate" = {low = 1e-4, high = 1e-2, log = true}\n'))
    again = tmp_path / "again.toml"
    again.write_text(dumps_sweep(cfg))
    assert load_sweep(again).fingerprint() == cfg.fingerprint()


@pytest.mark.parametrize("body, expected", [
    ('[space]\n"train.learnig_rate" = {low = 0.1, high = 0.2}\n',
     "unknown key train.learnig_rate, did you mean train.learning_rate?"),
    ('[space]\n"train.learning_rate" = {low = 0.1, high = 0.01}\n', "low 0.1 is not below high"),
    ('[space]\n"train.learning_rate" = {low = 0.01, high = 0.01}\n', "low 0.01 is not below high"),
    ('[space]\n"model.dropout" = {low = 0.0, high = 0.5, log = true}\n',
     "log = true needs positive bounds"),
    ('[space]\n"train.learning_rate" = {low = -1.0, high = 0.1, log = true}\n',
     "log = true needs positive bounds"),
    ('[space]\n"train.batch_size" = []\n', "the list of choices is empty"),
    ('[space]\n"train.batch_size" = {choices = []}\n', "the list of choices is empty"),
    ('[sweep]\nobjective = "val.auc"\n[space]\n"train.batch_size" = [8]\n',
     "objective 'val.auc' is never produced by a run"),
    ('[sweep]\nobjective = "val.f11"\n[space]\n"train.batch_size" = [8]\n', "did you mean val.f1?"),
    ('objective = "val.f1"\n[space]\n"train.batch_size" = [8]\n',
     "objective belongs in the [sweep] table"),
    ('[sweep]\nsampler = "tpe2"\n[space]\n"train.batch_size" = [8]\n', "did you mean tpe?"),
    ('[sweep]\npruner = "medain"\n[space]\n"train.batch_size" = [8]\n', "did you mean median?"),
    ('[sweep]\nn_trails = 3\n[space]\n"train.batch_size" = [8]\n',
     "unknown key sweep.n_trails, did you mean n_trials?"),
    ('[space]\n"train.batch_size" = {low = 8, high = 64, stepp = 8}\n', "did you mean step?"),
    ('[space]\n"train.batch_size" = [0, 8]\n', "out of range"),
    ('[space]\n"model.dropout" = {low = 0.0, high = 1.5}\n', "high 1.5 is out of range"),
    ('[space]\n"train.epochs" = {low = 1.5, high = 3}\n', "wrong type"),
    ('[space]\n"train.optimizer" = {low = 1, high = 2}\n', "takes a list of choices"),
    ('[space]\n"train.optimizer" = ["adam", "adamm"]\n', "one of adam, adamw, sgd"),
    ('[space]\n"run.sweep" = ["a"]\n', "set by the sweep itself"),
    ('[space]\n"model.finetune" = ["full", "lora"]\n', "does not work with the base config"),
    ('[space]\n"train.learning_rate" = {low = 1e-4, high = 1e-2, log = true, step = 1e-4}\n',
     "cannot be combined with a step"),
    ('[sweep]\nsampler = "grid"\n[space]\n"model.dropout" = {low = 0.0, high = 0.5}\n',
     "grid sampler needs choices or a step"),
    ('[sweep]\nname = "a b"\n[space]\n"train.batch_size" = [8]\n', "not a usable sweep name"),
    ('[sweep]\ntimeout = -1\n[space]\n"train.batch_size" = [8]\n', "seconds >= 0"),
    ("[sweep]\nname = \"x\"\n", "the search space is empty"),
])
def test_bad_sweeps_are_one_line(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in _error(tmp_path, body)


def test_an_objective_on_a_split_that_is_never_made(tmp_path: Path) -> None:
    base = BASE.replace('name = "iris"\n', 'name = "iris"\ntest_fraction = 0.0\n')
    message = _error(tmp_path,
                     '[sweep]\nobjective = "test.f1"\n[space]\n"train.batch_size" = [8]\n', base)
    assert "objective test.f1 needs test metrics" in message and "never produced" in message
    message = _error(tmp_path, '[sweep]\nobjective = "test.f1"\npruner = "median"\n[space]\n'
                     '"data.val_fraction" = [0.0, 0.2]\n')
    assert "pruner median needs val metrics" in message


def test_a_missing_base_names_the_sweep(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text('base = "nope.toml"\n[space]\n"train.batch_size" = [8]\n')
    with pytest.raises(ConfigError, match="base file 'nope.toml' not found"):
        load_sweep(path)
    with pytest.raises(ConfigError, match="no base run config"):
        parse_sweep({"space": {"train.batch_size": [8]}}, source=path)


def test_a_bad_base_names_the_base_file(tmp_path: Path) -> None:
    message = str(pytest.raises(ConfigError, load_sweep,
                                _sweep(tmp_path, '[space]\n"train.batch_size" = [8]\n',
                                       "[train]\nlearnig_rate = 1\n")).value)
    assert message.startswith(str(tmp_path / "base.toml"))
    assert "did you mean learning_rate" in message


# -- storage URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("postgresq://u:SECRETPW@host:5432/db",
     "unknown storage scheme 'postgresq', did you mean postgresql?"),
    ("mysql://u:SECRETPW@host/db", "unknown storage scheme 'mysql'"),
    ("postgresql://u:SECRETPW@:5432/db", "no host"),
    ("postgresql://u:SECRETPW@host:5432", "no database name"),
    ("postgresql://u:SECRETPW@host:port/db", "malformed URL"),
    ("sqlite://", "needs a file"),
    ("runs.db", "not a storage URL"),
])
def test_bad_storage_urls(tmp_path: Path, url: str, expected: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_storage(url, tmp_path, "s")
    assert expected in str(info.value) and "SECRETPW" not in str(info.value)


def test_storage_kinds(tmp_path: Path) -> None:
    assert parse_storage(None, tmp_path, "s").path == tmp_path / ".sweeps" / "s.journal"
    assert parse_storage("x.journal", tmp_path, "s").kind == "journal"
    assert parse_storage("sqlite:///x.db", tmp_path, "s").kind == "sqlite"
    spec = parse_storage("postgres://u:secret@h:1/db", tmp_path, "s")
    assert spec.url == "postgresql+psycopg2://u:secret@h:1/db"
    assert spec.display == "postgresql://u:***@h:1/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_unreachable_postgres_is_one_line_with_host_and_port(tmp_path: Path) -> None:
    spec = parse_storage("postgresql://densexp:s3cret@127.0.0.1:9/db", tmp_path, "s")
    with pytest.raises(BadInput) as info:
        check_reachable(spec)
    message = str(info.value)
    assert "127.0.0.1:9" in message and "connection refused" in message
    assert "s3cret" not in message and "\n" not in message


def test_sweepconfig_imports_neither_textual_tensorflow_nor_optuna() -> None:
    code = ("import sys, densexp_tui.core.sweepconfig; "
            "print([m for m in ('textual', 'tensorflow', 'optuna') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_example_sweep_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "sweep.toml"
    cfg = load_sweep(example)
    assert cfg.base_ref == "quickstart.toml" and cfg.base.model.name == "tiny-bert"
    assert cfg.base.data.name == "reviews"
    assert (cfg.sweep.sampler, cfg.sweep.pruner, cfg.sweep.objective) == ("tpe", "median",
                                                                          "val.f1")
    assert set(cfg.space) == {"train.learning_rate", "train.batch_size", "model.dropout"}
