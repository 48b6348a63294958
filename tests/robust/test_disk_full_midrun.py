"""A disk that fills up during training: the run ends `failed` with the reason, and
what was written before (config, events, summary) stays readable."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from densexp_tui.core.config import RunConfig, apply_overrides
from densexp_tui.core.events import read_events
from densexp_tui.core.runstore import RunStore

pytestmark = pytest.mark.slow


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    mount = tmp_path / "small"
    mount.mkdir()
    # Room for the run's config, events and first weights, not for a second copy.
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(mount)],
                          capture_output=True)
    if os.geteuid() != 0 or done.returncode != 0:
        pytest.skip("needs root to mount a tmpfs (CI and the dev machines run as root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_disk_full_mid_run_marks_the_run_failed(small_tmpfs: Path) -> None:
    from densexp_tui.engine.trainer import train

    cfg = apply_overrides(RunConfig(), ["run.name=full-disk", "data.max_samples=300",
                                        "data.max_length=32", "train.epochs=2"])
    store = RunStore(small_tmpfs / "runs")
    result = train(cfg, store)
    assert result.status == "failed"
    assert "No space left" in result.message or "ENOSPC" in result.message
    summary = store.get(result.run_id)
    assert summary.status == "failed" and "No space left" in summary.message
    log = read_events(store.run_dir(result.run_id) / "events.jsonl")
    kinds = [e.kind for e in log.events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert (store.run_dir(result.run_id) / "config.toml").is_file()
