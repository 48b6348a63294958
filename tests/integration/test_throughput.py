"""Speed features on real tiny runs: token counts on epoch events, the XLA train step and
its fallback when XLA cannot compile the model, and why bucketing leaves what the model
computes for a row unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.events import Event, read_events
from densexp_tui.core.runstore import RunStore, read_summary_file

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _train(cfg: RunConfig, runs_dir: Path):
    from densexp_tui.engine.trainer import train

    return train(cfg, RunStore(runs_dir))


def _events(run_dir: Path, kind: str) -> list[Event]:
    return [e for e in read_events(run_dir / "events.jsonl").events if e.kind == kind]


@pytest.mark.timeout(600)  # passed in ~60 s alone; the shared 2-core machine can take far longer
def test_epoch_events_count_the_train_splits_real_and_padded_tokens(
        tiny_run_config: RunConfig, runs_dir: Path) -> None:
    from transformers import AutoTokenizer

    from densexp_tui.engine.data import load_dataset, split_dataset

    cfg = apply_overrides(tiny_run_config, ["data.max_samples=300", "train.epochs=2"])
    result = _train(cfg, runs_dir)
    assert result.status == "completed", result.message

    # The real tokens are exactly the train split's token ids, every epoch.
    splits = split_dataset(load_dataset(cfg.data, seed=cfg.run.seed), cfg.data.val_fraction,
                           cfg.data.test_fraction, cfg.run.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(result.run_dir / "tokenizer"))
    ids = tokenizer(splits.train.texts, truncation=True, max_length=cfg.data.max_length)
    real = sum(len(row) for row in ids["input_ids"])
    epochs = _events(result.run_dir, "epoch")
    assert [e.get("tokens")["real"] for e in epochs] == [real, real]
    for event in epochs:
        padded = event.get("tokens")["padded"]
        assert real <= padded < 1.5 * real  # bucketed and padded to a multiple of 8


def test_tabular_runs_carry_no_token_counts(tiny_mlp_config: RunConfig, runs_dir: Path) -> None:
    result = _train(tiny_mlp_config, runs_dir)
    assert result.status == "completed", result.message
    assert all("tokens" not in e.data for e in _events(result.run_dir, "epoch"))
    summary = read_summary_file(result.run_dir)  # `densexp show` prints what auto chose
    assert summary is not None
    assert summary.xla == "off (train.jit_compile = auto: off on the CPU, measured slower there)"


def test_xla_on_trains_and_says_so_in_the_log(tiny_mlp_config: RunConfig, runs_dir: Path) -> None:
    result = _train(apply_overrides(tiny_mlp_config, ["train.jit_compile=on"]), runs_dir)
    assert result.status == "completed", result.message
    assert result.best["accuracy"] >= 0.85
    assert "XLA: on for the train step" in (result.run_dir / "log.txt").read_text()
    summary = read_summary_file(result.run_dir)
    assert summary is not None and summary.xla == "on (train.jit_compile = on)"


def test_a_model_xla_cannot_compile_trains_without_it(
        tiny_mlp_config: RunConfig, runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A train step holding a Python op (XLA cannot compile those): the run says so in its
    log and a status message, then trains to the same bar without XLA."""
    import tensorflow as tf

    from densexp_tui.engine import models

    real_build = models.build_model

    def build_with_a_python_op(*args, **kwargs):
        built = real_build(*args, **kwargs)
        plain_step = built.model.train_step

        def train_step(data):
            logs = plain_step(data)
            tf.numpy_function(lambda: np.float32(0), [], tf.float32)  # stateful: kept
            return logs

        built.model.train_step = train_step
        return built

    monkeypatch.setattr(models, "build_model", build_with_a_python_op)
    result = _train(apply_overrides(tiny_mlp_config, ["train.jit_compile=on"]), runs_dir)

    assert result.status == "completed", result.message
    assert result.best["accuracy"] >= 0.85
    log = (result.run_dir / "log.txt").read_text()
    assert "XLA could not compile the train step" in log
    messages = [e.get("message") for e in _events(result.run_dir, "status")]
    assert any("XLA could not compile the train step" in (m or "") for m in messages)
    steps = [e.get("step") for e in _events(result.run_dir, "step")]
    assert steps == sorted(set(steps))  # the failed attempt left no steps behind
    summary = read_summary_file(result.run_dir)
    assert summary is not None and summary.xla.startswith("off: could not compile")


