"""Sweep configuration: a base run config, a search space, an objective and how to search.

A sweep TOML looks like this (see examples/sweep.toml)::

    base = "quickstart.toml"            # or an inline [base] table with run config sections

    [sweep]
    name = "reviews-tpe"                # the Optuna study name
    objective = "val.f1"                # val|test . loss|accuracy|f1
    direction = "maximize"              # default: minimize for loss, maximize otherwise
    sampler = "tpe"                     # tpe | random | grid
    pruner = "median"                   # none | median | hyperband
    n_trials = 12                       # finished trials the study aims for
    timeout = 600                       # seconds this worker keeps starting trials (0 = none)

    [space]
    "train.learning_rate" = {low = 1e-5, high = 1e-3, log = true}
    "train.epochs" = {low = 1, high = 4, step = 1}
    "train.batch_size" = [16, 32]
    "model.dropout" = {choices = [0.0, 0.1, 0.2]}

Loading is strict like the run config: unknown keys are errors with a suggestion, every
problem is one ``ConfigError`` line, and the bounds of every range are checked against the
run config's own rules so a trial can never get a value a run would refuse. This module
imports neither Textual, TensorFlow nor Optuna.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from densexp_tui.core.config import (
    FIELD_SPECS,
    RUN_NAME_PATTERN,
    RunConfig,
    coerce_value,
    config_hash,
    config_to_dict,
    load_config,
    parse_config,
    read_toml_mapping,
)
from densexp_tui.core.errors import BadInput, ConfigError
from densexp_tui.core.fieldspecs import did_you_mean

OBJECTIVE_SPLITS = ("val", "test")
OBJECTIVE_METRICS = ("loss", "accuracy", "f1")
OBJECTIVES = tuple(f"{s}.{m}" for s in OBJECTIVE_SPLITS for m in OBJECTIVE_METRICS)
DIRECTIONS = ("minimize", "maximize")
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("none", "median", "hyperband")
TOP_LEVEL_KEYS = ("base", "sweep", "space")
# The sweep itself sets these on every trial; searching over them makes no sense.
RESERVED_KEYS = ("run.name", "run.parent", "run.sweep", "run.trial")
# Without n_trials or timeout a worker would run forever; 20 is a small, useful default.
DEFAULT_N_TRIALS = 20


@dataclass(frozen=True)
class FloatRange:
    """``{low, high, log?, step?}`` on a float key: ``trial.suggest_float``."""

    key: str
    low: float
    high: float
    log: bool = False
    step: float | None = None


@dataclass(frozen=True)
class IntRange:
    """``{low, high, log?, step?}`` on an int key: ``trial.suggest_int``."""

    key: str
    low: int
    high: int
    log: bool = False
    step: int = 1


@dataclass(frozen=True)
class Choices:
    """A list (or ``{choices = [...]}``): ``trial.suggest_categorical``.

    Optuna's categorical values must be scalars, so list-valued keys (model.hidden_units)
    are offered as their JSON text and turned back into lists in ``SweepConfig.trial_config``.
    """

    key: str
    choices: tuple[Any, ...]

    @property
    def encoded(self) -> tuple[Any, ...]:
        return tuple(encode_choice(c) for c in self.choices)


ParamSpec = FloatRange | IntRange | Choices


@dataclass
class SweepSection:
    """The ``[sweep]`` table: how the study searches and what it optimises."""

    name: str = "sweep"
    objective: str = "val.f1"
    direction: str = ""  # resolved by the loader: minimize for loss, maximize otherwise
    sampler: str = "tpe"
    pruner: str = "none"
    n_trials: int = 0  # 0 = none given (then timeout, or the grid size, or DEFAULT_N_TRIALS)
    timeout: float = 0.0  # seconds; 0 = no limit
    seed: int = -1  # -1 = a fresh random seed for the sampler
    # Random trials before TPE starts modelling. Optuna's default (10) would make a 12-trial
    # sweep almost pure random search; sweeps here are small.
    startup_trials: int = 5
    # The median pruner waits for this many finished trials before it prunes anything.
    pruner_startup_trials: int = 3
    # ... and never prunes at or before this epoch.
    pruner_warmup_epochs: int = 0
    # Several seeds per trial (one group of runs); the objective is their mean.
    seeds: list[int] = field(default_factory=list)

    @property
    def split(self) -> str:
        return self.objective.split(".")[0]

    @property
    def metric(self) -> str:
        return self.objective.split(".")[1]


_SWEEP_INT_KEYS = {"n_trials": 0, "seed": -1, "startup_trials": 0, "pruner_startup_trials": 0,
                   "pruner_warmup_epochs": 0}
_SWEEP_CHOICES = {"objective": OBJECTIVES, "direction": DIRECTIONS, "sampler": SAMPLERS,
                  "pruner": PRUNERS}


@dataclass
class SweepConfig:
    """A whole sweep: the study settings, the base run config and the search space."""

    sweep: SweepSection
    base: RunConfig
    space: dict[str, ParamSpec]
    source_path: Path | None = field(default=None, compare=False)
    base_ref: str = ""  # the ``base = "..."`` text as written ("" for an inline [base])

    @property
    def n_trials_target(self) -> int | None:
        """How many finished trials the study aims for (None: until the timeout)."""
        if self.sweep.n_trials:
            return self.sweep.n_trials
        if self.sweep.sampler == "grid":
            return grid_size(self.space)
        return None if self.sweep.timeout else DEFAULT_N_TRIALS

    def trial_config(self, params: Mapping[str, Any], number: int) -> RunConfig:
        """The base config with a trial's parameters set and run.sweep/trial/name filled in."""
        mapping = config_to_dict(self.base)
        for key, value in params.items():
            section, name = key.split(".", 1)
            mapping[section][name] = decode_choice(key, value)
        mapping["run"]["sweep"] = self.sweep.name
        mapping["run"]["trial"] = number
        mapping["run"]["name"] = trial_run_name(self.sweep.name, number)
        cfg = parse_config(mapping, source=self.source_path or "<sweep>")
        cfg.source_path = self.base.source_path
        return cfg

    def fingerprint(self) -> str:
        """What must match for a second worker to join the same study: trials of another
        base config or space would not be comparable. The base as written (relative paths
        unresolved), so machines with the data in different folders still match."""
        record: dict[str, Any] = {
            "objective": self.sweep.objective,
            "direction": self.sweep.direction,
            "space": {k: space_to_toml(v) for k, v in sorted(self.space.items())},
            "base": config_hash(self.base),
        }
        if self.sweep.seeds:  # trials over other seeds are not comparable
            record["seeds"] = list(self.sweep.seeds)
        text = json.dumps(record, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """A TOML-shaped mapping that ``parse_sweep`` reads back to the same sweep."""
        sweep = dataclasses.asdict(self.sweep)
        sweep = {k: v for k, v in sweep.items() if v != getattr(SweepSection(), k) or k == "name"}
        sweep["direction"] = self.sweep.direction
        out: dict[str, Any] = {}
        if self.base_ref:
            out["base"] = self.base_ref
        else:
            out["base"] = config_to_dict(self.base)
        out["sweep"] = sweep
        out["space"] = {k: space_to_toml(v) for k, v in self.space.items()}
        return out


def trial_run_name(sweep_name: str, number: int) -> str:
    """``<sweep>-t<number>``, cut so it stays a valid run name (64 characters at most)."""
    suffix = f"-t{number}"
    return sweep_name[: 64 - len(suffix)] + suffix


def encode_choice(value: Any) -> Any:
    """Lists are not valid Optuna categorical values: store them as JSON text."""
    return json.dumps(value) if isinstance(value, list) else value


def decode_choice(key: str, value: Any) -> Any:
    spec = FIELD_SPECS[key]
    if spec.kind.startswith("list[") and isinstance(value, str):
        return json.loads(value)
    return value


def space_to_toml(param: ParamSpec) -> Any:
    """The TOML value a parameter was written as (for dumps and fingerprints)."""
    if isinstance(param, Choices):
        return list(param.choices)
    out: dict[str, Any] = {"low": param.low, "high": param.high}
    if param.log:
        out["log"] = True
    if isinstance(param, IntRange) and param.step != 1:
        out["step"] = param.step
    if isinstance(param, FloatRange) and param.step is not None:
        out["step"] = param.step
    return out


def grid_values(param: ParamSpec) -> list[Any] | None:
    """Every value a grid visits for this parameter (None: a continuous range)."""
    if isinstance(param, Choices):
        return list(param.encoded)
    if isinstance(param, IntRange) and not param.log:
        return list(range(param.low, param.high + 1, param.step))
    if isinstance(param, FloatRange) and param.step is not None:
        count = int(math.floor((param.high - param.low) / param.step + 1e-9)) + 1
        return [round(param.low + i * param.step, 12) for i in range(count)]
    return None


def grid_size(space: Mapping[str, ParamSpec]) -> int:
    size = 1
    for param in space.values():
        size *= len(grid_values(param) or [])
    return size


# ---------------------------------------------------------------------------------------------
# Loading.


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and validate a sweep TOML; every problem is a one-line ConfigError naming the file."""
    path = Path(path)
    return parse_sweep(read_toml_mapping(path), source=path)


def parse_sweep(mapping: Mapping[str, Any], source: str | Path = "<sweep>",
                default_name: str | None = None) -> SweepConfig:
    """Build a SweepConfig from a TOML-shaped mapping; relative paths are against ``source``."""
    source_path = Path(source) if isinstance(source, Path) else None
    _check_top_level(mapping, source)
    base, base_ref = _parse_base(mapping.get("base"), source, source_path)
    fallback = default_name or (source_path.stem if source_path else "sweep")
    section = _parse_sweep_section(mapping.get("sweep", {}), source, fallback)
    space = _parse_space(mapping.get("space"), source, base)
    cfg = SweepConfig(sweep=section, base=base, space=space,
                      source_path=source_path.resolve() if source_path else None,
                      base_ref=base_ref)
    _check_objective_produced(cfg, source)
    _check_grid(cfg, source)
    return cfg


def _check_top_level(mapping: Mapping[str, Any], source: str | Path) -> None:
    if not isinstance(mapping, Mapping):
        raise ConfigError("a sweep must be a table", file=source)
    for key in mapping:
        if key in TOP_LEVEL_KEYS:
            continue
        if key in {f.name for f in dataclasses.fields(SweepSection)}:
            raise ConfigError(f"{key} belongs in the [sweep] table; allowed at the top: "
                              "base, [sweep], [space]", file=source, key=str(key))
        hint = did_you_mean(str(key), TOP_LEVEL_KEYS)
        raise ConfigError(f"unknown key {key}{hint}; allowed at the top: base, [sweep], [space]",
                          file=source)


def _parse_base(value: Any, source: str | Path,
                source_path: Path | None) -> tuple[RunConfig, str]:
    """``base = "file.toml"`` (relative to the sweep file) or an inline ``[base]`` table."""
    if value is None:
        raise ConfigError("no base run config; allowed: base = \"run.toml\" (relative to this "
                          "file) or a [base] table with run config sections", file=source)
    if isinstance(value, str):
        folder = source_path.parent if source_path else Path.cwd()
        base_path = (folder / value).expanduser()
        if not base_path.is_file():
            raise ConfigError(f"base file {value!r} not found next to the sweep; allowed: a run "
                              "config TOML, relative to the sweep file", file=source, key="base")
        return load_config(base_path), value
    if isinstance(value, Mapping):
        base = parse_config(value, source=source)
        base.source_path = source_path.resolve() if source_path else None
        return base, ""
    raise ConfigError(f"{value!r} is not a base; allowed: a file name or a [base] table",
                      file=source, key="base")


def _parse_sweep_section(table: Any, source: str | Path, fallback_name: str) -> SweepSection:
    if not isinstance(table, Mapping):
        raise ConfigError("[sweep] must be a table of keys", file=source, key="sweep")
    known = [f.name for f in dataclasses.fields(SweepSection)]
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            hint = did_you_mean(str(key), known)
            raise ConfigError(f"unknown key sweep.{key}{hint}; allowed in [sweep]: "
                              + ", ".join(known), file=source)
        values[key] = _sweep_value(str(key), value, source)
    values.setdefault("name", _safe_name(fallback_name))
    section = SweepSection(**values)
    if not section.direction:
        section.direction = "minimize" if section.metric == "loss" else "maximize"
    return section


def _safe_name(stem: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip("-.")
    return cleaned[:56] or "sweep"


def _sweep_value(key: str, value: Any, source: str | Path) -> Any:
    """One [sweep] value, checked; raises ConfigError naming sweep.<key>."""
    key_path = f"sweep.{key}"
    if key in _SWEEP_CHOICES:
        allowed = _SWEEP_CHOICES[key]
        if value not in allowed:
            hint = did_you_mean(str(value), allowed) if isinstance(value, str) else ""
            problem = ("is never produced by a run" if key == "objective"
                       else f"is not a {key}")
            raise ConfigError(f"{key} {value!r} {problem}{hint}; allowed: " + ", ".join(allowed),
                              file=source, key=key_path)
        return value
    if key == "name":
        if not isinstance(value, str) or not RUN_NAME_PATTERN.match(value) or len(value) > 56:
            raise ConfigError(f"{value!r} is not a usable sweep name; allowed: 1-56 letters, "
                              "digits, '-', '_' or '.'", file=source, key=key_path)
        return value
    if key == "seeds":
        from densexp_tui.core.seeds import seed_list

        try:
            return seed_list(value, key_path)
        except BadInput as err:
            raise ConfigError(err.message, file=source, key=key_path) from None
    if key == "timeout":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{value!r} is not a duration; allowed: seconds >= 0 "
                              "(0 = no limit)", file=source, key=key_path)
        return float(value)
    minimum = _SWEEP_INT_KEYS[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{value!r} is not allowed; allowed: an integer >= {minimum}",
                          file=source, key=key_path)
    return value


def _parse_space(table: Any, source: str | Path, base: RunConfig) -> dict[str, ParamSpec]:
    if not isinstance(table, Mapping) or not table:
        raise ConfigError("the search space is empty; allowed: a [space] table such as "
                          '"train.learning_rate" = {low = 1e-5, high = 1e-3, log = true}',
                          file=source, key="space")
    space = {str(key): parse_param(str(key), value, source) for key, value in table.items()}
    for param in space.values():
        _check_against_base(param, base, source)
    return space


def parse_param(key: str, value: Any, source: str | Path = "<sweep>") -> ParamSpec:
    """One ``[space]`` entry: a range table, a choices table or a list of choices."""
    where = f"space.{key}"
    spec = FIELD_SPECS.get(key)
    if spec is None:
        hint = did_you_mean(key, list(FIELD_SPECS))
        raise ConfigError(f"unknown key {key}{hint}; allowed: a run config key such as "
                          "train.learning_rate", file=source, key="space")
    if key in RESERVED_KEYS:
        raise ConfigError(f"{key} is set by the sweep itself; allowed: any other run config key",
                          file=source, key=where)
    if isinstance(value, list):
        return _parse_choices(key, value, source)
    if not isinstance(value, Mapping):
        raise ConfigError(f"{value!r} is not a search range; allowed: {{low, high, log, step}}, "
                          "{choices = [...]} or a list", file=source, key=where)
    if "choices" in value:
        extra = sorted(set(value) - {"choices"})
        if extra:
            raise ConfigError(f"unknown key {extra[0]} next to choices; allowed: choices only",
                              file=source, key=where)
        if not isinstance(value["choices"], list):
            raise ConfigError("choices must be a list", file=source, key=where)
        return _parse_choices(key, value["choices"], source)
    return _parse_range(key, value, source)


def _parse_choices(key: str, values: list[Any], source: str | Path) -> Choices:
    where = f"space.{key}"
    if not values:
        raise ConfigError("the list of choices is empty; allowed: one or more values",
                          file=source, key=where)
    spec = FIELD_SPECS[key]
    checked = []
    for value in values:
        try:
            checked.append(coerce_value(spec, value))
        except ValueError as exc:
            raise ConfigError(str(exc), file=source, key=where) from None
    if len({json.dumps(v) for v in checked}) != len(checked):
        raise ConfigError("a choice is listed twice; allowed: distinct values",
                          file=source, key=where)
    return Choices(key=key, choices=tuple(checked))


_RANGE_KEYS = ("low", "high", "log", "step")


def _parse_range(key: str, table: Mapping[str, Any], source: str | Path) -> ParamSpec:
    where = f"space.{key}"
    spec = FIELD_SPECS[key]
    for name in table:
        if name not in _RANGE_KEYS:
            hint = did_you_mean(str(name), _RANGE_KEYS + ("choices",))
            raise ConfigError(f"unknown key {name}{hint}; allowed: low, high, log, step or "
                              "choices", file=source, key=where)
    if spec.kind not in ("int", "float"):
        raise ConfigError(f"{key} is a {spec.kind}, so it takes a list of choices, not a range",
                          file=source, key=where)
    if "low" not in table or "high" not in table:
        raise ConfigError("a range needs both low and high", file=source, key=where)
    low, high = (_number(table[b], b, source, where) for b in ("low", "high"))
    log = table.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"log = {log!r}; allowed: true or false", file=source, key=where)
    if low >= high:
        raise ConfigError(f"low {low:g} is not below high {high:g}; allowed: low < high",
                          file=source, key=where)
    if log and low <= 0:
        raise ConfigError(f"log = true needs positive bounds (low is {low:g}); allowed: "
                          "low > 0", file=source, key=where)
    low, high = (_bound(spec, v, b, source, where) for v, b in ((low, "low"), (high, "high")))
    step = table.get("step")
    if step is not None:
        _check_step(spec.kind, step, log, low, high, source, where)
    if spec.kind == "int":
        return IntRange(key=key, low=int(low), high=int(high), log=log,
                        step=int(step) if step is not None else 1)
    return FloatRange(key=key, low=float(low), high=float(high), log=log,
                      step=float(step) if step is not None else None)


def _number(value: Any, name: str, source: str | Path, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} = {value!r}; allowed: a finite number", file=source, key=where)
    return value


def _bound(spec: Any, value: Any, name: str, source: str | Path, where: str) -> Any:
    """A range end, checked against the key's own rules (a trial may get exactly this value)."""
    try:
        return coerce_value(spec, value)
    except ValueError as exc:
        raise ConfigError(f"{name} {exc}", file=source, key=where) from None


def _check_step(kind: str, step: Any, log: bool, low: Any, high: Any, source: str | Path,
                where: str) -> None:
    if kind == "int" and (isinstance(step, bool) or not isinstance(step, int)):
        raise ConfigError(f"step {step!r} on an integer key; allowed: an integer >= 1",
                          file=source, key=where)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        raise ConfigError(f"step {step!r}; allowed: a number > 0", file=source, key=where)
    if step > high - low:
        raise ConfigError(f"step {step:g} is wider than the range {low:g}..{high:g}",
                          file=source, key=where)
    if log and (kind == "float" or step != 1):
        raise ConfigError("log = true cannot be combined with a step (Optuna samples log "
                          "ranges continuously); allowed: one of the two", file=source, key=where)


def _check_against_base(param: ParamSpec, base: RunConfig, source: str | Path) -> None:
    """Rules across keys (mlp + finetune, fractions) checked at each end of the range."""
    section, name = param.key.split(".", 1)
    ends = param.choices if isinstance(param, Choices) else (param.low, param.high)
    for value in ends:
        mapping = config_to_dict(base)
        mapping[section][name] = value
        try:
            parse_config(mapping, source=source)
        except ConfigError as exc:
            raise ConfigError(f"{value!r} does not work with the base config ({exc.message})",
                              file=source, key=f"space.{param.key}") from None


def _possible_values(cfg: SweepConfig, key: str) -> list[Any]:
    param = cfg.space.get(key)
    if param is None:
        return [cfg.base.get(key)]
    if isinstance(param, Choices):
        return list(param.choices)
    return [param.low, param.high]


def _check_objective_produced(cfg: SweepConfig, source: str | Path) -> None:
    """A val objective needs a validation split, a test one a test split, a pruner val."""
    needs = {cfg.sweep.split}
    if cfg.sweep.pruner != "none":
        needs.add("val")
    for split in sorted(needs):
        key = f"data.{split}_fraction"
        if any(v == 0 for v in _possible_values(cfg, key)):
            why = (f"objective {cfg.sweep.objective}" if split == cfg.sweep.split
                   else f"pruner {cfg.sweep.pruner}")
            raise ConfigError(f"{why} needs {split} metrics but {key} can be 0, so they are "
                              f"never produced; allowed: {key} > 0", file=source,
                              key="sweep.objective" if split == cfg.sweep.split else "sweep.pruner")


def _check_grid(cfg: SweepConfig, source: str | Path) -> None:
    if cfg.sweep.sampler != "grid":
        return
    for key, param in cfg.space.items():
        if grid_values(param) is None:
            raise ConfigError("the grid sampler needs choices or a step for every parameter; "
                              "allowed: a list, {choices = [...]} or {low, high, step}",
                              file=source, key=f"space.{key}")


def dumps_sweep(cfg: SweepConfig) -> str:
    return tomli_w.dumps(cfg.to_dict())
