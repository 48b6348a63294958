"""Model factory: tiny-bert, local or cached Hugging Face models, and the mlp.

``build_model(cfg, splits, run_dir)`` returns a ``BuiltModel`` whose model is built, has its
fine-tuning mode applied (``engine/finetune.py``) and outputs *logits*: the trainer
compiles it with ``SparseCategoricalCrossentropy(from_logits=True)``. transformers models
return a ``TFSequenceClassifierOutput``; their own ``train_step`` picks ``logits`` out of it
for a compiled loss, and ``model_logits`` does the same for a forward pass.

What a run directory gets from here (so ``load_trained_model`` can rebuild the model from
the run alone, without the original model folder or the network):

- ``tokenizer/``            the tokenizer (trained for tiny-bert, copied for HF models)
- ``model_config/``         ``config.json`` of the transformers model (labels included),
                            or ``mlp.json`` (features, layer widths, labels) for the mlp
- ``checkpoints/best.weights.h5`` and ``last.weights.h5``   written by the trainer with
                            ``model.save_weights`` (names: ``checkpoint_path``)
- ``adapters.npz`` + ``adapters.json``   LoRA runs: ``engine.lora.save_adapters``

TensorFlow and transformers are imported inside functions, so importing this module is
cheap (the TUI may import it to show names and constants).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from densexp_tui.core.catalog import (
    MODEL_WEIGHT_FILES,
    hf_hub_cache_dir,
    hub_cache_snapshot,
    hub_id_of_cache_folder,
    hub_offline,
    pytorch_weights_only,
    read_model_config,
    torch_installed,
    weight_files_in,
)
from densexp_tui.core.errors import ModelError
from densexp_tui.engine.archspec import supported_families, unsupported_message
from densexp_tui.engine.finetune import (  # re-exported: the contract names them here
    FinetuneInfo,
    apply_finetune,
    count_params,
)

__all__ = [
    "BuiltModel", "ModelSource", "apply_finetune", "build_model", "check_model_input",
    "checkpoint_path", "count_params", "load_base_model", "load_trained_model", "model_logits",
    "resolve_model_source",
    "tiny_bert_config",
]

TINY_BERT = "tiny-bert"
MLP = "mlp"
# tiny-bert's shape: small enough to train on CPU in seconds per epoch.
TINY_BERT_SIZES = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
}
TINY_BERT_MIN_POSITIONS = 256
TOKENIZER_VOCAB_SIZE = 4000
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

TOKENIZER_DIR = "tokenizer"
MODEL_CONFIG_DIR = "model_config"
MLP_CONFIG_FILE = "mlp.json"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_FILES = {"best": "best.weights.h5", "last": "last.weights.h5"}
ADAPTERS_FILE = "adapters.npz"

# A hub id: "name" or "org/name" of letters, digits, '-', '_' and '.'.
HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# Model types whose position ids start after the padding id (RoBERTa's create_position_ids):
# a sequence can use max_position_embeddings - (pad_token_id + 1) positions, 512 of 514.
POSITIONS_AFTER_PADDING = frozenset({
    "roberta", "xlm-roberta", "camembert", "mpnet", "longformer", "roberta-prelayernorm",
})


@dataclass
class BuiltModel:
    """A ready-to-compile model and what the trainer and the views need to know about it."""

    model: Any
    tokenizer: Any | None
    kind: str  # "bert" (any transformers model) | "mlp"
    trainable_params: int
    total_params: int
    arch: str  # transformers class name, or "mlp"
    finetune: str = "full"
    label_names: list[str] = field(default_factory=list)
    source: str = ""  # "builtin", a local folder, or "hub:<id>"
    max_length: int = 0  # tokenizer truncation length (0 for the mlp)
    finetune_info: FinetuneInfo | None = None


@dataclass(frozen=True)
class ModelSource:
    """Where ``model.name`` points: a builtin, a local folder, or a hub id."""

    kind: str  # "tiny-bert" | "mlp" | "local" | "hub"
    name: str
    path: Path | None = None


def checkpoint_path(run_dir: str | Path, which: str = "best") -> Path:
    """``run_dir/checkpoints/best.weights.h5`` or ``last.weights.h5``: the trainer writes
    these with ``model.save_weights``; ``load_trained_model`` reads them."""
    return Path(run_dir) / CHECKPOINTS_DIR / CHECKPOINT_FILES[which]


def model_logits(model: Any, inputs: Any, training: bool = False) -> Any:
    """The logits tensor of a forward pass, for transformers models and the mlp alike."""
    outputs = model(inputs, training=training)
    return getattr(outputs, "logits", outputs)


# ---------------------------------------------------------------------------------------
# Resolving model.name (no TensorFlow)


def resolve_model_source(name: str, base_dir: Path | None = None) -> ModelSource:
    """Classify ``model.name``; a missing folder, a folder without config.json or weights,
    a hub cache folder (its hub id is suggested), or a malformed hub id is a one-line
    ModelError. A hub id is only looked up in the local cache: offline, its cached
    snapshot must hold weights this install can load."""
    if name in (TINY_BERT, MLP):
        return ModelSource(name, name)
    candidate = Path(name).expanduser()
    if not candidate.is_absolute() and base_dir is not None:
        candidate = base_dir / candidate
    if candidate.is_dir():
        _refuse_hub_cache_folder(candidate)
        check_model_dir(candidate)
        return ModelSource("local", name, candidate.resolve())
    if name.startswith(("/", "./", "../", "~")) or candidate.exists():
        raise ModelError(
            f"{candidate} is not a folder; allowed: tiny-bert, mlp, a model folder or a hub id",
            key="model.name",
        )
    close = difflib.get_close_matches(name.lower(), (TINY_BERT, MLP), n=1, cutoff=0.8)
    if close and "/" not in name:  # "tinybert", "tiny_bert": a typo, not a hub id
        raise ModelError(f"unknown model {name!r}, did you mean {close[0]}? allowed: tiny-bert, "
                         "mlp, a model folder or a hub id", key="model.name")
    if not HUB_ID_PATTERN.match(name):
        raise ModelError(
            f"{name!r} is neither a builtin, a folder nor a hub id; allowed: tiny-bert, mlp, "
            "a model folder (config.json + weights) or a hub id like org/name",
            key="model.name",
        )
    snapshot = hub_cache_snapshot(name)
    if snapshot is not None and hub_offline():  # online, missing TF weights may download
        check_model_dir(snapshot)
    return ModelSource("hub", name)


def _refuse_hub_cache_folder(folder: Path) -> None:
    """``.../models--org--name`` is huggingface_hub's storage, not a model folder: say which
    hub id names it (and which cache to point at, if it is not the one in use)."""
    hub_id = hub_id_of_cache_folder(folder)
    if hub_id is None or (folder / "config.json").is_file():
        return
    cache = folder.parent.resolve()
    where = "" if cache == hf_hub_cache_dir().resolve() else f" with HF_HUB_CACHE={cache}"
    raise ModelError(
        f"{folder} is a Hugging Face cache folder, not a model folder; allowed: its hub id, "
        f"model.name = \"{hub_id}\"{where}, or one of its snapshots/<revision> folders",
        key="model.name",
    )


def check_model_dir(model_dir: Path) -> None:
    """A ModelError naming the folder and the files expected, if it cannot be loaded."""
    if not (model_dir / "config.json").is_file():
        raise ModelError(
            f"{model_dir} has no config.json; allowed: a Hugging Face model folder "
            "(config.json, weights, tokenizer files)",
            key="model.name",
        )
    if weight_files_in(model_dir):
        return
    torch_only = pytorch_weights_only(model_dir)
    if torch_only:
        raise ModelError(
            f"{model_dir} has only PyTorch weights ({torch_only[0]}), and loading them into "
            "TensorFlow needs PyTorch, which is not installed; allowed: "
            + " or ".join(MODEL_WEIGHT_FILES[::2])
            + " (save_pretrained(..., safe_serialization=True) where PyTorch is installed)",
            key="model.name",
        )
    raise ModelError(
        f"{model_dir} has no model weights; expected one of " + ", ".join(MODEL_WEIGHT_FILES),
        key="model.name",
    )


def check_model_input(cfg: Any) -> ModelSource:
    """The model source of ``cfg``, after the checks that need no TensorFlow (BadInput).

    On top of ``resolve_model_source``: with the model's config.json at hand (a local
    folder or a cached hub snapshot), ``model.finetune`` head/bitfit/lora must name a
    supported family (``full`` runs any TF sequence classifier) and ``data.max_length``
    must fit the model's position embeddings. ``build_model`` calls it first, so a bad
    choice is refused before any run directory exists.
    """
    source = resolve_model_source(cfg.model.name, getattr(cfg, "base_dir", None))
    folder = _model_folder(source)
    config = read_model_config(folder) if folder is not None else None
    if config is not None:
        _check_finetune_family(source, config, cfg.model.finetune)
        _check_max_length(source, config, int(cfg.data.max_length))
    return source


def _model_folder(source: ModelSource) -> Path | None:
    """Where the model's files are on disk: its folder, or its cached hub snapshot."""
    if source.kind == "local":
        return source.path
    if source.kind == "hub":
        return hub_cache_snapshot(source.name)
    return None


