"""device.device = "cpu:2": one run on two logical CPU devices under MirroredStrategy
trains to the single-device tests' accuracy bars, and its checkpoint loads and resumes.

It runs in a subprocess of its own (tests/integration/distributed_main.py, through the
``cpu2_results`` fixture in conftest.py): logical CPU devices must be configured before
TensorFlow initialises, which this pytest process may have done for another test already.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.core.events import read_events

# One xdist worker runs every test of the cpu:2 process (make test uses --dist loadgroup):
# split over two, one worker would sit idle for minutes waiting on the other's process.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500), pytest.mark.xdist_group("cpu2")]


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
