"""engine/models.py: tiny-bert, local and cached Hugging Face models, the mlp, reloading runs.

Real TensorFlow with tiny models; nothing downloads (HF_HUB_OFFLINE=1, temp HF cache).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

import densexp_tui  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from densexp_tui.core.config import RunConfig, save_config
from densexp_tui.core.errors import ModelError
from densexp_tui.engine.data import Dataset, Splits
from densexp_tui.engine.models import (
    BuiltModel,
    build_model,
    checkpoint_path,
    load_trained_model,
    model_logits,
    resolve_model_source,
    train_wordpiece_tokenizer,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("offline_hf")]

LABELS = ["negative", "neutral", "positive"]
TEXTS = [
    "great sound and a solid build", "awful battery, it broke in a week",
    "it is okay, nothing special", "not bad at all for the price",
    "terrible customer service", "the design is fine I guess",
] * 6


def text_splits(labels: list[str] = LABELS) -> Splits:
    y = np.arange(len(TEXTS)) % len(labels)
    ds = Dataset("text", list(TEXTS), None, y, list(labels), "test texts")
    return Splits(ds, ds, ds, list(labels))


def tabular_splits(n_features: int = 5) -> Splits:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(60, n_features)).astype("float32")
    y = (x[:, 0] > 3.0).astype(np.int64)
    ds = Dataset("tabular", None, x, y, ["low", "high"], "test table")
    return Splits(ds, ds, ds, ["low", "high"])


def run_config(name: str = "tiny-bert", finetune: str = "full", **model: object) -> RunConfig:
    cfg = RunConfig()
    cfg.model.name = name
    cfg.model.finetune = finetune
    cfg.data.max_length = 32
    for key, value in model.items():
        setattr(cfg.model, key, value)
    return cfg


def encode(built: BuiltModel, texts: list[str] = TEXTS[:6]) -> dict:
    return dict(built.tokenizer(texts, padding=True, truncation=True, max_length=32,
                                return_tensors="tf", return_token_type_ids=False))


def save_tiny_hf_model(folder: Path, num_labels: int = 2, arch: str = "bert",
                       safetensors: bool = False) -> Path:
    """A tiny random transformers classifier + tokenizer saved with save_pretrained."""
    from transformers import (
        BertConfig,
        DistilBertConfig,
        TFAutoModelForSequenceClassification,
    )

    tokenizer = train_wordpiece_tokenizer(TEXTS, 32)
    if arch == "bert":
        config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                            num_attention_heads=2, intermediate_size=64, num_labels=num_labels)
    else:
        config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=1, n_heads=2,
                                  hidden_dim=64, num_labels=num_labels)
    model = TFAutoModelForSequenceClassification.from_config(config)
    model.build_in_name_scope()
    model.save_pretrained(str(folder), safe_serialization=safetensors)
    tokenizer.save_pretrained(str(folder))
    return folder


def weights_by_key(model) -> dict[str, np.ndarray]:
    return {v.name.split(":")[0].split("/", 1)[1]: v.numpy() for v in model.weights}


# --- tiny-bert ------------------------------------------------------------------------------


def test_tiny_bert_builds_and_writes_what_a_reload_needs(tmp_path: Path) -> None:
    built = build_model(run_config(), text_splits(), tmp_path)
    assert built.kind == "bert" and built.arch == "TFBertForSequenceClassification"
    assert built.model.config.num_labels == 3
    assert built.model.config.id2label == dict(enumerate(LABELS))
    assert built.model.config.hidden_size == 64 and built.model.config.num_hidden_layers == 2
    assert built.trainable_params == built.total_params > 0
    assert built.label_names == LABELS and built.max_length == 32
    assert model_logits(built.model, encode(built)).shape == (6, 3)
    assert (tmp_path / "tokenizer" / "tokenizer.json").is_file()
    saved_config = json.loads((tmp_path / "model_config" / "config.json").read_text())
    assert saved_config["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}


def test_tiny_bert_dropout_comes_from_the_config() -> None:
    built = build_model(run_config(dropout=0.25), text_splits(), None)
    assert built.model.config.hidden_dropout_prob == 0.25


def test_same_seed_same_tokenizer_and_weights() -> None:
    first = build_model(run_config(), text_splits(), None)
    second = build_model(run_config(), text_splits(), None)
    assert first.tokenizer.get_vocab() == second.tokenizer.get_vocab()
    np.testing.assert_array_equal(model_logits(first.model, encode(first)),
                                  model_logits(second.model, encode(second)))


def test_wordpiece_tokenizer_splits_unknown_words_into_pieces() -> None:
    tokenizer = train_wordpiece_tokenizer(TEXTS, 16)
    assert tokenizer.tokenize("Great soundss") == ["great", "sound", "##s", "##s"]
    assert tokenizer.tokenize("zap") == ["[UNK]"]  # no 'z' anywhere in the training texts
    ids = tokenizer("great sound")["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert tokenizer.pad_token_id == 0


def test_resumed_run_reuses_the_saved_tokenizer(tmp_path: Path) -> None:
    build_model(run_config(), text_splits(), tmp_path)
    saved = json.loads((tmp_path / "tokenizer" / "tokenizer.json").read_text())
    other = Splits(*(3 * [Dataset("text", ["completely different words"] * 4,
                                  None, np.arange(4) % 3, LABELS, "x")]), LABELS)
    built = build_model(run_config(), other, tmp_path)
    assert built.tokenizer.get_vocab() == saved["model"]["vocab"]


# --- the mlp ----------------------------------------------------------------------------------


def test_mlp_normalises_with_training_statistics() -> None:
    splits = tabular_splits()
    built = build_model(run_config("mlp", hidden_units=[8, 4]), splits, None)
    assert built.kind == "mlp" and built.tokenizer is None
    assert model_logits(built.model, splits.train.features).shape == (60, 2)
    normalize = built.model.get_layer("normalize")
    np.testing.assert_allclose(normalize.mean.numpy().ravel(),
                               splits.train.features.mean(axis=0), rtol=1e-4)
    dense = [5 * 8 + 8, 8 * 4 + 4, 4 * 2 + 2]
    assert built.trainable_params == sum(dense)
    assert built.total_params == sum(dense) + 2 * 5 + 1  # mean, variance, count


def test_mlp_needs_tabular_data_and_bert_needs_text() -> None:
    with pytest.raises(ModelError, match="mlp needs tabular data"):
        build_model(run_config("mlp"), text_splits(), None)
    with pytest.raises(ModelError, match="needs text data"):
        build_model(run_config(), tabular_splits(), None)


def test_mlp_refuses_other_finetune_modes() -> None:
    with pytest.raises(ModelError, match="allowed for mlp: full"):
        build_model(run_config("mlp", finetune="lora"), tabular_splits(), None)


# --- local folders ------------------------------------------------------------------------------


def test_local_folder_loads_with_our_number_of_labels(tmp_path: Path) -> None:
    folder = save_tiny_hf_model(tmp_path / "saved", num_labels=2)
    built = build_model(run_config(str(folder)), text_splits(), tmp_path / "run")
    assert built.model.config.num_labels == 3  # head re-sized: 2 saved labels -> 3 of ours
    assert built.source == str(folder.resolve())
    assert model_logits(built.model, encode(built)).shape == (6, 3)
    saved = weights_by_key(_reload_plain(folder))
    loaded = weights_by_key(built.model)
    key = "bert/encoder/layer_._0/attention/self/query/kernel"
    np.testing.assert_array_equal(loaded[key], saved[key])  # encoder came from the folder
    assert (tmp_path / "run" / "tokenizer" / "tokenizer_config.json").is_file()


def _reload_plain(folder: Path):
    from transformers import TFAutoModelForSequenceClassification

    return TFAutoModelForSequenceClassification.from_pretrained(str(folder))


def test_relative_folder_is_resolved_against_the_toml(tmp_path: Path) -> None:
    save_tiny_hf_model(tmp_path / "models" / "mine")
    cfg = run_config("models/mine")
    cfg.source_path = tmp_path / "run.toml"
    assert build_model(cfg, text_splits(), None).source == str((tmp_path / "models/mine").resolve())


def test_local_folder_with_tf_safetensors(tmp_path: Path) -> None:
    folder = save_tiny_hf_model(tmp_path / "st", arch="distilbert", safetensors=True)
    assert (folder / "model.safetensors").is_file() and not (folder / "tf_model.h5").exists()
    built = build_model(run_config(str(folder)), text_splits(), None)
    assert built.arch == "TFDistilBertForSequenceClassification"


def test_local_folder_with_pytorch_safetensors_loads_without_torch(tmp_path: Path) -> None:
    """What a folder downloaded from the hub usually holds: PyTorch weights as safetensors."""
    from safetensors.numpy import save_file
    from transformers.modeling_tf_pytorch_utils import (
        TransposeType,
        convert_tf_weight_name_to_pt_weight_name,
    )

    folder = save_tiny_hf_model(tmp_path / "pt")
    tf_model = _reload_plain(folder)
    tensors = {}
    for variable in tf_model.weights:
        name, transpose = convert_tf_weight_name_to_pt_weight_name(
            variable.name, tf_weight_shape=variable.shape)
        value = variable.numpy()
        if transpose is TransposeType.SIMPLE:  # Keras kernels are (in, out), torch's (out, in)
            value = value.T
        tensors[name] = np.ascontiguousarray(value)
    (folder / "tf_model.h5").unlink()
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    built = build_model(run_config(str(folder)), text_splits(), None)
    key = "bert/encoder/layer_._0/output/dense/kernel"
    np.testing.assert_array_equal(weights_by_key(built.model)[key], weights_by_key(tf_model)[key])


def test_folder_without_weights_names_the_files_expected(tmp_path: Path) -> None:
    folder = save_tiny_hf_model(tmp_path / "noweights")
    (folder / "tf_model.h5").unlink()
    with pytest.raises(ModelError) as err:
        build_model(run_config(str(folder)), text_splits(), None)
    message = str(err.value)
    assert str(folder) in message and "tf_model.h5" in message and "model.safetensors" in message
    assert "\n" not in message and message.startswith("model.name: ")


def test_folder_without_config_json(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no config.json"):
        resolve_model_source(str(tmp_path / "empty"))


def test_missing_path_is_not_mistaken_for_a_hub_id(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is not a folder"):
        resolve_model_source("./no/such/model", tmp_path)


def test_folder_without_tokenizer_files(tmp_path: Path) -> None:
    folder = save_tiny_hf_model(tmp_path / "notok")
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)
    with pytest.raises(ModelError, match="tokenizer"):
        build_model(run_config(str(folder)), text_splits(), None)


# --- hub ids ------------------------------------------------------------------------------------


def test_offline_uncached_hub_id_fails_fast_with_one_line(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(ModelError) as err:
        build_model(run_config("someorg/not-downloaded-bert"), text_splits(), None)
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert "'someorg/not-downloaded-bert'" in message
    assert "neither a local model folder nor in the Hugging Face cache" in message
    assert str(tmp_path / "hf-home" / "hub") in message
    assert "\n" not in message


def test_malformed_name_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="neither a builtin, a folder nor a hub id"):
        resolve_model_source("what is this?")
    with pytest.raises(ModelError, match="did you mean tiny-bert"):
        resolve_model_source("tiny_bert")
    assert resolve_model_source("bert-base-uncased").kind == "hub"


def test_cached_hub_id_loads_offline(tmp_path: Path) -> None:
    """A model in the hub cache (laid out as huggingface_hub writes it) loads with no network."""
    staged = save_tiny_hf_model(tmp_path / "staged")
    repo = tmp_path / "hf-home" / "hub" / "models--someorg--tiny-bert-cached"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for i, path in enumerate(sorted(staged.iterdir())):
        blob = repo / "blobs" / f"{i:04d}"
        blob.write_bytes(path.read_bytes())
        (snapshot / path.name).symlink_to(blob)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    built = build_model(run_config("someorg/tiny-bert-cached"), text_splits(), None)
    assert built.source == "hub:someorg/tiny-bert-cached"
    assert built.model.config.num_labels == 3


# --- reloading a finished run -----------------------------------------------------------------


def _perturb(model) -> None:
    """Stand-in for training: change every trainable weight a little."""
    rng = np.random.default_rng(1)
    for variable in model.trainable_weights:
        variable.assign(variable.numpy() + rng.normal(0, 0.05, variable.shape).astype("float32"))


def _finished_run(tmp_path: Path, cfg: RunConfig, splits: Splits) -> tuple[Path, BuiltModel]:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    save_config(cfg, run_dir / "config.toml")
    built = build_model(cfg, splits, run_dir)
    _perturb(built.model)
    checkpoint_path(run_dir).parent.mkdir()
    built.model.save_weights(str(checkpoint_path(run_dir)))
    return run_dir, built


@pytest.mark.parametrize("finetune", ["full", "bitfit", "lora"])
def test_load_trained_model_reproduces_the_run(tmp_path: Path, finetune: str) -> None:
    cfg = run_config(finetune=finetune, lora_targets=["query", "value", "ffn_output"])
    run_dir, built = _finished_run(tmp_path, cfg, text_splits())
    reloaded = load_trained_model(run_dir)
    assert reloaded.finetune == finetune
    assert (reloaded.trainable_params, reloaded.total_params) == (
        built.trainable_params, built.total_params)
    np.testing.assert_allclose(model_logits(reloaded.model, encode(reloaded)),
                               model_logits(built.model, encode(built)), atol=1e-6)


def test_load_trained_model_mlp(tmp_path: Path) -> None:
    splits = tabular_splits()
    run_dir, built = _finished_run(tmp_path, run_config("mlp", hidden_units=[6]), splits)
    reloaded = load_trained_model(run_dir, checkpoint="last")  # falls back to best
    assert reloaded.kind == "mlp" and reloaded.label_names == ["low", "high"]
    np.testing.assert_allclose(model_logits(reloaded.model, splits.val.features),
                               model_logits(built.model, splits.val.features), atol=1e-6)


def test_load_trained_model_without_weights(tmp_path: Path) -> None:
    cfg = run_config()
    save_config(cfg, tmp_path / "config.toml")
    build_model(cfg, text_splits(), tmp_path)
    with pytest.raises(ModelError, match="no weights: expected checkpoints/best.weights.h5"):
        load_trained_model(tmp_path)