def _check_finetune_family(source: ModelSource, config: dict[str, object], mode: str) -> None:
    model_type = config.get("model_type")
    if mode == "full" or not isinstance(model_type, str) or model_type in supported_families():
        return
    raise ModelError(unsupported_message(f"{source.name} (model_type {model_type})", repr(mode)),
                     key="model.finetune")


def _check_max_length(source: ModelSource, config: dict[str, object], max_length: int) -> None:
    """Refuse a max_length beyond the absolute position embeddings; a DeBERTa-v2/v3 with
    ``position_biased_input = false`` has only relative positions and takes any length."""
    positions = config.get("max_position_embeddings")
    if not isinstance(positions, int) or config.get("position_biased_input") is False:
        return
    usable, note = positions, ""
    pad = config.get("pad_token_id")
    if config.get("model_type") in POSITIONS_AFTER_PADDING and isinstance(pad, int):
        usable, note = positions - (pad + 1), f", the first {pad + 1} reserved for padding"
    if max_length > usable:
        raise ModelError(
            f"{max_length} is more than {source.name} can take: {usable} tokens "
            f"(max_position_embeddings {positions}{note}); allowed: data.max_length <= {usable}",
            key="data.max_length",
        )


# ---------------------------------------------------------------------------------------
# Building


def build_model(cfg: Any, splits: Any, run_dir: Path | None) -> BuiltModel:
    """The model ``cfg.model`` names, built, fine-tuning mode applied, ready to compile.

    Seeds TF/NumPy/Python with ``cfg.run.seed`` first, so the same config gives the same
    initial weights (tiny-bert's base, heads, LoRA A). Writes ``tokenizer/`` and
    ``model_config/`` into ``run_dir`` (skipped when None). Raises ModelError for a model
    that does not exist, cannot load, or does not fit the data (text vs tabular).
    """
    source = check_model_input(cfg)
    train = splits.train
    _check_data_fits(source, train.kind)
    import tf_keras

    tf_keras.utils.set_random_seed(int(cfg.run.seed))
    labels = [str(name) for name in train.label_names]
    if source.kind == MLP:
        model = build_mlp(train.features.shape[1], len(labels), cfg.model.hidden_units,
                          cfg.model.dropout, train_features=train.features)
        tokenizer, max_length = None, 0
    else:
        max_length = int(cfg.data.max_length)
        tokenizer = _get_tokenizer(source, train.texts, max_length, run_dir)
        model = _load_transformer(source, cfg, labels, tokenizer)
    info = apply_finetune(model, cfg.model)
    if run_dir is not None:
        _save_description(Path(run_dir), source, model, tokenizer, labels, cfg)
    return _built(model, tokenizer, source, info, labels, max_length)


