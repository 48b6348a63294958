"""Loading runs for comparison lives in core: the screen and the CLI share it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from densexp_tui.core.compareload import differing_keys, load_runs
from densexp_tui.core.runstore import RunStore
from tests.runs_factory import generate_runs

pytestmark = pytest.mark.timeout(60)
DATA_RUNS = Path(__file__).resolve().parents[1] / "data" / "runs"


def test_loads_summary_config_and_events_and_names_what_differs(tmp_path: Path) -> None:
    shutil.copytree(DATA_RUNS, tmp_path / "runs")
    store = RunStore(tmp_path / "runs")
    ids = sorted(p.name for p in (tmp_path / "runs").iterdir() if not p.name.startswith("."))
    runs = load_runs(store, ids)
    assert [r.run_id for r in runs] == ids and all(not r.problem for r in runs)
    assert runs[0].view.best_value("accuracy") is not None
    assert runs[0].view.epoch_numbers and runs[0].summary.status == "completed"
    keys = differing_keys([r.config for r in runs])
    assert "model.finetune" in keys and "run.name" not in keys


def test_a_run_without_a_config_says_so_and_the_others_still_load(tmp_path: Path) -> None:
    ids = generate_runs(tmp_path, 3)
    (tmp_path / ids[1] / "config.toml").unlink()
    runs = load_runs(RunStore(tmp_path), ids)
    assert runs[1].problem and runs[1].config is None
    assert runs[0].config is not None and runs[2].config is not None


def test_a_hundred_runs_load_with_their_epochs(tmp_path: Path) -> None:
    ids = generate_runs(tmp_path, 100)
    started = time.perf_counter()
    runs = load_runs(RunStore(tmp_path), ids)
    assert len(runs) == 100 and all(r.view.epoch_numbers == [1, 2, 3] for r in runs)
    assert time.perf_counter() - started < 10  # generous: a loaded CI box; bench has the figure
