"""FGM with several devices: two logical CPUs under MirroredStrategy (a fresh process:
tests/integration/fgm_distributed_main.py). The perturbation of the global batch has the
requested norm, each replica holding its share, the FGM step trains, and a real cpu:2 FGM
run completes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from densexp_tui.core.events import read_events

pytestmark = pytest.mark.timeout(900)  # a loaded 2-core box: ~4-8 min
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cpu2(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    runs = tmp_path_factory.mktemp("fgm-cpu2") / "runs"
    done = subprocess.run([sys.executable, "-m", "tests.integration.fgm_distributed_main",
                           str(runs)], cwd=REPO, capture_output=True, text=True, timeout=860,
                          check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):]), runs


def test_the_batch_norm_holds_across_and_per_replica(cpu2: tuple[dict, Path]) -> None:
    found = cpu2[0]["perturbation"]
    assert found["replicas"] == 2 and len(found["replica_norms"]) == 2
    # each replica's part is what one device computes for the global batch ...
    assert found["replica_norms"] == pytest.approx(found["expected_replica_norms"], rel=1e-5)
    assert found["max_error"] < 1e-6
    # ... so together they have the requested norm (not epsilon on each replica)
    total = sum(norm ** 2 for norm in found["replica_norms"]) ** 0.5
    assert total == pytest.approx(found["expected"], rel=1e-5)


def test_the_fgm_step_trains_under_the_strategy(cpu2: tuple[dict, Path]) -> None:
    step = cpu2[0]["step"]
    assert step["replicas"] == 2
    assert step["losses"][-1] < 0.5 * step["losses"][0]
    assert step["accuracy"] >= 0.9


def test_a_cpu2_fgm_run_completes_and_says_what_it_costs(cpu2: tuple[dict, Path]) -> None:
    run, runs = cpu2[0]["run"], cpu2[1]
    assert run["status"] == "completed", run["message"]
    assert run["replicas"] == ["cpu:0", "cpu:1"]
    events = read_events(runs / run["run_id"] / "events.jsonl").events
    messages = [str(e.get("message", "")) for e in events if e.kind == "status"]
    assert any("two forward/backward passes" in m for m in messages)
    assert [e.get("epoch") for e in events if e.kind == "epoch"] == [1]