def _built(model: Any, tokenizer: Any, source: ModelSource, info: FinetuneInfo,
           labels: list[str], max_length: int) -> BuiltModel:
    kind = "mlp" if source.kind == MLP else "bert"
    return BuiltModel(
        model=model, tokenizer=tokenizer, kind=kind,
        trainable_params=info.trainable_params, total_params=info.total_params,
        arch="mlp" if kind == "mlp" else type(model).__name__, finetune=info.mode,
        label_names=labels, source=_source_label(source), max_length=max_length,
        finetune_info=info,
    )


def _source_label(source: ModelSource) -> str:
    if source.kind == "local":
        return str(source.path)
    if source.kind == "hub":
        return f"hub:{source.name}"
    return "builtin"


def _check_data_fits(source: ModelSource, data_kind: str) -> None:
    if source.kind == MLP and data_kind != "tabular":
        raise ModelError("mlp needs tabular data (features); allowed for text data: "
                         "tiny-bert, a model folder or a hub id", key="model.name")
    if source.kind != MLP and data_kind != "text":
        raise ModelError(f"{source.name} needs text data; allowed for tabular data: mlp",
                         key="model.name")


def _label_maps(labels: list[str]) -> dict[str, Any]:
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }


# --- tiny-bert ---------------------------------------------------------------------------


