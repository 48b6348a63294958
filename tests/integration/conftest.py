"""The cpu:2 results (tests/integration/distributed_main.py in a fresh process), shared by
test_distributed.py and test_fgm_distributed.py: the process pays for one TensorFlow start
and one MirroredStrategy device set-up for all the multi-device checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CPU2_TIMEOUT = 1400  # seconds; the tests that use it allow 1500 (a loaded 2-core box)


@pytest.fixture(scope="session")
def cpu2_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    runs = tmp_path_factory.mktemp("cpu2") / "runs"
    done = subprocess.run([sys.executable, "-m", "tests.integration.distributed_main",
                           str(runs)], cwd=REPO, capture_output=True, text=True,
                          timeout=CPU2_TIMEOUT, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):]), runs
