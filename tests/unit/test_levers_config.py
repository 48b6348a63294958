"""The overfitting levers' keys everywhere a key goes: --set, sweeps, re-run diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.core.config import FIELD_SPECS, RunConfig, apply_overrides, diff_configs
from densexp_tui.core.errors import ConfigError
from densexp_tui.core.sweepconfig import Choices, FloatRange, parse_sweep

pytestmark = pytest.mark.timeout(30)

LEVER_KEYS = ("data.augment", "data.augment_prob", "train.label_smoothing",
              "train.adversarial", "train.adversarial_epsilon")


def test_every_lever_key_has_help_and_a_set_override() -> None:
    cfg = apply_overrides(RunConfig(), ["data.augment=swap,insert", "data.augment_prob=0.3",
                                        "train.label_smoothing=0.1", "train.adversarial=fgm",
                                        "train.adversarial_epsilon=0.5"])
    assert cfg.data.augment == ["swap", "insert"] and cfg.data.augment_prob == 0.3
    assert cfg.train.label_smoothing == 0.1
    assert (cfg.train.adversarial, cfg.train.adversarial_epsilon) == ("fgm", 0.5)
    assert all(FIELD_SPECS[key].help for key in LEVER_KEYS)


def test_the_rerun_review_diff_lists_the_levers() -> None:
    parent = RunConfig()
    child = apply_overrides(parent, ['data.augment=["delete"]', "train.label_smoothing=0.2",
                                     "train.adversarial=fgm"])
    changed = {key: (old, new) for key, old, new in diff_configs(parent, child)}
    assert changed == {"data.augment": ([], ["delete"]), "train.label_smoothing": (0.0, 0.2),
                       "train.adversarial": ("none", "fgm")}


def test_sweeps_search_over_the_levers(tmp_path: Path) -> None:
    sweep = parse_sweep({
        "base": {"data": {"name": "reviews"}, "model": {"name": "tiny-bert"}},
        "sweep": {"name": "levers"},
        "space": {"data.augment": [[], ["swap"], ["swap", "delete", "insert"]],
                  "data.augment_prob": {"low": 0.05, "high": 0.3},
                  "train.label_smoothing": {"low": 0.0, "high": 0.2},
                  "train.adversarial": ["none", "fgm"],
                  "train.adversarial_epsilon": {"low": 0.01, "high": 1.0, "log": True}},
    }, source=tmp_path / "sweep.toml")
    assert isinstance(sweep.space["data.augment"], Choices)
    assert isinstance(sweep.space["train.label_smoothing"], FloatRange)
    trial = sweep.trial_config({"data.augment": '["swap", "delete", "insert"]',
                                "data.augment_prob": 0.2, "train.label_smoothing": 0.15,
                                "train.adversarial": "fgm", "train.adversarial_epsilon": 0.1}, 0)
    assert trial.data.augment == ["swap", "delete", "insert"]
    assert (trial.train.adversarial, trial.train.adversarial_epsilon) == ("fgm", 0.1)


@pytest.mark.parametrize("space", [{"train.label_smoothing": {"low": 0.0, "high": 1.0}},
                                   {"data.augment_prob": {"low": 0.0, "high": 0.5}},
                                   {"data.augment": [["swap"], ["shuffle"]]}])
def test_a_sweep_cannot_reach_a_value_a_run_would_refuse(space: dict[str, object],
                                                         tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        parse_sweep({"base": {"data": {"name": "reviews"}}, "sweep": {"name": "s"},
                     "space": space}, source=tmp_path / "sweep.toml")


def test_the_run_view_knows_when_the_train_loss_is_smoothed() -> None:
    from densexp_tui.core.events import Event
    from densexp_tui.core.runview import RunView

    view = RunView()
    view.apply(Event(seq=1, time=1.0, kind="run_started",
                     data={"labels": ["a", "b"], "epochs": 1, "steps_per_epoch": 2}))
    view.apply(Event(seq=2, time=2.0, kind="step", data={"epoch": 1, "step": 1, "loss": 0.7}))
    assert not view.loss_includes_smoothing
    view.apply(Event(seq=3, time=3.0, kind="step",
                     data={"epoch": 1, "step": 2, "loss": 0.9, "loss_includes_smoothing": True}))
    assert view.loss_includes_smoothing


def test_the_train_loss_label_says_what_the_loss_includes() -> None:
    from densexp_tui.core.events import Event
    from densexp_tui.core.runview import RunView, train_loss_label

    def label_after(fields: dict[str, object]) -> str:
        view = RunView()
        view.apply(Event(seq=1, time=1.0, kind="run_started",
                         data={"labels": ["a", "b"], "epochs": 1, "steps_per_epoch": 2}))
        view.apply(Event(seq=2, time=2.0, kind="step",
                         data={"epoch": 1, "step": 1, "loss": 0.7, **fields}))
        return train_loss_label(view)

    assert label_after({}) == "train"  # runs from before the fields
    assert label_after({"loss_includes_smoothing": True}) == "train (smoothed)"
    assert label_after({"loss_excludes_adversarial": True}) == "train (clean, no FGM term)"
    assert label_after({"loss_includes_smoothing": True, "loss_excludes_adversarial": True}
                       ) == "train (smoothed, clean, no FGM term)"
