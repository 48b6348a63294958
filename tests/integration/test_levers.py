"""Label smoothing and FGM adversarial training: the formulas, and real tiny-bert runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.runstore import RunStore

# FGM: 4 epochs at two passes a step, ~8 min on a loaded 2-core box.
pytestmark = pytest.mark.timeout(900)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_label_smoothing_changes_the_loss_as_the_formula_says() -> None:
    from densexp_tui.core.config import TrainSection
    from densexp_tui.engine.losses import training_loss

    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [-2.0, 1.0, 1.0],
                       [0.0, 0.0, 0.0]], dtype=np.float32)
    labels = np.array([0, 2, 1, 1], dtype=np.int32)
    log_p = _log_softmax(logits.astype(np.float64))
    plain = -log_p[np.arange(4), labels]
    for smoothing in (0.0, 0.1, 0.5):
        expected = np.mean((1 - smoothing) * plain + smoothing * -log_p.mean(axis=1))
        loss = training_loss(TrainSection(label_smoothing=smoothing))
        assert float(loss(labels, logits)) == pytest.approx(expected, rel=1e-5)
    # smoothing penalises confident right answers: the loss rises above the plain one here
    assert float(training_loss(TrainSection(label_smoothing=0.1))(labels, logits)) > plain.mean()


def test_fgm_perturbation_has_the_requested_norm_over_the_batch() -> None:
    import tensorflow as tf

    from densexp_tui.engine.adversarial import embedding_scale, fgm_perturbation

    sizes = np.array([1.0, 1e-3, 50.0, 2.0])
    gradient = tf.random.stateless_normal([4, 7, 16], seed=[1, 2]) * sizes[:, None, None]
    # epsilon is in units of one embedding coordinate (the matrix's RMS entry)
    matrix = tf.random.stateless_normal([50, 16], seed=[3, 4]) * 0.02
    scale = float(np.sqrt(np.mean(matrix.numpy() ** 2)))
    assert float(embedding_scale(matrix)) == pytest.approx(scale, rel=1e-5)
    delta = fgm_perturbation(gradient, 0.7, embedding_scale(matrix)).numpy()
    # the norm of the whole batch's perturbation (not per token, not per element)
    assert float(np.sqrt((delta ** 2).sum())) == pytest.approx(0.7 * scale, rel=1e-5)
    g = gradient.numpy()
    np.testing.assert_allclose(delta, 0.7 * scale * g / np.sqrt((g ** 2).sum()), rtol=1e-4,
                               atol=1e-12)  # along the gradient, examples by their share
    per_example = np.sqrt((delta ** 2).sum(axis=(1, 2)))
    assert per_example[2] > 100 * per_example[1]


def test_fgm_runs_label_their_train_loss_as_the_clean_one() -> None:
    from densexp_tui.core.config import TrainSection
    from densexp_tui.engine.losses import labelled_loss_events

    seen: list[dict[str, Any]] = []
    for adversarial in ("fgm", "none"):
        emit = labelled_loss_events(lambda kind, **fields: seen.append(fields),
                                    TrainSection(adversarial=adversarial))
        emit("step", step=1)
        emit("status", status="running")
    assert [s.get("loss_excludes_adversarial") for s in seen] == [True, None, False, None]


def _events(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["kind"] == kind]


def _majority_rate(run_dir: Path) -> float:
    confusion = np.asarray(_events(run_dir, "epoch")[-1]["val"]["confusion"])
    return float(confusion.sum(axis=1).max() / confusion.sum())


def test_fgm_tiny_bert_trains_and_says_what_it_costs(tiny_run_config: RunConfig,
                                                     runs_dir: Path) -> None:
    from densexp_tui.engine.trainer import train

    # the plain tiny-bert test's settings (test_trainer.py), plus FGM at the DESIGN default
    # epsilon 1.0 (in embedding-coordinate units; in raw units 1.0 stopped it learning)
    cfg = apply_overrides(tiny_run_config, ["data.max_samples=1500", "data.max_length=48",
                                            "train.epochs=4", "train.learning_rate=3e-3",
                                            "train.adversarial=fgm"])
    assert cfg.train.adversarial_epsilon == 1.0
    result = train(cfg, RunStore(runs_dir))
    assert result.status == "completed"
    assert result.run_dir is not None
    assert result.best is not None
    # the same bar as the plain tiny-bert test in test_trainer.py
    assert result.best["accuracy"] >= _majority_rate(result.run_dir) + 0.25
    messages = [e.get("message", "") for e in _events(result.run_dir, "status")]
    assert any("two forward/backward passes" in str(m) for m in messages)
    assert any("units of one embedding coordinate" in str(m) for m in messages)
    assert _events(result.run_dir, "epoch")[-1]["loss_excludes_adversarial"] is True
    assert "two forward/backward passes" in (result.run_dir / "log.txt").read_text()
    assert (result.run_dir / "checkpoints" / "best.weights.h5").is_file()


def test_smoothed_runs_label_their_train_loss(tiny_run_config: RunConfig,
                                             runs_dir: Path) -> None:
    from densexp_tui.engine.trainer import train

    cfg = apply_overrides(tiny_run_config, ["train.label_smoothing=0.2", "train.epochs=1"])
    result = train(cfg, RunStore(runs_dir))
    assert result.status == "completed" and result.run_dir is not None
    steps, epochs = _events(result.run_dir, "step"), _events(result.run_dir, "epoch")
    assert steps and all(s["loss_includes_smoothing"] is True for s in steps)
    assert epochs[-1]["loss_includes_smoothing"] is True
    # validation loss is the plain cross-entropy of the best weights, not the smoothed one
    best_val = next(e for e in epochs if e["epoch"] == result.best_epoch)["val"]
    assert best_val["loss"] == pytest.approx(_plain_val_loss(result.run_dir, cfg), rel=1e-4)


def _plain_val_loss(run_dir: Path, cfg: RunConfig) -> float:
    from densexp_tui.engine.data import load_dataset, split_dataset, tokenize_texts
    from densexp_tui.engine.models import load_trained_model, model_logits
    from densexp_tui.engine.trainer import cross_entropy

    splits = split_dataset(load_dataset(cfg.data, seed=cfg.run.seed), cfg.data.val_fraction,
                           cfg.data.test_fraction, cfg.run.seed)
    built = load_trained_model(run_dir)
    assert built.tokenizer is not None and splits.val.texts is not None
    ids = tokenize_texts(built.tokenizer, splits.val.texts, built.max_length)
    width = max(len(row) for row in ids)
    pad = built.tokenizer.pad_token_id or 0
    input_ids = np.array([row + [pad] * (width - len(row)) for row in ids], dtype=np.int32)
    mask = (np.arange(width)[None, :] < np.array([len(r) for r in ids])[:, None]).astype(np.int32)
    logits = model_logits(built.model, {"input_ids": input_ids, "attention_mask": mask})
    return cross_entropy(np.asarray(logits, dtype=np.float64), np.asarray(splits.val.labels))


def test_fgm_with_lora_is_cancelled_and_resumed_like_any_run(tiny_run_config: RunConfig,
                                                               runs_dir: Path) -> None:
    """FGM replaces only train_step: with LoRA adapters, a cancel after epoch 1 and a resume
    from the checkpoint behave as for a plain run (events, adapters, final status)."""
    import threading

    from densexp_tui.core.events import Event
    from densexp_tui.engine.resume import resume
    from densexp_tui.engine.trainer import train

    cfg = apply_overrides(tiny_run_config, ["data.max_samples=300", "data.max_length=32",
                                            "train.epochs=2", "model.finetune=lora",
                                            "train.adversarial=fgm"])
    cancel = threading.Event()

    def stop_after_epoch_one(event: Event) -> None:
        if event.kind == "epoch" and event.get("epoch") == 1:
            cancel.set()

    store = RunStore(runs_dir)
    first = train(cfg, store, cancel=cancel, on_event=stop_after_epoch_one)
    assert first.status == "cancelled"
    resumed = resume(first.run_id, store)
    assert resumed.status == "completed", resumed.message
    run_dir = store.run_dir(first.run_id)
    assert [e.get("epoch") for e in _events(run_dir, "epoch")] == [1, 2]
    assert all(e["loss_excludes_adversarial"] is True for e in _events(run_dir, "epoch"))
    statuses = [e.get("status") for e in _events(run_dir, "status")]
    assert statuses.count("resumed") == 1
    assert (run_dir / "adapters.npz").is_file()
