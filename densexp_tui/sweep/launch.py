"""Starting sweeps from the TUI: a small form's values to a sweep TOML, and the
``densexp sweep`` subprocess that runs it.

A subprocess rather than a thread in the app: a sweep trains for a long time and loads
TensorFlow; in its own process it survives the app closing or crashing, and the app stays
as responsive as with any other detached run. Textual-free, so it is tested on its own.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from densexp_tui.core.config import FIELD_SPECS, RunConfig, config_to_dict, parse_text_value
from densexp_tui.core.errors import ConfigError
from densexp_tui.core.sweepconfig import SweepConfig, dumps_sweep, parse_sweep
from densexp_tui.sweep.storage import sweeps_dir

FORM_SOURCE = "new sweep form"


@dataclass
class SpaceRow:
    """One parameter as typed: a key and either low/high (+log) or choices."""

    key: str = ""
    low: str = ""
    high: str = ""
    log: bool = False
    # Comma-separated; list-valued keys (model.hidden_units) separate choices with ";".
    choices: str = ""

    @property
    def empty(self) -> bool:
        return not (self.key or self.low or self.high or self.choices)


@dataclass
class SweepForm:
    name: str = ""
    objective: str = "val.f1"
    sampler: str = "tpe"
    pruner: str = "median"
    n_trials: str = "12"
    rows: list[SpaceRow] = field(default_factory=list)
    workers: str = "1"  # local worker processes on the study
    gpus: str = ""  # "0,1": one worker per GPU instead (each sees only its own)


def worker_arguments(form: SweepForm) -> list[str]:
    """The form's workers/gpus as ``densexp sweep`` options (ConfigError, one line, when
    wrong); whether the GPUs exist is checked by the sweep process itself."""
    from densexp_tui.sweep.workers import parse_gpu_list, plan_slots

    gpus = form.gpus.strip()
    workers = _integer(form.workers, "workers") if form.workers.strip() else 1
    try:
        if gpus:
            plan_slots(None if workers == 1 else workers, gpus, gpu_count=lambda: 1 << 16)
            return ["--gpus", ",".join(str(i) for i in parse_gpu_list(gpus))]
        plan_slots(workers, None)
    except ConfigError as err:
        raise ConfigError(err.message, file=FORM_SOURCE) from None
    return [] if workers == 1 else ["--workers", str(workers)]


def form_to_sweep(form: SweepForm, base: RunConfig) -> SweepConfig:
    """The sweep the form describes (raises ConfigError, one line, like a TOML would)."""
    space: dict[str, Any] = {}
    for row in form.rows:
        if row.empty:
            continue
        if not row.key:
            raise ConfigError("a parameter row has values but no key", file=FORM_SOURCE)
        space[row.key] = _row_value(row)
    sweep: dict[str, Any] = {"objective": form.objective, "sampler": form.sampler,
                             "pruner": form.pruner}
    if form.name.strip():
        sweep["name"] = form.name.strip()
    if form.n_trials.strip():
        sweep["n_trials"] = _integer(form.n_trials, "sweep.n_trials")
    # The base goes in inline with absolute paths: the file is self-contained wherever it is.
    mapping = {"base": config_to_dict(base), "sweep": sweep, "space": space}
    return parse_sweep(mapping, source=FORM_SOURCE, default_name=base.run.name + "-sweep")


def _row_value(row: SpaceRow) -> Any:
    spec = FIELD_SPECS.get(row.key)
    if spec is None:  # parse_sweep words this one (with did-you-mean)
        return [row.choices or row.low]
    if row.choices.strip():
        separator = ";" if spec.kind.startswith("list[") else ","
        items = [item for item in row.choices.split(separator) if item.strip()]
        return [_typed(spec, item, row.key) for item in items]
    value: dict[str, Any] = {"low": _typed(spec, row.low, row.key),
                             "high": _typed(spec, row.high, row.key)}
    if row.log:
        value["log"] = True
    return value


def _typed(spec: Any, raw: str, key: str) -> Any:
    if not raw.strip():
        raise ConfigError("needs low and high, or choices", file=FORM_SOURCE, key=f"space.{key}")
    try:
        return parse_text_value(spec, raw)
    except ValueError as exc:
        raise ConfigError(str(exc), file=FORM_SOURCE, key=f"space.{key}") from None


def _integer(raw: str, key: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"{raw!r} is not a whole number", file=FORM_SOURCE, key=key) from None


def write_sweep_file(cfg: SweepConfig, runs_dir: Path) -> Path:
    """``<runs>/.sweeps/<name>.toml``: what the subprocess runs, and what "continue" reruns."""
    path = sweeps_dir(runs_dir) / f"{cfg.sweep.name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_sweep(cfg), encoding="utf-8")
    return path


def sweep_command_line(sweep_file: Path, runs_dir: Path, storage: str = "",
                       workers: Sequence[str] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "densexp_tui", "sweep", str(sweep_file),
           "--runs-dir", str(runs_dir)]
    return cmd + (["--storage", storage] if storage else []) + list(workers)


def sweep_output_path(runs_dir: Path, name: str) -> Path:
    """Where a sweep started from the app writes its table and messages."""
    return sweeps_dir(runs_dir) / f"{name}.out"


def launch_sweep_process(sweep_file: Path, runs_dir: Path, name: str,
                         storage: str = "", workers: Sequence[str] = ()) -> subprocess.Popen:
    """Start ``densexp sweep`` detached; its table and messages go to <name>.out."""
    out_path = sweep_output_path(runs_dir, name)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "ab") as out:
        # A session of its own: Ctrl-C in the app's terminal and the app exiting leave it be.
        return subprocess.Popen(sweep_command_line(sweep_file, runs_dir, storage, workers),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
