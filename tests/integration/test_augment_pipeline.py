"""data.augment in the trainer's pipelines: train split only, fresh per epoch, resumable."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from densexp_tui.core.config import RunConfig, apply_overrides

pytestmark = pytest.mark.timeout(300)


def _prepared(cfg: RunConfig, tmp_path: Path, resume_epoch: int = 0) -> Any:
    from densexp_tui.engine.data import load_dataset, split_dataset
    from densexp_tui.engine.models import build_model
    from densexp_tui.engine.trainer import Prepared

    splits = split_dataset(load_dataset(cfg.data, seed=cfg.run.seed), cfg.data.val_fraction,
                           cfg.data.test_fraction, cfg.run.seed)
    built = build_model(cfg, splits, tmp_path)
    resume = SimpleNamespace(epoch=resume_epoch) if resume_epoch else None
    return Prepared(cfg, None, splits, built, "cpu", resume=resume)  # type: ignore[arg-type]


def _epochs(pipeline: Any, per_epoch: int) -> list[list[list[int]]]:
    """Each epoch's rows as token-id lists with padding stripped (mask = 1)."""
    epochs: list[list[list[int]]] = []
    for step, (inputs, _labels) in enumerate(pipeline):
        if step % per_epoch == 0:
            epochs.append([])
        ids, mask = inputs["input_ids"].numpy(), inputs["attention_mask"].numpy()
        epochs[-1] += [list(row[m == 1]) for row, m in zip(ids, mask, strict=True)]
    return epochs


@pytest.fixture
def augmented_cfg(tiny_run_config: RunConfig) -> RunConfig:
    return apply_overrides(tiny_run_config, ['data.augment=["swap","delete","insert"]',
                                             "data.augment_prob=0.2", "data.max_samples=200",
                                             "train.epochs=3"])


def test_only_the_train_split_is_augmented_fresh_each_epoch(augmented_cfg: RunConfig,
                                                            tmp_path: Path) -> None:
    from densexp_tui.engine.data import steps_per_epoch
    from densexp_tui.engine.trainer import _inputs

    plain_cfg = apply_overrides(augmented_cfg, ["data.augment=[]"])
    augmented, plain = _prepared(augmented_cfg, tmp_path / "a"), _prepared(plain_cfg,
                                                                            tmp_path / "p")
    per_epoch = steps_per_epoch(len(augmented.splits.train.labels), 32)
    aug_train = _epochs(_inputs(augmented, "train").pipeline, per_epoch)
    plain_train = _epochs(_inputs(plain, "train").pipeline, per_epoch)
    assert len(aug_train) == 3
    for epoch in range(3):
        changed = sum(a != p for a, p in zip(aug_train[epoch], plain_train[epoch],
                                                     strict=True))
        assert changed > 0.5 * len(plain_train[epoch])  # same order, different words
    assert aug_train[0] != aug_train[1] != aug_train[2]
    for part in ("val", "test"):
        rows = len(getattr(augmented.splits, part).labels)
        assert _epochs(_inputs(augmented, part).pipeline, rows) == _epochs(
            _inputs(plain, part).pipeline, rows)


def test_augmented_epochs_repeat_exactly_and_on_resume(augmented_cfg: RunConfig,
                                                       tmp_path: Path) -> None:
    from densexp_tui.engine.data import steps_per_epoch
    from densexp_tui.engine.trainer import _inputs

    first = _prepared(augmented_cfg, tmp_path / "one")
    per_epoch = steps_per_epoch(len(first.splits.train.labels), 32)
    whole = _epochs(_inputs(first, "train").pipeline, per_epoch)
    again = _epochs(_inputs(first, "train").pipeline, per_epoch)
    resumed = _prepared(augmented_cfg, tmp_path / "two", resume_epoch=1)
    from_epoch_2 = _epochs(_inputs(resumed, "train").pipeline, per_epoch)
    assert whole == again
    assert from_epoch_2 == whole[1:]
    labels = np.concatenate([lab.numpy() for _, lab in _inputs(first, "train").pipeline])
    assert len(labels) == 3 * len(first.splits.train.labels)
