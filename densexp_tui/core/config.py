"""Run configuration: typed dataclasses, strict TOML loading, saving, overrides and hashing.

Every key a run uses is described once in ``FIELD_SPECS``; loading, ``--set`` overrides and the
TUI's as-you-type validation all go through the same checks, so the messages match everywhere.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

import tomli_w

from densexp_tui.core.errors import ConfigError

DATA_SOURCES = ("builtin", "csv", "jsonl", "parquet", "hf_disk", "keras")
# Sources read from data.path, and those that name a catalog dataset in data.name instead.
FILE_SOURCES = ("csv", "jsonl", "parquet", "hf_disk")
NAMED_SOURCES = ("builtin", "keras")
BUILTIN_DATASETS = ("reviews", "iris", "wine", "breast_cancer", "digits")
KERAS_DATASETS = ("imdb",)
FINETUNE_MODES = ("full", "head", "bitfit", "lora")
# Architecture-neutral names; engine/lora.py maps them onto BERT, DistilBERT and RoBERTa layers.
LORA_TARGETS = ("query", "key", "value", "output", "intermediate", "ffn_output")
OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "linear", "cosine")
EARLY_STOPPING_METRICS = ("val.loss", "val.accuracy", "val.f1")
MIXED_PRECISION = ("off", "float16", "bfloat16")
BATCHING_MODES = ("bucketed", "random")
AUGMENT_OPS = ("swap", "delete", "insert")
JIT_COMPILE_MODES = ("auto", "on", "off")
ADVERSARIAL_MODES = ("none", "fgm")
# auto | cpu | gpu | gpu:N | gpu:all | gpu:0,1 (several GPUs) | cpu:N (N logical CPU devices).
DEVICE_PATTERN = re.compile(r"^(auto|cpu|gpu|gpu:all|gpu:\d+(,\d+)*|cpu:[1-9]\d*)$")
# Builtin sets that are tables of numbers, not text: augmentation and FGM do not apply.
TABULAR_BUILTINS = ("iris", "wine", "breast_cancer", "digits")
RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class RunSection:
    name: str = "quickstart"
    seed: int = 42
    deterministic: bool = False
    parent: str = ""
    sweep: str = ""
    trial: int = -1
    group: str = ""


@dataclass
class DataSection:
    source: str = "builtin"
    name: str = "reviews"
    path: str = ""
    text_column: str = "text"
    label_column: str = "label"
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    max_samples: int = 0
    max_length: int = 128
    batching: str = "bucketed"
    pad_to_multiple_of: int = 8
    augment: list[str] = field(default_factory=list)
    augment_prob: float = 0.1
    # -1: the split (and the max_samples subsample) follow run.seed, as before this key.
    split_seed: int = -1


@dataclass
class ModelSection:
    name: str = "tiny-bert"
    finetune: str = "full"
    dropout: float = 0.1
    hidden_units: list[int] = field(default_factory=lambda: [128, 64])
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_targets: list[str] = field(default_factory=lambda: ["query", "value"])


@dataclass
class TrainSection:
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-4
    optimizer: str = "adamw"
    weight_decay: float = 0.01
    lr_schedule: str = "linear"
    warmup_ratio: float = 0.1
    grad_clip_norm: float = 1.0
    early_stopping_patience: int = 0
    early_stopping_metric: str = "val.loss"
    log_every_steps: int = 10
    jit_compile: str = "auto"
    label_smoothing: float = 0.0
    adversarial: str = "none"
    adversarial_epsilon: float = 1.0


@dataclass
class DeviceSection:
    device: str = "auto"
    mixed_precision: str = "off"


SECTION_TYPES: dict[str, type] = {
    "run": RunSection,
    "data": DataSection,
    "model": ModelSection,
    "train": TrainSection,
    "device": DeviceSection,
}


@dataclass
class RunConfig:
    run: RunSection = field(default_factory=RunSection)
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainSection = field(default_factory=TrainSection)
    device: DeviceSection = field(default_factory=DeviceSection)
    # Where the TOML came from: relative data/model paths are resolved against its folder.
    source_path: Path | None = field(default=None, compare=False)

    @property
    def base_dir(self) -> Path:
        return self.source_path.parent if self.source_path else Path.cwd()

    @property
    def effective_split_seed(self) -> int:
        """The seed of the train/val/test split and the max_samples subsample: data.split_seed
        when set, else run.seed. Runs that share it and the data config share a test split."""
        return self.data.split_seed if self.data.split_seed >= 0 else self.run.seed

    def get(self, key_path: str) -> Any:
        section, key = key_path.split(".", 1)
        return getattr(getattr(self, section), key)


# ---------------------------------------------------------------------------------------------
# Field specifications: the single description of every key, its type and what is allowed.


@dataclass(frozen=True)
class FieldSpec:
    key_path: str
    kind: str  # "int" | "float" | "bool" | "str" | "list[str]" | "list[int]"
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    check: Callable[[Any], str | None] | None = None  # extra rule: returns a problem or None

    def allowed(self) -> str:
        """What is allowed, in words, for error messages and form hints."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind in ("int", "float"):
            noun = "an integer" if self.kind == "int" else "a number"
            bounds = []
            if self.minimum is not None:
                bounds.append((">" if self.min_exclusive else ">=") + f" {self.minimum:g}")
            if self.maximum is not None:
                bounds.append(("<" if self.max_exclusive else "<=") + f" {self.maximum:g}")
            return noun + (" " + " and ".join(bounds) if bounds else "")
        return {
            "bool": "true or false",
            "str": "a string",
            "list[str]": "a list of strings",
            "list[int]": "a list of integers",
        }[self.kind]