def train_wordpiece_tokenizer(texts: list[str], max_length: int,
                              vocab_size: int = TOKENIZER_VOCAB_SIZE) -> Any:
    """A lower-casing BERT WordPiece tokenizer for ``texts``, as a BertTokenizerFast.

    The vocabulary is the special tokens, the characters of the corpus (each also as a
    ``##`` continuation, so an unseen word splits into characters instead of becoming
    [UNK]), then the most frequent words, up to ``vocab_size``. It is counted with the
    tokenizers library's WordLevelTrainer, which breaks ties by word; WordPieceTrainer is
    not used because it gives a different vocabulary from run to run on the same texts
    (hash-map order, huggingface/tokenizers#1794), and a re-run must see the same ids.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertTokenizerFast

    vocab = _wordpiece_vocab(_words_by_frequency(texts), vocab_size)
    backend = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]",
                                         continuing_subword_prefix="##"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return BertTokenizerFast(
        tokenizer_object=backend, model_max_length=max_length, do_lower_case=True,
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]",
    )


def _words_by_frequency(texts: list[str]) -> list[str]:
    """Every pre-tokenized (BERT-normalised) word of ``texts``, most frequent first."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from tokenizers.trainers import WordLevelTrainer

    counter = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    counter.normalizer = normalizers.BertNormalizer(lowercase=True)
    counter.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counter.train_from_iterator(texts, WordLevelTrainer(vocab_size=2**31 - 1, special_tokens=[]))
    ids = counter.get_vocab()
    return sorted(ids, key=ids.__getitem__)


def _wordpiece_vocab(words: list[str], vocab_size: int, max_chars: int = 300) -> dict[str, int]:
    """Specials, characters (plain and ##), then whole words, in a fixed order."""
    chars: dict[str, None] = {}
    for word in words:
        for char in word:
            chars.setdefault(char)
    alphabet = list(chars)[:max_chars]
    tokens = list(SPECIAL_TOKENS) + alphabet + ["##" + char for char in alphabet]
    known = set(tokens)
    room = max(vocab_size - len(tokens), 0)
    tokens += [word for word in words if word not in known][:room]
    return {token: i for i, token in enumerate(tokens)}