def test_the_xla_fallback_matches_a_run_that_never_tried(
        tiny_mlp_config: RunConfig, runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Falling back repeats the run from its start: same numbers as jit_compile = off."""
    from densexp_tui.engine import throughput

    deterministic = apply_overrides(tiny_mlp_config, ["run.deterministic=true"])
    plain = _train(apply_overrides(deterministic, ["train.jit_compile=off"]), runs_dir)

    def failing_xla_step(model):
        plain_step = model.train_step

        def fail(data):
            raise tf_errors.InvalidArgumentError(None, None, "Detected unsupported operations")

        model.train_step = fail
        return plain_step

    from tensorflow import errors as tf_errors

    monkeypatch.setattr(throughput, "_use_xla_train_step", failing_xla_step)
    fallen_back = _train(apply_overrides(deterministic, ["train.jit_compile=on"]), runs_dir)
    assert fallen_back.status == "completed", fallen_back.message
    assert fallen_back.test["loss"] == pytest.approx(plain.test["loss"], abs=1e-9)
    assert fallen_back.best["accuracy"] == plain.best["accuracy"]


@pytest.mark.timeout(600)  # two tiny-bert runs: a loaded 2-core machine needs minutes
def test_bucketed_text_runs_repeat_exactly(tiny_run_config: RunConfig, runs_dir: Path) -> None:
    """data.batching = bucketed (the default) keeps deterministic runs identical."""
    cfg = apply_overrides(tiny_run_config, ["data.max_samples=150", "train.epochs=1",
                                            "run.deterministic=true", "data.batching=bucketed"])
    first, second = _train(cfg, runs_dir), _train(cfg, runs_dir)
    assert first.status == second.status == "completed", first.message
    assert first.test["loss"] == second.test["loss"]
    assert first.best["confusion"] == second.best["confusion"]
    losses = [[e.get("loss") for e in _events(run.run_dir, "step")] for run in (first, second)]
    assert losses[0] == losses[1] and losses[0]


def test_bucketing_changes_which_rows_share_a_batch_not_what_the_model_computes() -> None:
    """A row's logits are the same whether it is padded to 8 (bucketed) or to its random
    batch's longest row: bucketing can change accuracy only through the order and company
    of rows, never through the padding the attention mask hides."""
    from densexp_tui.engine.data import make_text_pipeline
    from densexp_tui.engine.models import build_from_config, model_logits, tiny_bert_config

    rng = np.random.default_rng(0)
    lengths = np.minimum(rng.lognormal(3.2, 0.8, 96).astype(int) + 2, 128)
    token_ids = [list(rng.integers(5, 300, length)) for length in lengths]
    row_numbers = np.arange(len(token_ids))  # carried as "labels" to know each row
    model = build_from_config(tiny_bert_config(300, ["a", "b", "c"], dropout=0.0))
    logits_of_row: dict[str, dict[int, np.ndarray]] = {}
    widths: dict[str, set[int]] = {}
    for batching in ("random", "bucketed"):
        logits_of_row[batching], widths[batching] = {}, set()
        for inputs, rows in make_text_pipeline(token_ids, row_numbers, 16, True, 7,
                                               batching=batching, pad_to_multiple_of=8,
                                               max_width=128):
            widths[batching].add(int(inputs["input_ids"].shape[1]))
            for row, logits in zip(rows.numpy(), model_logits(model, inputs).numpy(),
                                   strict=True):
                logits_of_row[batching][int(row)] = logits
    assert sorted(logits_of_row["random"]) == list(range(len(token_ids)))
    assert widths["random"] != widths["bucketed"]  # the same rows, padded differently
    for row, logits in logits_of_row["random"].items():
        np.testing.assert_allclose(logits, logits_of_row["bucketed"][row], atol=1e-5)