def _check_run_name(value: str) -> str | None:
    if RUN_NAME_PATTERN.match(value):
        return None
    return f"{value!r} is not a usable run name; allowed: 1-64 letters, digits, '-', '_' or '.'"


def _check_device(value: str) -> str | None:
    if DEVICE_PATTERN.match(value):
        return None
    if value == "cpu:0":
        return "'cpu:0' names no device; allowed: cpu:N with N >= 1 logical CPU devices"
    return (f"{value!r} is not a device; allowed: auto, cpu, gpu, gpu:N, gpu:all, gpu:0,1 "
            "or cpu:N")


def _check_augment_ops(value: list[str]) -> str | None:
    unknown = [op for op in value if op not in AUGMENT_OPS]
    if unknown:
        hint = _did_you_mean(unknown[0], AUGMENT_OPS)
        return f"unknown augment op {unknown[0]!r}{hint}; allowed: any of " + ", ".join(AUGMENT_OPS)
    if len(set(value)) != len(value):
        return "an op is listed twice; allowed: each of " + ", ".join(AUGMENT_OPS) + " once"
    return None


def _check_lora_targets(value: list[str]) -> str | None:
    if not value:
        return "the list is empty; allowed: one or more of " + ", ".join(LORA_TARGETS)
    unknown = [t for t in value if t not in LORA_TARGETS]
    if unknown:
        return f"unknown target {unknown[0]!r}; allowed: " + ", ".join(LORA_TARGETS)
    return None


def _check_hidden_units(value: list[int]) -> str | None:
    if not value or any(v < 1 for v in value):
        return "needs one or more positive layer widths, e.g. [128, 64]"
    return None


def _check_not_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _spec(key_path: str, kind: str, help: str, **kw: Any) -> FieldSpec:
    section, key = key_path.split(".")
    default = getattr(SECTION_TYPES[section](), key)
    return FieldSpec(key_path=key_path, kind=kind, default=default, help=help, **kw)


_FRACTION = dict(minimum=0.0, maximum=1.0, max_exclusive=True)

