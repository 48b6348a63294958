"""Ensembles: average the members' test probabilities and save the result as a run.

An ensemble is a run of kind ``ensemble``: summary.json (``kind``, ``members``, test
metrics), an event log (``run_started`` with the labels and members, ``test``, ``status``,
``run_finished``), ``config.toml`` (the first member's, renamed) and
``predictions/test.jsonl``; no checkpoints. So listing, show, compare (paired, on the
predictions) and replay's test views work on it unchanged.

Members must be finished runs with test predictions on the same test split and the same
label set: their configs must agree on the data keys that pick the test rows
(``SPLIT_KEYS``) and on the effective split seed (``data.split_seed``, else ``run.seed``,
so runs of different seeds ensemble when they fix ``data.split_seed``), and their
prediction files on the rows, true labels and texts. Anything else is one ``BadInput``
line, before anything is written. TensorFlow-free: averaging is NumPy on the prediction files.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from densexp_tui.core.comparing import load_run_predictions
from densexp_tui.core.config import RunConfig, load_config
from densexp_tui.core.errors import BadInput
from densexp_tui.core.metrics import (
    classification_metrics,
    classification_report_text,
    probability_metrics,
)
from densexp_tui.core.predictions import (
    PREDICTIONS_FILE,
    Predictions,
    predictions_from_arrays,
    write_predictions,
)
from densexp_tui.core.runstore import RunStore, RunSummary
from densexp_tui.core.significance import (
    Comparison,
    align_labels,
    check_same_split,
    paired_comparison,
)

ENSEMBLE_KIND = "ensemble"
# The data keys that decide which rows land in the test split (with the split seed); the
# others (max_length, batching, augmentation) change training, not the test rows.
SPLIT_KEYS = ("source", "name", "path", "text_column", "label_column", "val_fraction",
              "test_fraction", "max_samples")
RANK_METRIC = "f1"  # --top K ranks a sweep's completed trials by their best val F1


@dataclass
class EnsembleResult:
    run_id: str
    run_dir: Path
    members: list[str]
    test: dict[str, Any]
    best_member: str
    best_member_test: dict[str, Any]
    comparison: Comparison  # the ensemble (B) against its best member (A), paired

    def to_json(self) -> dict[str, Any]:
        """``densexp ensemble --json``'s shape (DESIGN.md), plus the paired comparison."""
        return {"run_id": self.run_id, "members": self.members, "test": _plain(self.test),
                "best_member": {"run_id": self.best_member,
                                "test": _plain(self.best_member_test)},
                "comparison": self.comparison.to_json()}


def _plain(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metrics.items() if key != "report"}


# ---------------------------------------------------------------------------------------
# The arithmetic (no files)


def average_predictions(members: Sequence[Predictions]) -> Predictions:
    """The members' mean probabilities; BadInput when labels or test splits differ."""
    if len(members) < 2:
        raise BadInput("an ensemble needs at least two different runs; allowed: two or more "
                       "run ids, or --sweep NAME --top K with K >= 2")
    first = members[0]
    aligned = [first]
    for other in members[1:]:
        other = align_labels(first, other)
        check_same_split(first, other)
        aligned.append(other)
    probs = np.mean([member.probs for member in aligned], axis=0)
    return predictions_from_arrays(first.label_names, first.true, probs, texts=first.texts,
                                   rows=first.rows)


def metrics_of(preds: Predictions) -> dict[str, Any]:
    """Test METRICS of predicted probabilities: what a trained run's test event holds."""
    probs = np.clip(preds.probs, 1e-12, 1.0)
    loss = float(np.mean(-np.log(probs[np.arange(len(preds.true)), preds.true])))
    metrics = classification_metrics(preds.true, preds.probs, preds.label_names, loss=loss)
    metrics.update(probability_metrics(preds.true, preds.probs))
    metrics["report"] = classification_report_text(preds.true, preds.probs, preds.label_names)
    return metrics


# ---------------------------------------------------------------------------------------
# Choosing members


def resolve_members(store: RunStore, refs: Sequence[str]) -> list[RunSummary]:
    """Runs by id/prefix/name, each once; BadInput for fewer than two distinct runs."""
    members: list[RunSummary] = []
    for ref in refs:
        run = store.get(ref)
        if run.run_id not in [m.run_id for m in members]:
            members.append(run)
    if len(members) < 2:
        named = members[0].run_id if members else "no run"
        raise BadInput(f"an ensemble of one run ({named}) is that run; allowed: two or more "
                       "different runs", key="RUN")
    return members


def top_trials(store: RunStore, sweep: str, k: int) -> list[str]:
    """The ids of a sweep's ``k`` completed trials with the best validation F1."""
    if k < 2:
        raise BadInput(f"--top {k}: an ensemble needs at least two members; allowed: K >= 2",
                       key="--top")
    trials = [run for run in store.runs_with("sweep", sweep)
              if run.status == "completed" and run.kind != ENSEMBLE_KIND]
    if not trials:
        raise BadInput(f"sweep {sweep!r} has no completed trials in {store.root}; allowed: "
                       "the name of a sweep with finished trials", key="--sweep")
    ranked = sorted(trials, key=lambda run: -(run.best.get(RANK_METRIC) or 0.0))
    return [run.run_id for run in ranked[:k]]


# ---------------------------------------------------------------------------------------
# Making the run


