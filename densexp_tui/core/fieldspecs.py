"""Every key a run config has, described once: its type, default, limits and help
(``FIELD_SPECS``), and the checks of one value, as typed (a form field, ``--set``) or as
read from TOML. Loading, overrides and the TUI's as-you-type validation all go through
these, so the messages match everywhere.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from typing import Any, Callable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from densexp_tui.core.runconfig import (
    ADVERSARIAL_MODES,
    AUGMENT_OPS,
    BATCHING_MODES,
    DATA_SOURCES,
    DEVICE_PATTERN,
    EARLY_STOPPING_METRICS,
    FINETUNE_MODES,
    JIT_COMPILE_MODES,
    LORA_TARGETS,
    LR_SCHEDULES,
    MIXED_PRECISION,
    OPTIMIZERS,
    RUN_NAME_PATTERN,
    SECTION_TYPES,
)


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
        hint = did_you_mean(unknown[0], AUGMENT_OPS)
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
        _spec("data.batching", "str", "bucketed: similar lengths together, or random order",
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
        hint = did_you_mean(str(value), spec.choices)
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


def did_you_mean(word: str, candidates: tuple[str, ...] | list[str],
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
    if not text:  # an emptied form field: "'' has the wrong type" told nobody anything
        raise ValueError(f"empty; allowed: {spec.allowed()}")
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
        return None, f"unknown key {key_path}{did_you_mean(key_path, list(FIELD_SPECS))}"
    try:
        return coerce_value(spec, parse_text_value(spec, raw)), None
    except ValueError as exc:
        return None, str(exc)