FIELD_SPECS: dict[str, FieldSpec] = {
    s.key_path: s
    for s in [
        _spec("run.name", "str", "Name shown in the runs table", check=_check_run_name),
        _spec("run.seed", "int", "Seed for init, shuffling and (unless data.split_seed) splits",
              minimum=0),
        _spec("run.deterministic", "bool", "Op determinism: same numbers on re-run (CPU)"),
        _spec("run.parent", "str", "Run this one was re-run from"),
        _spec("run.sweep", "str", "Sweep (study) this run is a trial of"),
        _spec("run.trial", "int", "Trial number in the sweep (-1: not a trial)", minimum=-1),
        _spec("run.group", "str", "Seed group: runs that differ only in seed share it"),
        _spec("data.source", "str", "Where the data comes from", choices=DATA_SOURCES),
        _spec("data.name", "str", "Dataset name for builtin and keras sources"),
        _spec("data.path", "str", "File or folder for csv, jsonl, parquet, hf_disk"),
        _spec("data.text_column", "str", "Column with the text", check=_check_not_empty),
        _spec("data.label_column", "str", "Column with the label", check=_check_not_empty),
        _spec("data.val_fraction", "float", "Share held out for validation", **_FRACTION),
        _spec("data.test_fraction", "float", "Share held out for the test", **_FRACTION),
        _spec("data.max_samples", "int", "Use at most this many rows (0 = all)", minimum=0),
        _spec("data.max_length", "int", "Longest token sequence", minimum=8, maximum=4096),
        _spec("data.batching", "str", "bucketed: similar lengths batched together; random",
              choices=BATCHING_MODES),
        _spec("data.pad_to_multiple_of", "int", "Pad batches to a multiple of this (1 = exact)",
              minimum=1, maximum=4096),
        _spec("data.augment", "list[str]", "EDA ops on the train split: swap, delete, insert",
              check=_check_augment_ops),
        _spec("data.augment_prob", "float", "Share of words each augment op touches",
              minimum=0.0, min_exclusive=True, maximum=1.0),
        _spec("data.split_seed", "int", "Seed of the train/val/test split (-1 = run.seed); "
              "fix it to ensemble or pair runs of different seeds", minimum=-1),
        _spec("model.name", "str", "tiny-bert, mlp, a model directory or a hub id",
              check=_check_not_empty),
        _spec("model.finetune", "str", "Which weights train", choices=FINETUNE_MODES),
        _spec("model.dropout", "float", "Dropout in tiny-bert and mlp", **_FRACTION),
        _spec("model.hidden_units", "list[int]", "mlp layer widths", check=_check_hidden_units),
        _spec("model.lora_rank", "int", "LoRA rank r", minimum=1, maximum=1024),
        _spec("model.lora_alpha", "float", "LoRA scale alpha (update x alpha/r)",
              minimum=0.0, min_exclusive=True),
        _spec("model.lora_dropout", "float", "Dropout on the LoRA input", **_FRACTION),
        _spec("model.lora_targets", "list[str]", "Layers that get adapters",
              check=_check_lora_targets),
        _spec("train.epochs", "int", "Passes over the training split", minimum=1, maximum=10000),
        _spec("train.batch_size", "int", "Examples per step", minimum=1, maximum=65536),
        _spec("train.learning_rate", "float", "Peak learning rate",
              minimum=0.0, min_exclusive=True, maximum=10.0),
        _spec("train.optimizer", "str", "Optimizer", choices=OPTIMIZERS),
        _spec("train.weight_decay", "float", "Decoupled weight decay (adamw)", minimum=0.0,
              maximum=1.0),
        _spec("train.lr_schedule", "str", "Learning-rate schedule", choices=LR_SCHEDULES),
        _spec("train.warmup_ratio", "float", "Share of steps for linear warm-up", **_FRACTION),
        _spec("train.grad_clip_norm", "float", "Clip gradients to this global norm (0 = off)",
              minimum=0.0),
        _spec("train.early_stopping_patience", "int", "Epochs without improvement (0 = off)",
              minimum=0),
        _spec("train.early_stopping_metric", "str", "Metric for best epoch and early stopping",
              choices=EARLY_STOPPING_METRICS),
        _spec("train.log_every_steps", "int", "Steps between step events", minimum=1),
        _spec("train.jit_compile", "str", "XLA for the train step (auto: where it helps)",
              choices=JIT_COMPILE_MODES),
        _spec("train.label_smoothing", "float", "Label smoothing of the training loss",
              **_FRACTION),
        _spec("train.adversarial", "str", "fgm: add the loss of embedding-perturbed inputs",
              choices=ADVERSARIAL_MODES),
        _spec("train.adversarial_epsilon", "float", "FGM perturbation norm per batch, in "
              "embedding-coordinate units (RMS of the embedding entries)",
              minimum=0.0, min_exclusive=True),
        _spec("device.device", "str", "auto, cpu, gpu, gpu:N, gpu:all, gpu:0,1 or cpu:N",
              check=_check_device),
        _spec("device.mixed_precision", "str", "Mixed precision (GPU only)",
              choices=MIXED_PRECISION),
    ]
}


