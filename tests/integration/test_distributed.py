"""device.device = "cpu:2": one run on two logical CPU devices under MirroredStrategy
trains to the single-device tests' accuracy bars, and its checkpoint loads and resumes.

It runs in a subprocess of its own (tests/integration/distributed_main.py): logical CPU
devices must be configured before TensorFlow initialises, which this pytest process may
have done for another test already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from densexp_tui.core.events import read_events

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cpu2_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    runs = tmp_path_factory.mktemp("cpu2") / "runs"
    done = subprocess.run([sys.executable, "-m", "tests.integration.distributed_main",
                           str(runs)], cwd=REPO, capture_output=True, text=True,
                          timeout=1400, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):]), runs


def test_tiny_bert_on_two_replicas_learns_and_resumes(cpu2_results: tuple[dict, Path]) -> None:
    results, runs = cpu2_results
    run = results["tiny_bert"]
    assert run["first_status"] == "cancelled" and run["status"] == "completed"
    assert run["best_accuracy"] >= run["majority"] + 0.25  # test_trainer.py's bar
    assert run["replicas"] == ["cpu:0", "cpu:1"] and run["loaded_params"] > 0
    events = read_events(runs / run["run_id"] / "events.jsonl").events
    started = next(e for e in events if e.kind == "run_started")
    assert started.get("device") == "cpu:2"
    assert started.get("replicas") == ["cpu:0", "cpu:1"]
    assert [e.get("status") for e in events if e.kind == "status"].count("resumed") == 1
    assert [e.get("epoch") for e in events if e.kind == "epoch"] == [1, 2, 3, 4]


def test_lora_on_two_replicas_beats_majority(cpu2_results: tuple[dict, Path]) -> None:
    run = cpu2_results[0]["lora"]
    assert run["status"] == "completed", run["message"]
    assert run["test_accuracy"] >= run["majority"] + 0.2  # test_finetune.py's bar
    assert run["adapters"]
