"""The line `densexp sweep` prints for each finished trial."""

from __future__ import annotations

import pytest

from densexp_tui.sweep.cli import trial_line
from densexp_tui.sweep.study import TrialRow

pytestmark = pytest.mark.timeout(30)


def test_a_trial_line_names_state_value_and_params_without_sections() -> None:
    row = TrialRow(3, "COMPLETE", {"train.learning_rate": 3.2e-4, "train.batch_size": 16},
                   value=0.81234)
    assert trial_line(row) == ("trial 3 COMPLETE value 0.8123 "
                               "learning_rate=3.20e-04 batch_size=16")


def test_a_pruned_trial_says_when_and_why() -> None:
    row = TrialRow(5, "PRUNED", {"model.dropout": 0.1}, pruned_at=2, note="median rule")
    assert trial_line(row) == "trial 5 PRUNED at epoch 2 dropout=0.1 (median rule)"
