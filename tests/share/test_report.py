"""``densexp report``: real runs rendered to one HTML file, opened in a real chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from densexp_tui.cli import main
from densexp_tui.core.events import read_events
from densexp_tui.core.runstore import RunStore

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
FIXTURE_RUNS = REPO / "tests" / "data" / "runs"
QUICKSTART = "20250101-100000-quickstart-a1b2c3"
LORA = "20250101-110000-lora-fast-d4e5f6"


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real MLP run (examples/tabular.toml, 2 epochs), trained headless by the CLI."""
    runs = tmp_path_factory.mktemp("runs")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "densexp_tui", "run", str(REPO / "examples" / "tabular.toml"),
         "--set", "train.epochs=2", "--set", "train.early_stopping_patience=0",
         "--runs-dir", str(runs), "--json"],
        env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return runs


def _only_run(runs: Path) -> str:
    (run,) = RunStore(runs).list_runs()
    return run.run_id


def _test_event(run_dir: Path) -> dict[str, Any]:
    return [e.data for e in read_events(run_dir / "events.jsonl").events
            if e.kind == "test"][-1]


def _open(page: Any, path: Path) -> str:
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return str(page.inner_text("body"))


def test_report_of_a_real_run_in_chromium(trained_runs: Path, tmp_path: Path,
                                          browser_page: Any) -> None:
    run_id = _only_run(trained_runs)
    out = tmp_path / "report.html"
    assert main(["report", run_id, "--out", str(out), "--runs-dir", str(trained_runs)]) == 0
    text = _open(browser_page, out)
    test = _test_event(trained_runs / run_id)
    summary = json.loads((trained_runs / run_id / "summary.json").read_text())
    assert run_id in text
    for metric in ("loss", "accuracy", "precision", "recall", "f1"):
        assert f"{test[metric]:.4f}" in text, metric
    for label, values in test["per_class"].items():
        assert label in text and f"{values['f1']:.4f}" in text
    best_epoch = summary["best_epoch"]
    assert f"Validation at the best epoch ({best_epoch})" in text
    assert f"{summary['best']['accuracy']:.4f}" in text
    for calibration in ("ece", "brier", "roc_auc", "pr_auc"):  # once evaluation has landed
        if calibration in test:
            assert f"{test[calibration]:.4f}" in text
    assert browser_page.locator("svg").count() >= 3  # curves, val and test confusion
    assert browser_page.requests_seen == [out.resolve().as_uri()]
    # DENSEXP_SHOT_DIR keeps the screenshot for a person to look at.
    shots = Path(os.environ.get("DENSEXP_SHOT_DIR") or tmp_path)
    browser_page.screenshot(path=str(shots / "report-real-run.png"), full_page=True)


def test_report_of_two_runs_compares_them(tmp_path: Path, browser_page: Any) -> None:
    out = tmp_path / "two.html"
    assert main(["report", QUICKSTART, LORA, "--out", str(out),
                 "--runs-dir", str(FIXTURE_RUNS)]) == 0
    text = _open(browser_page, out)
    assert "Comparison" in text and "settings that differ between the runs" in text
    for run_id in (QUICKSTART, LORA):
        summary = json.loads((FIXTURE_RUNS / run_id / "summary.json").read_text())
        assert f"{summary['test']['accuracy']:.4f}" in text
    assert "model.finetune" in text and "lora" in text  # the one setting they chose apart
    html = out.read_text()
    assert "<script" not in html and "http://" not in html.replace(
        "http://www.w3.org/", "")  # SVG namespaces are names, never fetched
    assert browser_page.requests_seen == [out.resolve().as_uri()]


def test_markdown_report_writes_figures_beside_it(tmp_path: Path) -> None:
    out = tmp_path / "run.md"
    assert main(["report", QUICKSTART, "--out", str(out), "--runs-dir", str(FIXTURE_RUNS)]) == 0
    text = out.read_text()
    figures = sorted(p.name for p in (tmp_path / "run_files").iterdir())
    assert figures and all(name.endswith(".svg") for name in figures)
    for name in figures:
        assert f"](run_files/{name})" in text
    assert "| 0.7722 |" in text  # the fixture run's test accuracy


@pytest.mark.parametrize("case", ["unknown run", "missing folder", "unwritable folder",
                                  "wrong suffix"])
def test_bad_input_is_one_line_and_writes_nothing(case: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ref, out = QUICKSTART, tmp_path / "r.html"
    if case == "unknown run":
        ref = "no-such-run"
    elif case == "missing folder":
        out = tmp_path / "missing" / "r.html"
    elif case == "unwritable folder":
        out = _unwritable_folder(tmp_path) / "r.html"
    else:
        out = tmp_path / "r.pdf"
    assert main(["report", ref, "--out", str(out), "--runs-dir", str(FIXTURE_RUNS)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert (ref in err) if case == "unknown run" else (str(out) in err)
    assert not out.exists() and list(tmp_path.glob("**/*.html")) == []


def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
        return folder
    return Path("/sys")  # root may write anywhere chmod allows; sysfs refuses new files


def test_report_of_a_sweep_has_trials_best_so_far_and_importances(
        tmp_path: Path, browser_page: Any) -> None:
    import optuna

    from densexp_tui.sweep import study as study_mod
    from tests.share.fake_sweep import make_sweep

    runs = tmp_path / "runs"
    make_sweep(runs, "lr-search", trials=12, with_runs=True)
    out = tmp_path / "sweep.html"
    assert main(["report", "lr-search", "--out", str(out), "--runs-dir", str(runs)]) == 0
    text = _open(browser_page, out)
    study = study_mod.load_local_study(RunStore(runs), "lr-search")
    assert isinstance(study, optuna.Study)
    rows = study_mod.trial_rows(study)
    best = study_mod.best_row(rows, "maximize")
    assert best is not None
    assert "Sweep lr-search" in text and "12 trials (12 finished)" in text
    assert f"best {best.value:.4f}" in text and f"Best trial: {best.run_id}" in text
    assert "parameter importances" in text and "train.learning_rate" in text
    assert text.count("pruned") >= 1
    assert browser_page.requests_seen == [out.resolve().as_uri()]