# ---------------------------------------------------------------------------------------------
# Checking single values.


def _type_error(spec: FieldSpec, value: Any) -> str:
    return f"{value!r} has the wrong type; allowed: {spec.allowed()}"


def coerce_value(spec: FieldSpec, value: Any) -> Any:
    """Check ``value`` against ``spec``; return it in its canonical type or raise ValueError."""
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(_type_error(spec, value))
    elif spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ValueError(_type_error(spec, value))
    elif spec.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(_type_error(spec, value))
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a finite number; allowed: {spec.allowed()}")
    elif spec.kind == "str":
        if not isinstance(value, str):
            raise ValueError(_type_error(spec, value))
    elif spec.kind.startswith("list["):
        item_type = str if spec.kind == "list[str]" else int
        if not isinstance(value, list) or any(
            isinstance(v, bool) or not isinstance(v, item_type) for v in value
        ):
            raise ValueError(_type_error(spec, value))
        value = list(value)
    _check_range(spec, value)
    return value


def _check_range(spec: FieldSpec, value: Any) -> None:
    if spec.choices and value not in spec.choices:
        hint = _did_you_mean(str(value), spec.choices)
        raise ValueError(f"{value!r} is not allowed{hint}; allowed: {spec.allowed()}")
    if spec.kind in ("int", "float"):
        too_low = spec.minimum is not None and (
            value <= spec.minimum if spec.min_exclusive else value < spec.minimum
        )
        too_high = spec.maximum is not None and (
            value >= spec.maximum if spec.max_exclusive else value > spec.maximum
        )
        if too_low or too_high:
            raise ValueError(f"{value!r} is out of range; allowed: {spec.allowed()}")
    if spec.check is not None:
        problem = spec.check(value)
        if problem:
            raise ValueError(problem)


def _did_you_mean(word: str, candidates: tuple[str, ...] | list[str],
                  compare_as: str | None = None) -> str:
    """The hint ``", did you mean X?"`` for the closest candidate, or ``""``.

    ``compare_as``: the word written the way the candidates are (a section as "[name]").
    """
    close = difflib.get_close_matches(compare_as or word, list(candidates), n=1, cutoff=0.6)
    return f", did you mean {close[0]}?" if close else ""


def parse_text_value(spec: FieldSpec, raw: str) -> Any:
    """Turn what a person typed (a form field, ``--set``) into a value of the spec's type."""
    text = raw.strip()
    if spec.kind == "str":
        return _maybe_toml_string(text)
    if spec.kind.startswith("list["):
        if text.startswith("["):
            return _parse_toml_value(text)
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if spec.kind == "list[int]":
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError(f"{raw!r} has the wrong type; allowed: {spec.allowed()}") from None
        return [_maybe_toml_string(p) for p in parts]
    if spec.kind == "bool" and text.lower() in ("true", "false", "yes", "no", "on", "off"):
        return text.lower() in ("true", "yes", "on")
    try:
        return _parse_toml_value(text)
    except ValueError:
        raise ValueError(f"{raw!r} has the wrong type; allowed: {spec.allowed()}") from None


