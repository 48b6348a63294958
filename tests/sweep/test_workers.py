"""``densexp sweep --workers N`` and ``--gpus LIST``: several worker processes on one study
(with the fake trainer), each --gpus worker seeing only its GPU, Ctrl-C, and bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from densexp_tui.core.errors import ConfigError
from densexp_tui.core.events import read_events
from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep.study import count_finished, load_local_study, trial_rows
from densexp_tui.sweep.workers import WorkerSlot, plan_slots
from tests.sweep.conftest import REPO, wait_for, write_sweep

pytestmark = pytest.mark.timeout(240)

LR_SPACE = '[space]\n"train.learning_rate" = {low = 1e-5, high = 1e-1, log = true}\n'


def _pool(sweep: Path, runs: Path, *extra: str, epoch_seconds: str = "0.6") -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tests.sweep.pool_main", str(sweep), "--runs-dir", str(runs),
           *extra]
    env = {**os.environ, "FAKE_EPOCH_SECONDS": epoch_seconds, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _started(runs: Path) -> list[dict]:
    """run_started of every run, with the worker pid and visible GPUs the fake recorded."""
    found = []
    for summary in RunStore(runs).list_runs():
        events = read_events(runs / summary.run_id / "events.jsonl").events
        found += [dict(e.data, run_id=summary.run_id) for e in events if e.kind == "run_started"]
    return found


def _finished(runs: Path, name: str) -> int:
    study = load_local_study(RunStore(runs), name)
    assert study is not None
    return count_finished(trial_rows(study))


def test_two_workers_share_one_study_and_finish_exactly_n_trials(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, '[sweep]\nname = "pair"\nn_trials = 4\n' + LR_SPACE)
    runs = tmp_path / "runs"
    proc = _pool(sweep, runs, "--workers", "2")
    out, err = proc.communicate(timeout=200)
    assert proc.returncode == 0, err
    assert "4/4 trials finished (done)" in out
    assert _finished(runs, "pair") == 4
    pids = {started["worker_pid"] for started in _started(runs)}
    assert len(pids) == 2  # two processes really trained trials of the one study
    assert err.count("worker ") == 2 and "pid" in err


def test_gpus_start_one_worker_per_gpu_seeing_only_its_gpu(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, '[sweep]\nname = "gpus"\nn_trials = 4\n' + LR_SPACE)
    runs = tmp_path / "runs"
    proc = _pool(sweep, runs, "--gpus", "1,3", "--fake-gpus", "4")
    _out, err = proc.communicate(timeout=200)
    assert proc.returncode == 0, err
    assert _finished(runs, "gpus") == 4
    by_worker: dict[int, set[str]] = {}
    for started in _started(runs):
        by_worker.setdefault(started["worker_pid"], set()).add(started["visible_gpus"])
    # Each worker process saw exactly one GPU, the two saw different ones, and the summary
    # records it as run_started does.
    assert sorted(by_worker.values(), key=sorted) == [{"1"}, {"3"}]
    summary = RunStore(runs).read_summary(_started(runs)[0]["run_id"])
    assert summary.visible_gpus in ("1", "3")


def test_ctrl_c_stops_every_worker_and_the_same_command_continues(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, '[sweep]\nname = "stop"\nn_trials = 4\n' + LR_SPACE,
                        epochs=8)
    runs = tmp_path / "runs"
    proc = _pool(sweep, runs, "--workers", "2", epoch_seconds="1.0")
    # Both workers are in a trial (an 8-second one) once two runs have started.
    assert wait_for(lambda: len({s["worker_pid"] for s in _started(runs)}) == 2, timeout=120)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopping" in err
    store = RunStore(runs)
    statuses = [store.read_summary(s["run_id"]).status for s in _started(runs)]
    assert statuses.count("cancelled") == 2 and "running" not in statuses
    study = load_local_study(store, "stop")
    assert study is not None
    assert all(r.state != "running" for r in trial_rows(study))
    again = _pool(sweep, runs, "--workers", "2", epoch_seconds="0.1")
    _out, err = again.communicate(timeout=200)
    assert again.returncode == 0, err
    assert _finished(runs, "stop") == 4


def test_a_second_ctrl_c_aborts_the_workers_and_loses_no_trial(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, '[sweep]\nname = "abort"\nn_trials = 4\n' + LR_SPACE,
                        epochs=8)
    runs = tmp_path / "runs"
    proc = _pool(sweep, runs, "--workers", "2", epoch_seconds="1.0")
    assert wait_for(lambda: len({s["worker_pid"] for s in _started(runs)}) == 2, timeout=120)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)  # two key presses: the pool forwards each to every worker on its own
    proc.send_signal(signal.SIGINT)  # the workers' trials stop at their next epoch, 1 s away
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    study = load_local_study(RunStore(runs), "abort")
    assert study is not None
    trials = study.get_trials(deepcopy=False)
    failed = [t.number for t in trials if t.state == TrialState.FAIL]
    queued = sorted(t.user_attrs.get("retry_of") for t in trials if t.state == TrialState.WAITING)
    assert len(failed) == 2 and queued == failed  # each aborted trial waits to run again
    again = _pool(sweep, runs, "--workers", "2", epoch_seconds="0.1")
    _out, err = again.communicate(timeout=200)
    assert again.returncode == 0, err
    assert _finished(runs, "abort") == 4


@pytest.mark.parametrize(("extra", "words"), [
    (["--workers", "0"], "--workers 0; allowed: an integer >= 1"),
    (["--gpus", "0,5", "--fake-gpus", "2"], "--gpus names GPU 5, which is not there"),
    (["--gpus", "0", "--fake-gpus", "0"], "TensorFlow sees no GPU"),
    (["--gpus", "a,b", "--fake-gpus", "2"], "allowed: GPU indices separated by commas"),
    (["--workers", "2", "--gpus", "0", "--fake-gpus", "2"], "--workers and --gpus together"),
])
def test_bad_worker_options_are_one_line_and_create_nothing(tmp_path: Path, extra: list[str],
                                                            words: str) -> None:
    sweep = write_sweep(tmp_path, '[sweep]\nname = "bad"\nn_trials = 2\n' + LR_SPACE)
    runs = tmp_path / "runs"
    proc = _pool(sweep, runs, *extra)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert not runs.exists()


def test_densexp_sweep_gpus_on_a_machine_without_that_gpu(tmp_path: Path) -> None:
    """The real command asks TensorFlow (in a child) how many GPUs there are."""
    sweep = write_sweep(tmp_path, '[sweep]\nname = "real"\nn_trials = 2\n' + LR_SPACE)
    runs = tmp_path / "runs"
    gpus = "0,1,2,3,4,5,6,7,8"  # more than any machine running this suite has
    done = subprocess.run([sys.executable, "-m", "densexp_tui", "sweep", str(sweep),
                           "--runs-dir", str(runs), "--gpus", gpus], cwd=REPO,
                          capture_output=True, text=True, timeout=200, check=False)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--gpus names GPU" in done.stderr
    assert not runs.exists()


def test_gpu_indices_follow_an_inherited_cuda_visible_devices(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6")
    assert plan_slots(None, "0,2", lambda: 3) == [WorkerSlot(0, "4"), WorkerSlot(1, "6")]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert plan_slots(None, "2", lambda: 3) == [WorkerSlot(0, "2")]
    assert plan_slots(1, None) is None and plan_slots(None, None) is None
    assert [s.index for s in plan_slots(3, None) or []] == [0, 1, 2]
    assert WorkerSlot(0, "6").environment({"PATH": "/bin"}) == {
        "PATH": "/bin", "CUDA_VISIBLE_DEVICES": "6"}



@pytest.mark.parametrize(("workers", "gpus", "args"), [
    ("1", "", []), ("3", "", ["--workers", "3"]), ("", "", []),
    ("1", "0, 2", ["--gpus", "0,2"]),
])
def test_the_new_sweep_form_passes_workers_or_gpus(tmp_path: Path, workers: str, gpus: str,
                                                   args: list[str]) -> None:
    from densexp_tui.sweep.launch import SweepForm, sweep_command_line, worker_arguments

    chosen = worker_arguments(SweepForm(workers=workers, gpus=gpus))
    assert chosen == args
    cmd = sweep_command_line(tmp_path / "s.toml", tmp_path / "runs", "", chosen)
    assert cmd[-len(args):] == args if args else "--workers" not in cmd


@pytest.mark.parametrize(("workers", "gpus", "words"), [
    ("0", "", "--workers 0; allowed: an integer >= 1"), ("x", "", "not a whole number"),
    ("2", "0,1", "--workers and --gpus together"), ("1", "0,0", "names a GPU twice"),
])
def test_a_bad_workers_choice_in_the_form_is_one_line(workers: str, gpus: str,
                                                      words: str) -> None:
    from densexp_tui.sweep.launch import SweepForm, worker_arguments

    with pytest.raises(ConfigError) as caught:
        worker_arguments(SweepForm(workers=workers, gpus=gpus))
    assert words in str(caught.value) and str(caught.value).startswith("new sweep form")
