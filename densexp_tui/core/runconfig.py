"""The run config's shape: the allowed values of its keys, its five sections and RunConfig.

What each key means, its type and its limits are core/fieldspecs.py's; reading, checking
and writing whole configs core/config.py's (which re-exports these names: callers import
from ``densexp_tui.core.config``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