def _maybe_toml_string(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return str(_parse_toml_value(text))
    return text


def _parse_toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None


def validate_field(key_path: str, raw: str) -> tuple[Any, str | None]:
    """Validate one form field as typed; returns (value, None) or (None, message)."""
    spec = FIELD_SPECS.get(key_path)
    if spec is None:
        return None, f"unknown key {key_path}{_did_you_mean(key_path, list(FIELD_SPECS))}"
    try:
        return coerce_value(spec, parse_text_value(spec, raw)), None
    except ValueError as exc:
        return None, str(exc)


# ---------------------------------------------------------------------------------------------
# Whole configs.


def parse_config(mapping: Mapping[str, Any], source: str | Path = "<config>") -> RunConfig:
    """Build a RunConfig from a TOML-shaped mapping, checking every key; raises ConfigError."""
    if not isinstance(mapping, Mapping):
        raise ConfigError("a run config must be a table of sections", file=source)
    sections: dict[str, Any] = {}
    for name, table in mapping.items():
        if name not in SECTION_TYPES:
            hint = _did_you_mean(str(name), [f"[{s}]" for s in SECTION_TYPES], f"[{name}]")
            raise ConfigError(
                f"unknown section [{name}]{hint}; allowed: " + ", ".join(SECTION_TYPES),
                file=source,
            )
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{name}] must be a table of keys", file=source, key=name)
        sections[name] = _parse_section(name, table, source)
    cfg = RunConfig(**{n: sections.get(n, t()) for n, t in SECTION_TYPES.items()})
    check_config(cfg, source)
    return cfg


def _parse_section(name: str, table: Mapping[str, Any], source: str | Path) -> Any:
    section_type = SECTION_TYPES[name]
    known = [f.name for f in dataclasses.fields(section_type)]
    values: dict[str, Any] = {}
    for key, value in table.items():
        key_path = f"{name}.{key}"
        if key not in known:
            hint = _did_you_mean(str(key), known)
            raise ConfigError(
                f"unknown key {key_path}{hint}; allowed in [{name}]: " + ", ".join(known),
                file=source,
            )
        try:
            values[key] = coerce_value(FIELD_SPECS[key_path], value)
        except ValueError as exc:
            raise ConfigError(str(exc), file=source, key=key_path) from None
    return section_type(**values)


def check_config(cfg: RunConfig, source: str | Path = "<config>") -> None:
    """Rules that involve more than one key."""
    data = cfg.data
    if data.val_fraction + data.test_fraction >= 1.0:
        raise ConfigError(
            f"val_fraction {data.val_fraction:g} + test_fraction {data.test_fraction:g} leaves "
            "nothing to train on; allowed: a sum below 1",
            file=source,
            key="data.val_fraction",
        )
    if data.source in FILE_SOURCES and not data.path:
        raise ConfigError(
            f"source {data.source!r} needs a path; allowed: a file or folder, relative to the TOML",
            file=source,
            key="data.path",
        )
    if data.source == "builtin" and data.name not in BUILTIN_DATASETS:
        raise ConfigError(
            f"unknown builtin dataset {data.name!r}{_did_you_mean(data.name, BUILTIN_DATASETS)}; "
            "allowed: " + ", ".join(BUILTIN_DATASETS),
            file=source,
            key="data.name",
        )
    if data.source == "keras" and data.name not in KERAS_DATASETS:
        raise ConfigError(
            f"unknown keras dataset {data.name!r}; allowed: " + ", ".join(KERAS_DATASETS),
            file=source,
            key="data.name",
        )
    _check_text_only_keys(cfg, source)
    if cfg.model.name == "mlp" and cfg.model.finetune != "full":
        raise ConfigError(
            f"finetune {cfg.model.finetune!r} needs a transformer; allowed for mlp: full",
            file=source,
            key="model.finetune",
        )


def _is_tabular(cfg: RunConfig) -> bool:
    """Known tabular before any data is read: the MLP, or a builtin table of numbers."""
    return cfg.model.name == "mlp" or (
        cfg.data.source == "builtin" and cfg.data.name in TABULAR_BUILTINS
    )


