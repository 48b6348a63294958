"""The cpu:2 results (tests/integration/distributed_main.py in a fresh process), shared by
test_distributed.py and test_fgm_distributed.py: the process pays for one TensorFlow start
and one MirroredStrategy device set-up for all the multi-device checks. It runs once per
session, whichever xdist worker asks first; the others wait for and read its results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.session_once import session_lock

REPO = Path(__file__).resolve().parents[2]
CPU2_TIMEOUT = 1400  # seconds; the tests that use it allow 1500 (a loaded 2-core box)


@pytest.fixture
def offline_hf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network and a private, empty HF cache (the model-loading tests use it)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def cpu2_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    with session_lock(tmp_path_factory, "cpu2") as shared:
        outcome, runs = shared / "cpu2-outcome.json", shared / "cpu2" / "runs"
        if not outcome.exists():
            outcome.write_text(json.dumps(_run_cpu2_process(runs)))
    found = json.loads(outcome.read_text())
    assert found["results"] is not None, found["stderr"]
    return found["results"], runs


def _run_cpu2_process(runs: Path) -> dict[str, Any]:
    """The process's RESULT line, or its stderr's tail when it failed (kept, so a second
    worker reports the same failure instead of paying for the process again)."""
    done = subprocess.run([sys.executable, "-m", "tests.integration.distributed_main",
                           str(runs)], cwd=REPO, capture_output=True, text=True,
                          timeout=CPU2_TIMEOUT, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        return {"results": None, "stderr": done.stderr[-3000:]}
    return {"results": json.loads(lines[-1][len("RESULT "):]), "stderr": ""}
