"""Run configuration as a whole: strict TOML loading, saving, overrides, paths and hashing.

A config's shape (allowed values, sections, ``RunConfig``) is core/runconfig.py's and each
key's spec and single-value checks core/fieldspecs.py's, reading the file
core/tomlfile.py's; this module checks whole configs and the rules between keys, and
re-exports those names, so callers import every config name from here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from densexp_tui.core.atomicfile import write_text_atomic
from densexp_tui.core.errors import ConfigError
from densexp_tui.core.fieldspecs import (
    FIELD_SPECS,
    FieldSpec,
    coerce_value,
    did_you_mean,
    parse_text_value,
    validate_field,
)
from densexp_tui.core.runconfig import (
    ADVERSARIAL_MODES,
    AUGMENT_OPS,
    BATCHING_MODES,
    BUILTIN_DATASETS,
    DATA_SOURCES,
    DEVICE_PATTERN,
    EARLY_STOPPING_METRICS,
    FILE_SOURCES,
    FINETUNE_MODES,
    JIT_COMPILE_MODES,
    KERAS_DATASETS,
    LORA_TARGETS,
    LR_SCHEDULES,
    MIXED_PRECISION,
    NAMED_SOURCES,
    OPTIMIZERS,
    RUN_NAME_PATTERN,
    SECTION_TYPES,
    TABULAR_BUILTINS,
    DataSection,
    DeviceSection,
    ModelSection,
    RunConfig,
    RunSection,
    TrainSection,
)
from densexp_tui.core.tomlfile import read_toml_mapping, read_toml_text

__all__ = [
    # the shape (core/runconfig.py)
    "ADVERSARIAL_MODES", "AUGMENT_OPS", "BATCHING_MODES", "BUILTIN_DATASETS", "DATA_SOURCES",
    "DEVICE_PATTERN", "EARLY_STOPPING_METRICS", "FILE_SOURCES", "FINETUNE_MODES",
    "JIT_COMPILE_MODES", "KERAS_DATASETS", "LORA_TARGETS", "LR_SCHEDULES", "MIXED_PRECISION",
    "NAMED_SOURCES", "OPTIMIZERS", "RUN_NAME_PATTERN", "SECTION_TYPES", "TABULAR_BUILTINS",
    "DataSection", "DeviceSection", "ModelSection", "RunConfig", "RunSection", "TrainSection",
    # the keys (core/fieldspecs.py)
    "FIELD_SPECS", "FieldSpec", "coerce_value", "parse_text_value", "validate_field",
    # the errors it raises (core/errors.py) and the atomic write it saves with
    "ConfigError", "write_text_atomic",
    # whole configs (here)
    "apply_overrides", "check_config", "config_hash", "config_to_dict", "diff_configs",
    "dumps_config", "load_config", "parse_config", "read_toml_mapping", "read_toml_text",
    "resolve_paths", "save_config",
]


def parse_config(mapping: Mapping[str, Any], source: str | Path = "<config>") -> RunConfig:
    """Build a RunConfig from a TOML-shaped mapping, checking every key; raises ConfigError."""
    if not isinstance(mapping, Mapping):
        raise ConfigError("a run config must be a table of sections", file=source)
    sections: dict[str, Any] = {}
    for name, table in mapping.items():
        if name not in SECTION_TYPES:
            hint = did_you_mean(str(name), [f"[{s}]" for s in SECTION_TYPES], f"[{name}]")
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
            hint = did_you_mean(str(key), known)
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
            f"unknown builtin dataset {data.name!r}{did_you_mean(data.name, BUILTIN_DATASETS)}; "
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
    return is_known_tabular(cfg.data.source, cfg.data.name, cfg.model.name)


def is_known_tabular(source: str, dataset: str, model: str) -> bool:
    """Known tabular before any data is read: the MLP, or a builtin table of numbers.
    The New experiment form hides the text-only keys by the same rule."""
    return model == "mlp" or (source == "builtin" and dataset in TABULAR_BUILTINS)


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
            hint = did_you_mean(key_path, list(FIELD_SPECS))
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
