"""Fine-tuning modes (engine/finetune.py) and LoRA (engine/lora.py) on real tiny TF models.

Parameter counts are derived here from the BertConfig arithmetic, independently of the code
under test. The head of a BERT classifier is its ``classifier`` Dense only: the pooler is
part of the pretrained BertModel and is frozen with the encoder (it trains in full mode,
and its bias trains in bitfit).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

import densexp_tui  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from densexp_tui.core.config import LORA_TARGETS, RunConfig, save_config
from densexp_tui.core.errors import ModelError
from densexp_tui.engine.data import Dataset, Splits
from densexp_tui.engine.finetune import allowed_lora_targets, apply_finetune, count_params
from densexp_tui.engine.models import (
    build_from_config,
    build_model,
    checkpoint_path,
    load_base_model,
    load_trained_model,
    model_logits,
    tiny_bert_config,
)

pytestmark = pytest.mark.slow

ALL_TARGETS = ["query", "key", "value", "output", "intermediate", "ffn_output"]
TEXTS = ["great sound and a solid build", "awful battery, it broke in a week",
         "it is okay, nothing special", "not bad at all for the price"] * 8
LABELS = ["negative", "neutral", "positive"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# --- helpers ------------------------------------------------------------------------------------


def model_cfg(finetune: str, rank: int = 4, alpha: float = 8.0, dropout: float = 0.0,
              targets: list[str] | None = None):
    cfg = RunConfig().model
    cfg.finetune = finetune
    cfg.lora_rank, cfg.lora_alpha, cfg.lora_dropout = rank, alpha, dropout
    cfg.lora_targets = list(targets or ["query", "value"])
    return cfg


def tiny_bert(num_labels: int = 3, vocab: int = 120, seed: int = 7):
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    return build_from_config(tiny_bert_config(vocab, LABELS[:num_labels], dropout=0.1))


def tiny_distilbert(num_labels: int = 3, seed: int = 7):
    import tf_keras
    from transformers import DistilBertConfig

    tf_keras.utils.set_random_seed(seed)
    return build_from_config(DistilBertConfig(vocab_size=120, dim=32, n_layers=2, n_heads=2,
                                              hidden_dim=48, max_position_embeddings=64,
                                              num_labels=num_labels))


def tiny_roberta(num_labels: int = 3, seed: int = 7):
    import tf_keras
    from transformers import RobertaConfig

    tf_keras.utils.set_random_seed(seed)
    return build_from_config(RobertaConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2,
                                           num_attention_heads=2, intermediate_size=48,
                                           max_position_embeddings=64, num_labels=num_labels))


def batch(n: int = 6, length: int = 10, vocab: int = 120, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, size=(n, length)).astype("int32")
    mask = np.ones_like(ids)
    mask[0, length // 2:] = 0  # one padded row, so masking is exercised too
    return {"input_ids": ids, "attention_mask": mask}


def train_a_little(model, steps: int = 3, vocab: int = 120, num_labels: int = 3) -> None:
    """A few real optimizer steps through Keras fit (as the trainer will run them)."""
    import tf_keras

    x = batch(8 * steps, vocab=vocab, seed=1)
    y = np.arange(8 * steps) % num_labels
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-2),
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)


def checksums(variables) -> dict[int, str]:
    return {id(v): hashlib.sha256(v.numpy().tobytes()).hexdigest() for v in variables}


def bert_counts(config, rank: int = 4, targets: list[str] | None = None) -> dict[str, int]:
    """Trainable parameters per mode, from the BertConfig alone."""
    h, i, n = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    v, p, t, c = (config.vocab_size, config.max_position_embeddings, config.type_vocab_size,
                  config.num_labels)
    embeddings = (v + p + t) * h + 2 * h  # word, position, token type, LayerNorm
    block = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h
    pooler = h * h + h
    head = h * c + c
    biases = h + n * (4 * h + h + i + h + h) + h  # LN beta; q k v o, LN, ffn in/out, LN; pooler
    shapes = {"query": (h, h), "key": (h, h), "value": (h, h), "output": (h, h),
              "intermediate": (h, i), "ffn_output": (i, h)}
    lora = n * sum(rank * sum(shapes[name]) for name in (targets or ["query", "value"]))
    total = embeddings + n * block + pooler + head
    return {"total": total, "full": total, "head": head, "bitfit": head + biases,
            "lora": head + lora, "lora_total": total + lora}


# --- parameter counts -----------------------------------------------------------------------------


@pytest.mark.parametrize("finetune", ["full", "head", "bitfit", "lora"])
def test_tiny_bert_trainable_parameters(finetune: str) -> None:
    model = tiny_bert()
    info = apply_finetune(model, model_cfg(finetune))
    expected = bert_counts(model.config)
    assert info.trainable_params == expected[finetune]
    assert count_params(model) == (info.trainable_params, info.total_params)
    assert info.total_params == expected["lora_total" if finetune == "lora" else "total"]


def test_tiny_bert_lora_on_every_target() -> None:
    model = tiny_bert()
    info = apply_finetune(model, model_cfg("lora", rank=3, targets=ALL_TARGETS))
    assert info.trainable_params == bert_counts(model.config, 3, ALL_TARGETS)["lora"]
    assert len(info.lora_layers) == 6 * model.config.num_hidden_layers


def test_build_model_reports_the_same_counts() -> None:
    cfg = RunConfig()
    cfg.model.finetune = "bitfit"
    ds = Dataset("text", TEXTS, None, np.arange(len(TEXTS)) % 3, LABELS, "t")
    built = build_model(cfg, Splits(ds, ds, ds, LABELS), None)
    expected = bert_counts(built.model.config)
    assert (built.trainable_params, built.total_params) == (expected["bitfit"], expected["total"])
    assert built.finetune == "bitfit"


# --- LoRA at initialisation -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [tiny_bert, tiny_distilbert, tiny_roberta])
def test_lora_at_init_leaves_logits_unchanged(make) -> None:
    model = make()
    before = model_logits(model, batch()).numpy()
    apply_finetune(model, model_cfg("lora", dropout=0.1, targets=ALL_TARGETS))
    after = model_logits(model, batch()).numpy()
    np.testing.assert_array_equal(after, before)


def test_lora_freezes_the_wrapped_dense() -> None:
    from densexp_tui.engine.lora import LoRADense, lora_layers

    model = tiny_bert()
    apply_finetune(model, model_cfg("lora"))
    layers = lora_layers(model)
    assert layers and all(isinstance(layer, LoRADense) for layer in layers)
    trainable = {id(v) for v in model.trainable_weights}
    for layer in layers:
        assert layer.base.trainable is False
        assert id(layer.base.kernel) not in trainable and id(layer.base.bias) not in trainable
        assert {id(layer.lora_a.kernel), id(layer.lora_b.kernel)} <= trainable
        assert not np.any(layer.lora_b.kernel.numpy())  # B starts at zero
    query = model.bert.encoder.layer[0].attention.self_attention.query
    assert isinstance(query, LoRADense)  # the attribute itself was replaced


# --- frozen stays frozen --------------------------------------------------------------------------


@pytest.mark.parametrize("finetune", ["head", "bitfit", "lora"])
def test_training_changes_only_trainable_weights(finetune: str) -> None:
    model = tiny_bert()
    apply_finetune(model, model_cfg(finetune))
    trainable_ids = {id(v) for v in model.trainable_weights}
    frozen = [v for v in model.weights if id(v) not in trainable_ids]
    before_frozen = checksums(frozen)
    before_trainable = checksums(model.trainable_weights)
    train_a_little(model)
    assert checksums(frozen) == before_frozen, "a frozen weight moved"
    after_trainable = checksums(model.trainable_weights)
    unchanged = [v.name for v in model.trainable_weights
                 if after_trainable[id(v)] == before_trainable[id(v)]
                 # softmax ignores a constant added to every score: the key bias gets no gradient
                 and "/key/bias" not in v.name]
    assert unchanged == []


@pytest.mark.parametrize("make", [tiny_distilbert, tiny_roberta])
@pytest.mark.parametrize("finetune", ["bitfit", "lora"])
def test_distilbert_and_roberta_accept_bitfit_and_lora(make, finetune: str) -> None:
    model = make()
    info = apply_finetune(model, model_cfg(finetune, targets=ALL_TARGETS))
    head_names = ("pre_classifier", "classifier") if "DistilBert" in info.arch else ("classifier",)
    head = sum(int(np.prod(v.shape)) for name in head_names for v in getattr(model, name).weights)
    assert info.trainable_params > head
    trainable_ids = {id(v) for v in model.trainable_weights}
    frozen = [v for v in model.weights if id(v) not in trainable_ids]
    head_ids = {id(v) for name in head_names for v in getattr(model, name).weights}
    if finetune == "bitfit":  # every bias and LayerNorm beta trains, nothing else outside the head
        assert not [v.name for v in frozen if v.name.endswith(("bias:0", "beta:0"))]
        assert all(v.name.endswith(("bias:0", "beta:0")) for v in model.trainable_weights
                   if id(v) not in head_ids)
    else:  # only adapters train outside the head
        assert len(info.lora_layers) == 6 * 2
        assert all("/lora_" in v.name for v in model.trainable_weights if id(v) not in head_ids)
    before = checksums(frozen)
    train_a_little(model)
    assert checksums(frozen) == before


def test_distilbert_lora_targets_map_to_its_own_layer_names() -> None:
    model = tiny_distilbert()
    info = apply_finetune(model, model_cfg("lora", targets=["query", "ffn_output"]))
    assert info.lora_layers == [
        "distilbert.transformer.layer.0.attention.q_lin", "distilbert.transformer.layer.0.ffn.lin2",
        "distilbert.transformer.layer.1.attention.q_lin", "distilbert.transformer.layer.1.ffn.lin2",
    ]


# --- errors ---------------------------------------------------------------------------------------


def test_unknown_target_lists_the_allowed_ones() -> None:
    with pytest.raises(ModelError) as err:
        apply_finetune(tiny_bert(), model_cfg("lora", targets=["query", "q_proj"]))
    assert "'q_proj'" in str(err.value) and ", ".join(ALL_TARGETS) in str(err.value)


def test_unsupported_architecture_lists_the_supported_ones() -> None:
    import tf_keras
    from transformers import ConvBertConfig

    tf_keras.utils.set_random_seed(0)
    convbert = build_from_config(ConvBertConfig(vocab_size=50, embedding_size=16, hidden_size=32,
                                                num_hidden_layers=1, num_attention_heads=2,
                                                intermediate_size=32))
    with pytest.raises(ModelError) as err:
        apply_finetune(convbert, model_cfg("lora"))
    message = str(err.value)
    assert "finetune 'lora' does not support TFConvBertForSequenceClassification" in message
    assert "distilbert" in message and "albert" in message and "tiny-bert" in message
    assert apply_finetune(convbert, model_cfg("full")).mode == "full"  # full works on anything


def test_allowed_targets_match_the_config_validator() -> None:
    assert allowed_lora_targets() == list(LORA_TARGETS) == ALL_TARGETS


def test_apply_finetune_is_idempotent_and_refuses_a_second_mode() -> None:
    model = tiny_bert()
    first = apply_finetune(model, model_cfg("lora"))
    assert apply_finetune(model, model_cfg("lora")) is first  # no double wrapping
    with pytest.raises(ModelError, match="already set up for finetune 'lora'"):
        apply_finetune(model, model_cfg("head"))
    with pytest.raises(ModelError, match="other settings"):
        apply_finetune(model, model_cfg("lora", rank=16))


# --- adapters, merge, export ----------------------------------------------------------------------


def _lora_run(tmp_path: Path, targets: list[str]) -> tuple[Path, object, dict]:
    """A LoRA run directory as the trainer leaves it: config, checkpoint, adapters."""
    from densexp_tui.engine.lora import save_adapters

    cfg = RunConfig()
    cfg.model.finetune = "lora"
    cfg.model.lora_rank, cfg.model.lora_alpha, cfg.model.lora_targets = 4, 8.0, targets
    cfg.data.max_length = 16
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    save_config(cfg, run_dir / "config.toml")
    ds = Dataset("text", TEXTS, None, np.arange(len(TEXTS)) % 3, LABELS, "t")
    built = build_model(cfg, Splits(ds, ds, ds, LABELS), run_dir)
    vocab = len(built.tokenizer)
    train_a_little(built.model, vocab=vocab)
    checkpoint_path(run_dir).parent.mkdir()
    built.model.save_weights(str(checkpoint_path(run_dir)))
    save_adapters(built.model, run_dir / "adapters.npz")
    x = batch(vocab=vocab)
    return run_dir, built, x


def test_adapters_load_onto_a_fresh_base(tmp_path: Path) -> None:
    from densexp_tui.engine.lora import load_adapters, read_adapters_meta

    run_dir, built, x = _lora_run(tmp_path, ["query", "value", "intermediate"])
    trained = model_logits(built.model, x).numpy()
    meta = read_adapters_meta(run_dir / "adapters.npz")
    assert (meta["rank"], meta["alpha"]) == (4, 8.0)
    assert meta["targets"] == ["query", "value", "intermediate"]
    adapters_size = (run_dir / "adapters.npz").stat().st_size
    assert adapters_size < checkpoint_path(run_dir).stat().st_size / 5

    # A fresh base from the same seed (tiny-bert's base is its seeded random init).
    fresh = load_base_model(run_dir)
    assert not np.allclose(model_logits(fresh.model, x).numpy(), trained, atol=1e-5)
    load_adapters(fresh.model, run_dir / "adapters.npz")
    np.testing.assert_allclose(model_logits(fresh.model, x).numpy(), trained, atol=1e-5)


def test_load_trained_model_from_adapters_alone(tmp_path: Path) -> None:
    run_dir, built, x = _lora_run(tmp_path, ["query", "value"])
    trained = model_logits(built.model, x).numpy()
    checkpoint_path(run_dir).unlink()
    reloaded = load_trained_model(run_dir)
    np.testing.assert_allclose(model_logits(reloaded.model, x).numpy(), trained, atol=1e-5)


def test_adapters_refuse_a_model_with_other_settings(tmp_path: Path) -> None:
    from densexp_tui.engine.lora import load_adapters

    run_dir, _built, _x = _lora_run(tmp_path, ["query", "value"])
    other = tiny_bert(vocab=120)
    apply_finetune(other, model_cfg("lora", rank=2))
    with pytest.raises(ModelError, match="adapters have rank 4 but the model has 2"):
        load_adapters(other, run_dir / "adapters.npz")


@pytest.mark.parametrize("make", [tiny_bert, tiny_distilbert, tiny_roberta])
def test_merge_keeps_the_logits(make) -> None:
    from densexp_tui.engine.lora import LoRADense, lora_layers, merge_lora

    model = make()
    apply_finetune(model, model_cfg("lora", targets=ALL_TARGETS))
    train_a_little(model)
    x = batch()
    trained = model_logits(model, x).numpy()
    assert merge_lora(model) == 12
    assert lora_layers(model) == []
    assert not any(isinstance(layer, LoRADense) for layer in model._flatten_layers())
    np.testing.assert_allclose(model_logits(model, x).numpy(), trained, atol=1e-5)


def test_export_merged_is_a_plain_hf_model_with_the_same_predictions(tmp_path: Path) -> None:
    from transformers import AutoTokenizer, TFAutoModelForSequenceClassification

    from densexp_tui.engine.export import export_merged

    run_dir, built, x = _lora_run(tmp_path, ["query", "value", "ffn_output"])
    trained = model_logits(built.model, x).numpy()
    out = export_merged(run_dir, tmp_path / "merged")
    assert (out / "config.json").is_file() and (out / "tf_model.h5").is_file()
    exported = TFAutoModelForSequenceClassification.from_pretrained(str(out))
    assert exported.config.id2label == dict(enumerate(LABELS))
    assert not any("lora" in v.name for v in exported.weights)
    np.testing.assert_allclose(model_logits(exported, x).numpy(), trained, atol=1e-5)
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert tokenizer.get_vocab() == built.tokenizer.get_vocab()
    with pytest.raises(ModelError, match="not empty"):
        export_merged(run_dir, out)


# --- end to end with the trainer ------------------------------------------------------------------


def test_lora_tiny_bert_on_reviews_beats_majority(tmp_path: Path) -> None:
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.engine.trainer import train

    cfg = RunConfig()
    cfg.run.name = "lora-reviews"
    cfg.model.finetune = "lora"
    cfg.model.lora_rank, cfg.model.lora_alpha = 8, 16.0
    cfg.model.lora_targets = ["query", "value"]
    cfg.train.epochs, cfg.train.batch_size, cfg.train.learning_rate = 4, 32, 5e-3
    cfg.train.lr_schedule, cfg.train.warmup_ratio = "constant", 0.0
    result = train(cfg, RunStore(tmp_path / "runs"))
    assert result.status == "completed", result
    confusion = np.asarray(result.test["confusion"])
    majority = confusion.sum(axis=1).max() / confusion.sum()
    assert result.test["accuracy"] >= majority + 0.2
    run_dir = RunStore(tmp_path / "runs").run_dir(result.run_id)
    assert (run_dir / "adapters.npz").is_file(), "a LoRA run saves engine.lora.save_adapters"
