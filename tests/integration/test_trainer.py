"""The trainer end to end on tiny models: learning, cancel, determinism, divergence, bad input.

Each test trains for seconds on the CPU; TensorFlow is imported once per test process.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from densexp_tui.core.config import RunConfig, apply_overrides, parse_config
from densexp_tui.core.errors import BadInput, ConfigError, DataError
from densexp_tui.core.events import Event, read_events
from densexp_tui.core.runstore import RunStore

pytestmark = pytest.mark.slow


def _train(cfg: RunConfig, runs_dir: Path, **kwargs):
    from densexp_tui.engine.trainer import train

    return train(cfg, RunStore(runs_dir), **kwargs)


def _kinds(run_dir: Path) -> list[str]:
    return [e.kind for e in read_events(run_dir / "events.jsonl").events]


def test_tiny_bert_learns_reviews(tiny_run_config: RunConfig, runs_dir: Path) -> None:
    cfg = apply_overrides(tiny_run_config, ["data.max_samples=1500", "data.max_length=48",
                                            "train.epochs=4", "train.learning_rate=3e-3"])
    events: list[Event] = []
    result = _train(cfg, runs_dir, on_event=events.append)

    assert result.status == "completed", result.message
    val_counts = np.asarray(result.best["confusion"]).sum(axis=1)  # rows: true classes
    majority_rate = val_counts.max() / val_counts.sum()
    assert result.best["accuracy"] >= majority_rate + 0.25
    kinds = _kinds(result.run_dir)
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("epoch") == 4 and "test" in kinds and "step" in kinds
    assert [e.kind for e in events] == kinds  # on_event saw exactly what was written
    step = next(e for e in events if e.kind == "step").data
    assert set(step) >= {"epoch", "step", "loss", "accuracy", "learning_rate", "samples_per_sec"}
    test = next(e for e in events if e.kind == "test").data
    assert "precision" in test["report"] and len(test["confusion"]) == 3


def test_mlp_on_wine_writes_a_complete_run(tiny_mlp_config: RunConfig, runs_dir: Path) -> None:
    result = _train(tiny_mlp_config, runs_dir)

    assert result.status == "completed", result.message
    assert result.best["accuracy"] >= 0.85
    run_dir = result.run_dir
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_done"] == 15
    assert summary["best_epoch"] == result.best_epoch
    assert set(summary["best"]) == {"loss", "accuracy", "f1"}
    assert summary["test"]["accuracy"] == pytest.approx(result.test["accuracy"])
    assert 0 < summary["params"]["trainable"] <= summary["params"]["total"]
    checkpoints = run_dir / "checkpoints"
    for name in ("best.weights.h5", "last.weights.h5", "state.json", "optimizer.npz"):
        assert (checkpoints / name).is_file(), name
    state = json.loads((checkpoints / "state.json").read_text())
    assert state["epoch"] == 15 and state["optimizer_iterations"] == state["global_step"]
    assert list((run_dir / "tb" / "train").glob("events.out.tfevents.*"))
    assert list((run_dir / "tb" / "val").glob("events.out.tfevents.*"))
    assert (run_dir / "config.toml").is_file() and (run_dir / "log.txt").is_file()


def test_cancel_mid_epoch_stops_with_a_readable_log(tiny_mlp_config: RunConfig,
                                                    runs_dir: Path) -> None:
    cfg = apply_overrides(tiny_mlp_config, ["data.name=digits", "train.log_every_steps=1",
                                            "train.batch_size=8", "train.epochs=50"])
    cancel = threading.Event()

    def on_event(event: Event) -> None:
        if event.kind == "step":
            cancel.set()

    result = _train(cfg, runs_dir, cancel=cancel, on_event=on_event)

    assert result.status == "cancelled"
    assert "step 2" in result.message  # the first step logged, then the very next batch
    log = read_events(result.run_dir / "events.jsonl")
    assert log.skipped == 0
    assert [e.kind for e in log.events][-2:] == ["status", "run_finished"]
    assert "epoch" not in [e.kind for e in log.events]  # stopped inside epoch 1
    summary = RunStore(runs_dir).read_summary(result.run_id)
    assert summary.status == "cancelled" and summary.finished


def test_deterministic_runs_repeat_exactly(tiny_mlp_config: RunConfig, runs_dir: Path) -> None:
    cfg = apply_overrides(tiny_mlp_config, ["run.deterministic=true", "train.epochs=3",
                                            "model.dropout=0.3"])
    first = _train(cfg, runs_dir)
    second = _train(cfg, runs_dir)

    assert first.status == second.status == "completed"
    assert first.run_id != second.run_id
    assert _epoch_metrics(first.run_dir) == _epoch_metrics(second.run_dir)
    assert first.test == second.test


def _epoch_metrics(run_dir: Path) -> list[tuple]:
    return [(e.data["train"]["loss"], e.data["val"]["loss"], e.data["val"]["accuracy"])
            for e in read_events(run_dir / "events.jsonl").events if e.kind == "epoch"]


def test_nan_loss_stops_as_diverged_naming_the_step(tiny_mlp_config: RunConfig, runs_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.engine import data

    real_load = data.load_dataset

    def load_with_a_nan(*args, **kwargs):  # one bad value in the data poisons the loss
        dataset = real_load(*args, **kwargs)
        dataset.features[:, 0] = np.nan
        return dataset

    monkeypatch.setattr(data, "load_dataset", load_with_a_nan)
    result = _train(tiny_mlp_config, runs_dir)

    assert result.status == "diverged"
    # NaN inputs give NaN gradients at step 1; the loss shows it from step 2 on.
    assert re.search(r"loss became nan at step [12] \(epoch 1\)", result.message)
    summary = RunStore(runs_dir).read_summary(result.run_id)
    assert summary.status == "diverged" and summary.message == result.message
    last_step = [e for e in read_events(result.run_dir / "events.jsonl").events
                 if e.kind == "step"][-1]
    assert last_step.data["loss"] is None  # JSON has no NaN: stored as null


def test_huge_learning_rate_diverges(tiny_mlp_config: RunConfig, runs_dir: Path) -> None:
    # tiny-bert's LayerNorms keep it finite even at lr 10; a plain mlp with SGD does blow up.
    cfg = apply_overrides(tiny_mlp_config, ["train.optimizer=sgd", "train.learning_rate=10",
                                            "train.grad_clip_norm=0", "train.lr_schedule=constant",
                                            "model.dropout=0", "train.epochs=5"])
    result = _train(cfg, runs_dir)

    assert result.status == "diverged", result.message
    assert re.search(r"loss became (nan|inf|-inf) at step \d+ \(epoch \d+\)", result.message)
    assert result.test is None


def test_bad_data_raises_before_any_run_exists(tmp_path: Path, runs_dir: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('[data]\nsource = "csv"\npath = "missing.csv"\n')
    from densexp_tui.core.config import load_config

    with pytest.raises(DataError) as err:
        _train(load_config(config), runs_dir)
    assert "missing.csv" in str(err.value) and "\n" not in str(err.value)
    assert not runs_dir.exists() or not [p for p in runs_dir.iterdir()]


def test_gpu_without_a_gpu_is_bad_input(tiny_mlp_config: RunConfig, runs_dir: Path) -> None:
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    for overrides, expected in ((["device.device=gpu"], "no GPU"),
                                (["device.device=auto", "device.mixed_precision=float16"],
                                 "needs a GPU")):
        with pytest.raises(ConfigError, match=expected):
            _train(apply_overrides(tiny_mlp_config, overrides), runs_dir)
    assert not runs_dir.exists() or not list(runs_dir.iterdir())


def test_a_given_handle_is_used_and_closed(tiny_mlp_config: RunConfig, runs_dir: Path) -> None:
    store = RunStore(runs_dir)
    handle = store.create_run(tiny_mlp_config)
    cfg = apply_overrides(tiny_mlp_config, ["train.epochs=2"])
    result = _train(cfg, runs_dir, handle=handle)

    assert result.run_id == handle.run_id and result.status == "completed"
    assert [p.name for p in runs_dir.iterdir()] == [handle.run_id]


def test_bad_input_with_a_given_handle_marks_the_run_failed(runs_dir: Path) -> None:
    cfg = parse_config({"data": {"source": "csv", "path": "/nonexistent/data.csv"}})
    handle = RunStore(runs_dir).create_run(cfg)
    with pytest.raises(BadInput):
        _train(cfg, runs_dir, handle=handle)
    summary = RunStore(runs_dir).read_summary(handle.run_id)
    assert summary.status == "failed" and "data.csv" in summary.message