def tiny_bert_config(vocab_size: int, labels: list[str], dropout: float = 0.1,
                     max_length: int = 128, pad_token_id: int = 0) -> Any:
    """The BertConfig of tiny-bert (sizes in TINY_BERT_SIZES); dropout is model.dropout."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        max_position_embeddings=max(TINY_BERT_MIN_POSITIONS, max_length),
        type_vocab_size=2,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        pad_token_id=pad_token_id,
        architectures=["BertForSequenceClassification"],
        **TINY_BERT_SIZES,
        **_label_maps(labels),
    )


def build_from_config(config: Any) -> Any:
    """A randomly initialised transformers classifier for ``config``, built (weights exist)."""
    from transformers import TFAutoModelForSequenceClassification

    model = TFAutoModelForSequenceClassification.from_config(config)
    model.build_in_name_scope()
    return model


# --- tokenizers and Hugging Face models ---------------------------------------------------


def _get_tokenizer(source: ModelSource, texts: list[str] | None, max_length: int,
                   run_dir: Path | None) -> Any:
    """The run's tokenizer: one already in ``run_dir/tokenizer`` (a resumed run), a new
    WordPiece for tiny-bert, else the model's own."""
    saved = Path(run_dir) / TOKENIZER_DIR if run_dir is not None else None
    if saved is not None and (saved / "tokenizer_config.json").is_file():
        return _load_tokenizer(saved, max_length)
    if source.kind == TINY_BERT:
        if not texts:
            raise ModelError("tiny-bert trains its tokenizer on the training texts, and there "
                             "are none", key="data")
        return train_wordpiece_tokenizer(list(texts), max_length)
    if source.kind == "local" and source.path is not None:
        return _load_tokenizer(source.path, max_length)
    return _load_hub_tokenizer(source.name, max_length)


