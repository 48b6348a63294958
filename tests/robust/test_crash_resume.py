"""Crash safety end to end: a real run killed with SIGKILL mid-epoch shows as interrupted,
keeps every complete event, and resumes to the same numbers as a run never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from densexp_tui.cli import main
from densexp_tui.core.config import load_config
from densexp_tui.core.events import read_events
from densexp_tui.core.runstore import RunStore

pytestmark = pytest.mark.slow

CONFIG = """
[run]
name = "crash"
deterministic = true
[data]
max_samples = 480
max_length = 32
val_fraction = 0.2
test_fraction = 0.2
[train]
epochs = 3
batch_size = 16
learning_rate = 0.002
log_every_steps = 1
"""


def _wait_for(predicate, timeout: float = 240.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _run_dirs(runs: Path) -> list[Path]:
    if not runs.is_dir():
        return []
    return [p for p in runs.iterdir() if not p.name.startswith(".")]


def _steps_of_epoch(events_path: Path, epoch: int) -> bool:
    if not events_path.exists():
        return False
    return any(e.kind == "step" and e.get("epoch") == epoch
               for e in read_events(events_path).events)


def test_killed_run_is_interrupted_then_resumes_to_the_same_metrics(tmp_path: Path) -> None:
    config = tmp_path / "crash.toml"
    config.write_text(CONFIG)
    runs = tmp_path / "runs"
    child = subprocess.Popen(
        [sys.executable, "-m", "densexp_tui", "run", str(config), "--runs-dir", str(runs),
         "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # Dot entries (the store's writability probe) come first: wait for the run itself.
        _wait_for(lambda: bool(_run_dirs(runs)), what="the run directory")
        run_dir = _run_dirs(runs)[0]
        _wait_for(lambda: _steps_of_epoch(run_dir / "events.jsonl", 2),
                  what="epoch 2 to start")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()

    # Meanwhile nothing has to be guessed: the store says the process is gone.
    store = RunStore(runs)
    summary = store.get(run_dir.name)
    assert summary.status == "interrupted"
    log = read_events(run_dir / "events.jsonl")
    assert log.skipped <= 1  # at most the line being written when the kill came
    kinds = [e.kind for e in log.events]
    assert kinds[0] == "run_started" and "epoch" in kinds
    assert [e.seq for e in log.events] == list(range(1, len(log.events) + 1))
    assert main(["show", run_dir.name, "--runs-dir", str(runs)]) == 0

    # Resume from the CLI, as a user would.
    assert main(["resume", run_dir.name, "--runs-dir", str(runs)]) == 0
    resumed = store.get(run_dir.name)
    assert resumed.status == "completed" and resumed.epochs_done == 3
    events = read_events(run_dir / "events.jsonl").events
    statuses = [e.get("status") for e in events if e.kind == "status"]
    assert "resumed" in statuses
    assert [e.get("epoch") for e in events if e.kind == "epoch"] == [1, 2, 3]

    # The same config, never interrupted, in another runs directory.
    reference_runs = tmp_path / "reference"
    assert main(["run", str(config), "--runs-dir", str(reference_runs), "--json"]) == 0
    reference = RunStore(reference_runs).list_runs()[0]
    for key in ("loss", "accuracy", "f1"):
        assert resumed.test[key] == pytest.approx(reference.test[key], abs=1e-6)
        assert resumed.best[key] == pytest.approx(reference.best[key], abs=1e-6)
    assert resumed.best_epoch == reference.best_epoch


def test_resume_refuses_what_it_cannot_continue(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    store = RunStore(runs)
    cfg = load_config(_write(tmp_path / "c.toml", CONFIG))
    finished = store.create_run(cfg)
    finished.update_summary(status="completed")
    assert main(["resume", finished.run_id, "--runs-dir", str(runs)]) == 2
    assert "is completed" in capsys.readouterr().err
    never_started = store.create_run(cfg)
    never_started.update_summary(status="cancelled")
    assert main(["resume", never_started.run_id, "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert "nothing to resume from" in err and len(err.strip().splitlines()) == 1
    assert main(["resume", "no-such-run", "--runs-dir", str(runs)]) == 2


def test_detached_run_survives_and_is_followable(tmp_path: Path, capsys) -> None:
    config = _write(tmp_path / "tab.toml", '[run]\nname = "bg"\n[data]\nname = "iris"\n'
                    '[model]\nname = "mlp"\n[train]\nepochs = 2\nbatch_size = 16\n')
    runs = tmp_path / "runs"
    assert main(["run", "--detach", str(config), "--runs-dir", str(runs)]) == 0
    run_id = capsys.readouterr().out.strip()
    run_dir = runs / run_id
    assert run_dir.is_dir() and (run_dir / "config.toml").is_file()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["pid"] != os.getpid()
    # The child leads its own session: closing our terminal does not reach it.
    assert os.getsid(summary["pid"]) == summary["pid"] or not _alive(summary["pid"])
    _wait_for(lambda: RunStore(runs).get(run_id).status != "running", what="the detached run")
    assert RunStore(runs).get(run_id).status == "completed"


def test_detach_with_bad_input_exits_2_and_leaves_nothing(tmp_path: Path, capsys) -> None:
    config = _write(tmp_path / "bad.toml", '[data]\nsource = "csv"\npath = "missing.csv"\n')
    runs = tmp_path / "runs"
    assert main(["run", "--detach", str(config), "--runs-dir", str(runs)]) == 2
    assert "missing.csv" in capsys.readouterr().err
    assert not [p for p in runs.iterdir() if not p.name.startswith(".")] if runs.exists() else True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
