"""What a report says, without a browser: groups, calibration metrics, parent diffs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import tomli_w

from densexp_tui.cli import main
from tests.share.fake_sweep import copy_runs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.timeout(120)


def _edit_config(run_dir: Path, **run_keys: object) -> None:
    path = run_dir / "config.toml"
    mapping = tomllib.loads(path.read_text())
    mapping["run"].update(run_keys)
    path.write_text(tomli_w.dumps(mapping))
    if "group" in run_keys:  # the trainer writes run.group into summary.json too
        summary_path = run_dir / "summary.json"
        summary = json.loads(summary_path.read_text())
        summary["group"] = run_keys["group"]
        summary_path.write_text(json.dumps(summary))


def _add_calibration(run_dir: Path, values: dict[str, float]) -> None:
    path = run_dir / "events.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["kind"] == "test":
            record.update(values)
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")


def test_a_group_reports_its_members(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    ids = copy_runs(runs, 3)
    for run_id in ids[:2]:
        _edit_config(runs / run_id, group="seeds-abc")
    out = tmp_path / "group.html"
    assert main(["report", "seeds-abc", "--out", str(out), "--runs-dir", str(runs)]) == 0
    html = out.read_text()
    assert ids[0] in html and ids[1] in html and ids[2] not in html
    assert "Comparison" in html


def test_calibration_metrics_are_shown_when_the_test_event_has_them(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (run_id,) = copy_runs(runs, 1)
    _add_calibration(runs / run_id, {"ece": 0.0421, "brier": 0.3125, "roc_auc": 0.9312,
                                     "pr_auc": 0.8876})
    out = tmp_path / "cal.md"
    assert main(["report", run_id, "--out", str(out), "--runs-dir", str(runs)]) == 0
    text = out.read_text()
    assert "| loss | accuracy | precision | recall | f1 | ece | brier | roc_auc | pr_auc |" in text
    assert "| 0.0421 | 0.3125 | 0.9312 | 0.8876 |" in text
    assert "No calibration metrics" not in text


def test_a_child_run_shows_what_changed_from_its_parent(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    parent, child = copy_runs(runs, 2)  # quickstart, then lora-fast: different settings
    _edit_config(runs / child, parent=parent)
    out = tmp_path / "child.md"
    assert main(["report", child, "--out", str(out), "--runs-dir", str(runs)]) == 0
    text = out.read_text()
    assert f"*settings changed from the parent run {parent}*" in text
    assert "| model.finetune | full | lora |" in text
    assert "| train.learning_rate | 0.0005 | 0.001 |" in text