def _load_tokenizer(path: Path | str, max_length: int, **kwargs: Any) -> Any:
    """A tokenizer from a folder or a hub id (``from_pretrained`` takes either)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), **kwargs)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(
            f"cannot load a tokenizer from {path} ({_first_line(exc)}); expected tokenizer.json "
            "or the vocabulary files of its model (vocab.txt, or vocab.json + merges.txt)",
            key="model.name",
        ) from None
    if tokenizer is None or isinstance(tokenizer, bool):
        raise ModelError(f"no tokenizer files in {path}; expected tokenizer.json or vocab.txt",
                         key="model.name")
    tokenizer.model_max_length = max_length
    return tokenizer


def _load_transformer(source: ModelSource, cfg: Any, labels: list[str], tokenizer: Any) -> Any:
    if source.kind == TINY_BERT:
        config = tiny_bert_config(len(tokenizer), labels, cfg.model.dropout,
                                  int(cfg.data.max_length), tokenizer.pad_token_id)
        return build_from_config(config)
    if source.kind == "local" and source.path is not None:
        return _from_pretrained(str(source.path), labels, **_weights_kwargs(source.path))
    return _load_hub_model(source.name, labels)


def _weights_kwargs(folder: Path | None) -> dict[str, Any]:
    """``from_pt=True`` for a folder with only pytorch_model.bin (check_model_dir has made
    sure PyTorch is installed then); nothing otherwise."""
    if folder is not None and pytorch_weights_only(folder) and torch_installed():
        return {"from_pt": True}
    return {}


def _from_pretrained(name_or_path: str, labels: list[str], **kwargs: Any) -> Any:
    """TFAutoModelForSequenceClassification with our labels; a new head if sizes differ.

    A PyTorch ``model.safetensors`` loads without PyTorch (transformers < 4.55).
    """
    from transformers import TFAutoModelForSequenceClassification

    try:
        return TFAutoModelForSequenceClassification.from_pretrained(
            name_or_path, ignore_mismatched_sizes=True, **_label_maps(labels), **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot load {name_or_path} as a TF sequence classifier "
                         f"({_first_line(exc)})", key="model.name") from None


def _not_cached_error(repo_id: str) -> ModelError:
    return ModelError(
        f"{repo_id!r} is neither a local model folder nor in the Hugging Face cache "
        f"({hf_hub_cache_dir()}), and downloads are off (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE); "
        "allowed: tiny-bert, mlp, a model folder, or a hub id that is cached or reachable online",
        key="model.name",
    )


def _load_hub_model(repo_id: str, labels: list[str]) -> Any:
    """From the local cache first (no network); online only if the user allows downloads."""
    cache_dir = str(hf_hub_cache_dir())
    snapshot = hub_cache_snapshot(repo_id)
    if snapshot is not None:
        try:
            return _from_pretrained(repo_id, labels, local_files_only=True, cache_dir=cache_dir,
                                    **_weights_kwargs(snapshot))
        except ModelError:
            if hub_offline():
                raise
    if hub_offline():
        raise _not_cached_error(repo_id)
    return _from_pretrained(repo_id, labels, cache_dir=cache_dir)


def _load_hub_tokenizer(repo_id: str, max_length: int) -> Any:
    cache_dir = str(hf_hub_cache_dir())
    if hub_cache_snapshot(repo_id) is not None:
        try:
            return _load_tokenizer(repo_id, max_length, local_files_only=True, cache_dir=cache_dir)
        except ModelError:
            if hub_offline():
                raise
    if hub_offline():
        raise _not_cached_error(repo_id)
    return _load_tokenizer(repo_id, max_length, cache_dir=cache_dir)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:300]


# --- mlp -----------------------------------------------------------------------------------


def build_mlp(num_features: int, num_labels: int, hidden_units: list[int], dropout: float,
              train_features: Any | None = None) -> Any:
    """Normalization (adapted on the training features) -> Dense+ReLU+Dropout -> logits."""
    import numpy as np
    import tf_keras

    normalize = tf_keras.layers.Normalization(axis=-1, name="normalize")
    if train_features is not None:
        normalize.adapt(np.asarray(train_features, dtype="float32"))
    layers: list[Any] = [tf_keras.Input(shape=(int(num_features),), name="features"), normalize]
    for i, units in enumerate(hidden_units):
        layers.append(tf_keras.layers.Dense(int(units), activation="relu", name=f"dense_{i}"))
        layers.append(tf_keras.layers.Dropout(dropout, name=f"dropout_{i}"))
    layers.append(tf_keras.layers.Dense(int(num_labels), name="logits"))
    return tf_keras.Sequential(layers, name="mlp")


# ---------------------------------------------------------------------------------------
# Run directory: what build_model writes and load_trained_model reads


def _save_description(run_dir: Path, source: ModelSource, model: Any, tokenizer: Any,
                      labels: list[str], cfg: Any) -> None:
    config_dir = run_dir / MODEL_CONFIG_DIR
    config_dir.mkdir(parents=True, exist_ok=True)
    if source.kind == MLP:
        description = {
            "num_features": int(model.input_shape[-1]),
            "hidden_units": [int(u) for u in cfg.model.hidden_units],
            "dropout": float(cfg.model.dropout),
            "labels": labels,
        }
        (config_dir / MLP_CONFIG_FILE).write_text(json.dumps(description, indent=2))
        return
    model.config.save_pretrained(str(config_dir))
    tokenizer_dir = run_dir / TOKENIZER_DIR
    if not (tokenizer_dir / "tokenizer_config.json").is_file():
        tokenizer.save_pretrained(str(tokenizer_dir))


def load_trained_model(run_dir: str | Path, checkpoint: str = "best") -> BuiltModel:
    """Rebuild a run's model from its directory and load its weights.

    Weights come from ``checkpoints/<checkpoint>.weights.h5`` (falling back to the other
    checkpoint), else from ``adapters.npz`` on top of the base model (tiny-bert's base is
    re-created from the run's seed; a folder or hub model is loaded again). The model gets
    the run's fine-tuning mode before the weights load, because the h5 layout follows the
    trainable/frozen split.
    """
    from densexp_tui.core.config import load_config

    run_dir = Path(run_dir)
    cfg = load_config(run_dir / "config.toml")
    config_dir = run_dir / MODEL_CONFIG_DIR
    if (config_dir / MLP_CONFIG_FILE).is_file():
        model, labels = _rebuild_mlp(config_dir / MLP_CONFIG_FILE)
        info = apply_finetune(model, cfg.model)
        _load_checkpoint(model, run_dir, checkpoint, allow_adapters=False)
        return _built(model, None, ModelSource(MLP, MLP), info, labels, 0)
    return _reload_transformer(run_dir, cfg, checkpoint)


def _reload_transformer(run_dir: Path, cfg: Any, checkpoint: str) -> BuiltModel:
    if _find_checkpoint(run_dir, checkpoint) is None:  # adapters only: base + adapters
        if not (run_dir / ADAPTERS_FILE).is_file():
            raise _no_weights_error(run_dir, allow_adapters=True)
        built = load_base_model(run_dir)
        _load_checkpoint(built.model, run_dir, checkpoint, allow_adapters=True)
        return built
    # Every weight comes from the checkpoint: the original model folder or hub id is not
    # needed, so a run survives its base model being moved or deleted.
    config, labels, tokenizer = _saved_description(run_dir, cfg)
    model = build_from_config(config)
    info = apply_finetune(model, cfg.model)
    _load_checkpoint(model, run_dir, checkpoint, allow_adapters=False)
    return _built(model, tokenizer, _recorded_source(cfg.model.name), info, labels,
                  int(cfg.data.max_length))


def load_base_model(run_dir: str | Path) -> BuiltModel:
    """A run's model as it was before training: base weights, fine-tuning mode set up,
    fresh head and adapters. This is what ``lora.load_adapters`` turns into the trained
    model. tiny-bert's base is its random init, re-created from the run's seed and saved
    tokenizer; a folder or hub model is loaded again (it must still exist).
    """
    import tf_keras

    from densexp_tui.core.config import load_config

    run_dir = Path(run_dir)
    cfg = load_config(run_dir / "config.toml")
    config, labels, tokenizer = _saved_description(run_dir, cfg)
    tf_keras.utils.set_random_seed(int(cfg.run.seed))  # the same initial weights as the run
    if cfg.model.name == TINY_BERT:
        source = ModelSource(TINY_BERT, TINY_BERT)
        model = build_from_config(config)
    else:
        source = resolve_model_source(cfg.model.name, getattr(cfg, "base_dir", None))
        model = _load_transformer(source, cfg, labels, tokenizer)
    info = apply_finetune(model, cfg.model)
    return _built(model, tokenizer, source, info, labels, int(cfg.data.max_length))


def _saved_description(run_dir: Path, cfg: Any) -> tuple[Any, list[str], Any]:
    """The transformers config, label names and tokenizer a run saved."""
    from transformers import AutoConfig

    config_dir = run_dir / MODEL_CONFIG_DIR
    if not (config_dir / "config.json").is_file():
        raise ModelError(f"no {MODEL_CONFIG_DIR}/config.json; allowed: a run directory whose "
                         "model was built", file=run_dir)
    config = AutoConfig.from_pretrained(str(config_dir))
    labels = [config.id2label[i] for i in range(config.num_labels)]
    tokenizer = _load_tokenizer(run_dir / TOKENIZER_DIR, int(cfg.data.max_length))
    return config, labels, tokenizer


def _recorded_source(name: str) -> ModelSource:
    """The source a run recorded, without checking that it still exists."""
    if name in (TINY_BERT, MLP):
        return ModelSource(name, name)
    path = Path(name).expanduser()
    return ModelSource("local", name, path) if path.is_absolute() else ModelSource("hub", name)


def _rebuild_mlp(description_file: Path) -> tuple[Any, list[str]]:
    description = json.loads(description_file.read_text())
    labels = list(description["labels"])
    model = build_mlp(description["num_features"], len(labels), description["hidden_units"],
                      description["dropout"])
    return model, labels


def _find_checkpoint(run_dir: Path, which: str) -> Path | None:
    order = [which] + [other for other in CHECKPOINT_FILES if other != which]
    for name in order:
        path = checkpoint_path(run_dir, name)
        if path.is_file():
            return path
    return None


def _load_checkpoint(model: Any, run_dir: Path, which: str, *, allow_adapters: bool) -> None:
    path = _find_checkpoint(run_dir, which)
    if path is not None:
        try:
            model.load_weights(str(path))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load weights ({_first_line(exc)})", file=path) from None
        return
    adapters = run_dir / ADAPTERS_FILE
    if allow_adapters and adapters.is_file():
        from densexp_tui.engine.lora import load_adapters

        load_adapters(model, adapters)
        return
    raise _no_weights_error(run_dir, allow_adapters)


def _no_weights_error(run_dir: Path, allow_adapters: bool) -> ModelError:
    return ModelError(
        f"no weights: expected {CHECKPOINTS_DIR}/{CHECKPOINT_FILES['best']}, "
        f"{CHECKPOINTS_DIR}/{CHECKPOINT_FILES['last']}"
        + (f" or {ADAPTERS_FILE}" if allow_adapters else ""),
        file=run_dir,
    )