def split_identity(cfg: RunConfig) -> dict[str, object]:
    """What decides a run's test rows: the split data keys and the effective split seed."""
    identity: dict[str, object] = {f"data.{key}": getattr(cfg.data, key) for key in SPLIT_KEYS}
    identity["split seed"] = cfg.effective_split_seed
    return identity


def check_same_split_config(store: RunStore, members: Sequence[RunSummary]) -> None:
    """BadInput naming the first difference when the members' configs give different test
    splits (checked before any prediction file is read)."""
    first = members[0]
    reference = split_identity(load_config(store.run_dir(first.run_id) / "config.toml"))
    for other in members[1:]:
        identity = split_identity(load_config(store.run_dir(other.run_id) / "config.toml"))
        for key, value in reference.items():
            if identity[key] != value:
                raise BadInput(
                    f"{first.run_id} and {other.run_id} have different test splits ({key} "
                    f"{value!r} vs {identity[key]!r}; the split seed is data.split_seed, or "
                    "run.seed when that is -1); allowed: members with the same data settings "
                    "and split seed: set data.split_seed to ensemble runs of different seeds",
                    key="RUN")


def make_ensemble(store: RunStore, refs: Sequence[str], name: str = "") -> EnsembleResult:
    """Check, average, then write the ensemble run (nothing is written when a check fails)."""
    members = resolve_members(store, refs)
    check_same_split_config(store, members)
    preds = [load_run_predictions(store, run) for run in members]
    averaged = average_predictions(preds)
    test = metrics_of(averaged)
    member_tests = [metrics_of(align_labels(preds[0], p)) for p in preds]
    best = max(range(len(members)), key=lambda i: member_tests[i]["f1"])
    comparison = paired_comparison(preds[best], averaged, "f1")
    run_dir = _write_run(store, members, averaged, test, name)
    return EnsembleResult(run_dir.name, run_dir, [m.run_id for m in members], test,
                          members[best].run_id, member_tests[best], comparison)


def _write_run(store: RunStore, members: list[RunSummary], averaged: Predictions,
               test: dict[str, Any], name: str) -> Path:
    first = members[0]
    cfg = load_config(store.run_dir(first.run_id) / "config.toml")
    cfg.run = dataclasses.replace(cfg.run, name=name or f"ensemble-{len(members)}",
                                  parent="", sweep="", trial=-1, group="")
    handle = store.create_run(cfg)
    try:
        _fill_run(handle, members, averaged, test)
    except BaseException:
        shutil.rmtree(handle.dir, ignore_errors=True)
        raise
    return handle.dir


def _fill_run(handle: Any, members: list[RunSummary], averaged: Predictions,
              test: dict[str, Any]) -> None:
    started = time.time()
    member_ids = [m.run_id for m in members]
    handle.release_reserve()
    shutil.rmtree(handle.checkpoints_dir, ignore_errors=True)  # an ensemble has no weights
    write_predictions(handle.dir / PREDICTIONS_FILE, averaged)
    events = handle.events
    events.append("run_started", run_id=handle.run_id, name=handle.summary().name,
                  run_kind=ENSEMBLE_KIND, members=member_ids, labels=list(averaged.label_names),
                  sizes={"test": len(averaged)}, epochs=0, steps_per_epoch=0,
                  model=f"ensemble of {len(members)}", dataset=members[0].dataset)
    events.append("test", **test)
    message = f"ensemble of {len(members)} runs: mean of their test probabilities"
    events.append("status", status="completed", message=message)
    duration = round(time.time() - started, 3)
    events.append("run_finished", status="completed", best_epoch=None, best=None, test=test,
                  duration=duration, message=message)
    handle.close()
    handle.update_summary(
        kind=ENSEMBLE_KIND, members=member_ids, status="completed", message=message,
        model=f"ensemble of {len(members)}", finetune="", epochs=0, pid=None,
        config_hash="",  # not its config's result: a sweep must never reuse it for a trial
        test={k: test.get(k) for k in ("loss", "accuracy", "f1")}, finished=time.time(),
        duration=duration)


def ensemble_lines(result: EnsembleResult) -> list[str]:
    """What ``densexp ensemble`` prints: the ensemble next to its best member."""
    def row(label: str, metrics: dict[str, Any]) -> str:
        return (f"{label:<44} acc {metrics['accuracy']:.3f}  F1 {metrics['f1']:.3f}  "
                f"ECE {_fmt(metrics.get('ece'))}  Brier {_fmt(metrics.get('brier'))}")

    return [f"ensemble {result.run_id} of {len(result.members)} runs "
            f"({', '.join(result.members)})",
            row("ensemble", result.test),
            row(f"best member {result.best_member}", result.best_member_test),
            f"ensemble vs best member: {result.comparison.sentence}"]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def to_json_text(result: EnsembleResult) -> str:
    return json.dumps(result.to_json(), indent=2)


def ensemble_notice(store: RunStore, refs: Sequence[str] | None = None, *, sweep: str = "",
                    top: int = 3) -> tuple[bool, str]:
    """For the screens (run in a worker): make the ensemble of ``refs`` or of a sweep's top
    trials; (made, one line to show) with the refusal's reason when it was not made."""
    try:
        members = top_trials(store, sweep, top) if sweep else list(refs or [])
        result = make_ensemble(store, members)
    except BadInput as err:
        return False, str(err)
    return True, (f"{result.run_id}: test F1 {result.test['f1']:.3f} vs best member "
                  f"{result.best_member_test['f1']:.3f}; {result.comparison.sentence}")
