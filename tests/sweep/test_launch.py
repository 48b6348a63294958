"""The TUI's new-sweep form as a sweep TOML, and the subprocess command line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.errors import ConfigError
from densexp_tui.core.sweepconfig import Choices, FloatRange, load_sweep
from densexp_tui.sweep.launch import (
    SpaceRow,
    SweepForm,
    form_to_sweep,
    sweep_command_line,
    write_sweep_file,
)

BASE = apply_overrides(RunConfig(), ["run.name=mine", "model.name=mlp", "data.name=iris"])


def test_a_form_becomes_a_self_contained_sweep_file(tmp_path: Path) -> None:
    form = SweepForm(objective="val.loss", sampler="random", pruner="none", n_trials="4", rows=[
        SpaceRow("train.learning_rate", "1e-4", "1e-2", log=True),
        SpaceRow("model.hidden_units", choices="[32]; [64, 32]"),
        SpaceRow(),
    ])
    cfg = form_to_sweep(form, BASE)
    assert cfg.sweep.name == "mine-sweep" and cfg.sweep.direction == "minimize"
    assert cfg.space["train.learning_rate"] == FloatRange("train.learning_rate", 1e-4, 1e-2, True)
    assert cfg.space["model.hidden_units"] == Choices("model.hidden_units", ([32], [64, 32]))
    path = write_sweep_file(cfg, tmp_path / "runs")
    assert path == tmp_path / "runs" / ".sweeps" / "mine-sweep.toml"
    again = load_sweep(path)
    assert again.fingerprint() == cfg.fingerprint() and again.base.model.name == "mlp"


@pytest.mark.parametrize("row, expected", [
    (SpaceRow("train.batch_size", choices="8, x"), "space.train.batch_size"),
    (SpaceRow("train.learning_rate", low="1e-3"), "needs low and high, or choices"),
    (SpaceRow("", low="1"), "has values but no key"),
    (SpaceRow("train.learnig_rate", low="1", high="2"), "did you mean train.learning_rate"),
])
def test_form_problems_are_one_line(row: SpaceRow, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        form_to_sweep(SweepForm(rows=[row]), BASE)
    assert expected in str(info.value) and str(info.value).startswith("new sweep form")


def test_the_subprocess_is_densexp_sweep(tmp_path: Path) -> None:
    cmd = sweep_command_line(tmp_path / "s.toml", tmp_path / "runs", "postgresql://h/db")
    assert cmd[:4] == [sys.executable, "-m", "densexp_tui", "sweep"]
    assert cmd[-2:] == ["--storage", "postgresql://h/db"]
