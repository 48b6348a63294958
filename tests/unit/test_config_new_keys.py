"""The keys DESIGN.md adds for speed, evaluation and overfitting: allowed values and refusals."""

from __future__ import annotations

import pytest

from densexp_tui.core.config import RunConfig, apply_overrides, config_hash, validate_field
from densexp_tui.core.errors import ConfigError


@pytest.mark.parametrize("device", ["auto", "cpu", "gpu", "gpu:1", "gpu:all", "gpu:0,1",
                                    "gpu:0,1,3", "cpu:1", "cpu:2"])
def test_devices_that_are_allowed(device: str) -> None:
    value, error = validate_field("device.device", device)
    assert error is None and value == device


@pytest.mark.parametrize("device", ["cpu:0", "gpu:", "gpu:0,", "tpu", "cpu:x"])
def test_devices_that_are_refused_name_what_is_allowed(device: str) -> None:
    _, error = validate_field("device.device", device)
    assert error is not None and "allowed" in error


def test_unknown_augment_op_suggests_the_close_one() -> None:
    _, error = validate_field("data.augment", "swap, delte")
    assert error is not None and "did you mean delete?" in error


@pytest.mark.parametrize("key, raw", [("data.augment_prob", "0"), ("data.augment_prob", "1.5"),
                                      ("train.label_smoothing", "1"),
                                      ("train.label_smoothing", "-0.1"),
                                      ("data.pad_to_multiple_of", "0"),
                                      ("data.batching", "sorted"),
                                      ("train.jit_compile", "maybe"),
                                      ("train.adversarial", "pgd")])
def test_out_of_range_values_are_refused(key: str, raw: str) -> None:
    _, error = validate_field(key, raw)
    assert error is not None and "allowed" in error


def test_augmentation_on_tabular_data_is_refused() -> None:
    with pytest.raises(ConfigError, match="data.augment.*tabular"):
        apply_overrides(RunConfig(), ["data.name=wine", "model.name=mlp",
                                      'data.augment=["swap"]'])


def test_fgm_with_the_mlp_says_there_are_no_embeddings() -> None:
    with pytest.raises(ConfigError, match="train.adversarial.*mlp"):
        apply_overrides(RunConfig(), ["data.name=iris", "model.name=mlp",
                                      "train.adversarial=fgm"])


def test_the_group_label_does_not_change_the_config_hash() -> None:
    grouped = apply_overrides(RunConfig(), ["run.group=g1"])
    assert config_hash(grouped) == config_hash(RunConfig())