def _check_text_only_keys(cfg: RunConfig, source: str | Path) -> None:
    if not _is_tabular(cfg):
        return
    if cfg.data.augment:
        raise ConfigError(
            "augmentation edits words and this run trains on tabular data; allowed: "
            "augment = [] for tabular data", file=source, key="data.augment")
    if cfg.train.adversarial != "none":
        raise ConfigError(
            f"adversarial {cfg.train.adversarial!r} perturbs text embeddings and the mlp on "
            "tabular data has none; allowed: none", file=source, key="train.adversarial")


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a run TOML; every problem is a one-line ConfigError."""
    path = Path(path)
    cfg = parse_config(read_toml_mapping(path), source=path)
    cfg.source_path = path.resolve()
    return cfg


def read_toml_mapping(path: Path) -> dict[str, Any]:
    """The parsed TOML tables of a run or sweep file, or a one-line ConfigError."""
    try:
        return tomllib.loads(read_toml_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", file=path) from None


def read_toml_text(path: Path) -> str:
    """The file's text, or a ConfigError saying why it cannot be read."""
    if not path.exists():
        raise ConfigError("file not found", file=path)
    if path.is_dir():
        raise ConfigError("is a folder; allowed: a .toml file", file=path)
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 (byte {exc.start}); allowed: a UTF-8 TOML file",
                          file=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror})", file=path) from None


def config_to_dict(cfg: RunConfig) -> dict[str, dict[str, Any]]:
    return {name: dataclasses.asdict(getattr(cfg, name)) for name in SECTION_TYPES}


def dumps_config(cfg: RunConfig) -> str:
    mapping = config_to_dict(cfg)
    if cfg.data.split_seed < 0:  # unset: a config.toml reads as it did before the key
        mapping["data"].pop("split_seed", None)
    return tomli_w.dumps(mapping)


def save_config(cfg: RunConfig, path: str | Path) -> None:
    """Write the TOML atomically (temp file + rename), so a crash never leaves half a file."""
    write_text_atomic(Path(path), dumps_config(cfg))


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply_overrides(cfg: RunConfig, overrides: list[str], source: str = "--set") -> RunConfig:
    """Apply ``section.key=value`` overrides with the same checks as the file."""
    mapping = config_to_dict(cfg)
    for item in overrides:
        key_path, sep, raw = item.partition("=")
        key_path = key_path.strip()
        if not sep:
            raise ConfigError(f"{item!r} is not key=value; e.g. train.learning_rate=3e-5",
                              file=source)
        spec = FIELD_SPECS.get(key_path)
        if spec is None:
            hint = _did_you_mean(key_path, list(FIELD_SPECS))
            raise ConfigError(f"unknown key {key_path}{hint}", file=source)
        try:
            value = parse_text_value(spec, raw)
        except ValueError as exc:
            raise ConfigError(str(exc), file=source, key=key_path) from None
        section, key = key_path.split(".")
        mapping[section][key] = value
    new = parse_config(mapping, source=source)
    new.source_path = cfg.source_path
    return new


def resolve_paths(cfg: RunConfig) -> RunConfig:
    """A copy with data.path and a relative model directory made absolute."""
    new = dataclasses.replace(
        cfg,
        data=dataclasses.replace(cfg.data),
        model=dataclasses.replace(cfg.model),
    )
    base = cfg.base_dir
    if new.data.path:
        new.data.path = str((base / new.data.path).resolve())
    if _looks_like_path(new.model.name) or (base / new.model.name).is_dir():
        candidate = (base / new.model.name).expanduser()
        if candidate.exists() or _looks_like_path(new.model.name):
            new.model.name = str(candidate.resolve())
    return new


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~"))


_HASH_EXCLUDED = {("run", "name"), ("run", "parent"), ("run", "sweep"), ("run", "trial"),
                  ("run", "group")}


def config_hash(cfg: RunConfig) -> str:
    """Canonical hash of what determines the result (names and lineage left out)."""
    mapping = config_to_dict(cfg)
    for section, key in _HASH_EXCLUDED:
        mapping[section].pop(key, None)
    if cfg.data.split_seed < 0:  # unset: configs from before the key keep their hashes
        mapping["data"].pop("split_seed", None)
    canonical = json.dumps(mapping, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def diff_configs(old: RunConfig, new: RunConfig) -> list[tuple[str, Any, Any]]:
    """(key_path, old, new) for every key that differs: the review step shows these."""
    before, after = config_to_dict(old), config_to_dict(new)
    return [
        (f"{s}.{k}", before[s][k], after[s][k])
        for s in SECTION_TYPES
        for k in before[s]
        if before[s][k] != after[s][k]
    ]
