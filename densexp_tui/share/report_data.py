"""What a report holds: runs (RunView fed by their events), their configs, and sweeps.

A reference on the command line is a run (id, unique id prefix), a group (run.group, set by
``--seeds``), a sweep (study name) or a run name, tried in that order. Numbers come from the
same core code the app uses: ``RunView`` for curves and matrices, ``RunStore`` summaries,
``sweep.study`` for trials, best-so-far and importances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from densexp_tui.core.config import RunConfig, config_to_dict, diff_configs, load_config
from densexp_tui.core.errors import BadInput
from densexp_tui.core.events import read_events
from densexp_tui.core.runstore import RunStore, RunSummary
from densexp_tui.core.runview import RunView
from densexp_tui.core.tomlfile import toml_tables_or_empty

if TYPE_CHECKING:
    from densexp_tui.sweep.study import TrialRow


@dataclass
class RunReport:
    """One run as the report shows it."""

    summary: RunSummary
    view: RunView
    config_text: str
    config: RunConfig | None
    parent_id: str = ""
    parent_diff: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.summary.run_id

    @property
    def best_epoch(self) -> int | None:
        return self.view.best_epoch if self.view.best_epoch in self.view.epochs else \
            self.view.latest_epoch


@dataclass
class SweepReport:
    """One study: its trials, best-so-far curve, importances, and the best trial's run."""

    name: str
    direction: str
    objective: str
    rows: list[TrialRow]
    best_so_far: list[tuple[int, float]]
    importances: dict[str, float] | None
    best_run: RunReport | None


@dataclass
class ReportContent:
    """Everything one report file holds, in the order the references were given."""

    title: str
    runs: list[RunReport] = field(default_factory=list)
    sweeps: list[SweepReport] = field(default_factory=list)
    runs_dir: Path | None = None

    def config_differences(self) -> list[tuple[str, list[Any]]]:
        """(key, value per run) for every config key whose value is not the same in all runs."""
        mappings = [_flat_config(run) for run in self.runs]
        keys = sorted({key for mapping in mappings for key in mapping})
        out = []
        for key in keys:
            values = [mapping.get(key) for mapping in mappings]
            if any(value != values[0] for value in values[1:]):
                out.append((key, values))
        return out


def _flat_config(run: RunReport) -> dict[str, Any]:
    if run.config is not None:
        nested: dict[str, Any] = config_to_dict(run.config)
    else:
        nested = toml_tables_or_empty(run.config_text)
    flat: dict[str, Any] = {}
    for section, table in nested.items():
        if isinstance(table, dict):
            for key, value in table.items():
                flat[f"{section}.{key}"] = value
    return flat


# ---------------------------------------------------------------------------------------------
# Loading one run


def load_run_report(store: RunStore, summary: RunSummary) -> RunReport:
    run_dir = store.run_dir(summary.run_id)
    view = RunView()
    view.apply_all(read_events(run_dir / "events.jsonl").events)
    config_path = run_dir / "config.toml"
    text = config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    config = _load_config_quietly(config_path)
    report = RunReport(summary=summary, view=view, config_text=text, config=config)
    _attach_parent_diff(store, report)
    return report


def _load_config_quietly(path: Path) -> RunConfig | None:
    """The run's config, or None when it no longer validates (the raw text is still shown)."""
    if not path.is_file():
        return None
    try:
        return load_config(path)
    except BadInput:
        return None


def _attach_parent_diff(store: RunStore, report: RunReport) -> None:
    parent = report.summary.parent or (report.config.run.parent if report.config else "")
    if not parent or report.config is None:
        return
    report.parent_id = parent
    parent_config = _load_config_quietly(store.run_dir(parent) / "config.toml")
    if parent_config is not None:
        report.parent_diff = diff_configs(parent_config, report.config)


# ---------------------------------------------------------------------------------------------
# Resolving references


def build_report(store: RunStore, refs: list[str]) -> ReportContent:
    """Resolve every reference (BadInput for one that matches nothing) and load it."""
    if not refs:
        raise BadInput("report: give at least one RUN, GROUP or SWEEP")
    content = ReportContent(title=_title(refs), runs_dir=store.root)
    seen: set[str] = set()
    for ref in refs:
        kind, found = _resolve(store, ref)
        if kind == "sweep":
            content.sweeps.append(_load_sweep(store, ref))
            continue
        for summary in found:
            if summary.run_id not in seen:
                seen.add(summary.run_id)
                content.runs.append(load_run_report(store, summary))
    return content


def _title(refs: list[str]) -> str:
    shown = ", ".join(refs[:3]) + (f" and {len(refs) - 3} more" if len(refs) > 3 else "")
    return f"densexp report: {shown}"


def _resolve(store: RunStore, ref: str) -> tuple[str, list[RunSummary]]:
    """("runs", summaries) or ("sweep", []) for one reference: a run id (or a path to its
    folder), a seed group, a sweep, then a unique id prefix or a run name. Index lookups:
    nothing here reads every run of a big runs directory."""
    key = ref.rstrip("/").split("/")[-1]
    if (store.run_dir(key) / "summary.json").is_file():
        return "runs", [store.read_summary(key)]
    group = store.runs_with("group", key)
    if group:
        return "runs", group
    if _is_sweep(store, key):
        return "sweep", []
    return "runs", [store.get(key)]  # a prefix or a name, or BadInput naming what is allowed


def _is_sweep(store: RunStore, name: str) -> bool:
    if store.runs_with("sweep", name):
        return True
    from densexp_tui.sweep import storage as storage_mod  # optuna: only for sweeps

    return storage_mod.journal_path(store.root, name).is_file()


def _load_sweep(store: RunStore, name: str) -> SweepReport:
    from densexp_tui.sweep import study as study_mod

    study = study_mod.load_local_study(store, name)
    if study is None:
        raise BadInput(f"sweep {name!r}: no study journal in {store.root}; "
                       "a report of a sweep needs its journal")
    rows = study_mod.trial_rows(study)
    direction = study.direction.name.lower()
    settings = study.user_attrs.get(study_mod.STUDY_ATTR, {})
    best = study_mod.best_row(rows, direction)
    best_run = None
    if best is not None and best.run_id and (store.run_dir(best.run_id) / "summary.json").is_file():
        best_run = load_run_report(store, store.read_summary(best.run_id))
    return SweepReport(name=name, direction=direction,
                       objective=str(settings.get("objective", "")), rows=rows,
                       best_so_far=study_mod.best_so_far(rows, direction),
                       importances=study_mod.importances(study), best_run=best_run)
