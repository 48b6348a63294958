"""The sweep loop with a TensorFlow-free trainer: trials are runs, pruning, reuse, stop and
continue, dead workers, and several local worker processes on the journal file."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import optuna
from optuna.trial import TrialState

from densexp_tui.core.config import load_config
from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep.runner import request_stop
from densexp_tui.sweep.storage import journal_path
from tests.sweep.conftest import Sweeper, start_worker_process, wait_for, write_sweep
from tests.sweep.fake_trainer import fake_train

LR_SPACE = '[space]\n"train.learning_rate" = {low = 1e-5, high = 1e-1, log = true}\n'


def _study(runs: Path, name: str) -> optuna.Study:
    from densexp_tui.sweep.study import load_local_study

    study = load_local_study(RunStore(runs), name)
    assert study is not None
    return study


def test_each_trial_is_a_run_with_sweep_and_trial_set(tmp_path: Path, sweeper: Sweeper) -> None:
    sweep = write_sweep(tmp_path, '[sweep]\nname = "basic"\nn_trials = 3\n' + LR_SPACE)
    outcome = sweeper.run(sweep)
    assert outcome.finished == 3 and outcome.reason == "done"
    store = RunStore(sweeper.runs)
    for row in outcome.rows:
        cfg = load_config(store.run_dir(row.run_id) / "config.toml")
        assert (cfg.run.sweep, cfg.run.trial) == ("basic", row.number)
        assert cfg.train.learning_rate == row.params["train.learning_rate"]
        assert store.read_summary(row.run_id).status == "completed"
    best = max(store.list_runs(), key=lambda s: s.best["f1"])
    assert outcome.best is not None and outcome.best.run_id == best.run_id
    assert outcome.best.value == best.best["f1"]


def test_a_bad_trial_is_pruned_by_the_median_rule(tmp_path: Path, sweeper: Sweeper) -> None:
    sweep = write_sweep(tmp_path, '[sweep]\nname = "prune"\nn_trials = 2\npruner = "median"\n'
                        'pruner_startup_trials = 1\n' + LR_SPACE, epochs=4)
    worker = sweeper.worker(sweep)
    worker.study.enqueue_trial({"train.learning_rate": 10 ** -2.5})  # the best point
    worker.study.enqueue_trial({"train.learning_rate": 1e-5})  # far off: below the median
    outcome = worker.run()
    good, bad = outcome.rows
    assert (good.state, bad.state) == ("complete", "pruned")
    assert bad.pruned_at == 1 and outcome.finished == 2
    summary = RunStore(sweeper.runs).read_summary(bad.run_id)
    assert summary.status == "cancelled" and summary.message == "pruned at epoch 1"
    assert _study(sweeper.runs, "prune").trials[1].state == TrialState.PRUNED


def test_a_config_that_already_completed_is_reused(tmp_path: Path, sweeper: Sweeper) -> None:
    body = ('[sweep]\nname = "{}"\nn_trials = 2\nsampler = "grid"\n'
            '[space]\n"train.batch_size" = [8, 16]\n')
    first = sweeper.run(write_sweep(tmp_path, body.format("first"), name="a.toml"))
    calls: list[str] = []

    def counting_train(*args, **kwargs):
        calls.append("trained")
        return fake_train(*args, **kwargs)

    second = sweeper.run(write_sweep(tmp_path, body.format("second"), name="b.toml"),
                         train_fn=counting_train)
    assert calls == [] and second.finished == 2
    by_batch = {r.params["train.batch_size"]: r for r in first.rows}
    store = RunStore(sweeper.runs)
    for row in second.rows:
        origin = by_batch[row.params["train.batch_size"]]
        assert row.reused_from == origin.run_id and row.value == origin.value
        summary = store.read_summary(row.run_id)
        assert summary.reused_from == origin.run_id and summary.sweep == "second"
    trial = _study(sweeper.runs, "second").trials[0]
    assert trial.user_attrs["reused_from"] and trial.intermediate_values


def test_stop_cancels_the_running_trial_and_the_next_start_continues(
        tmp_path: Path, sweeper: Sweeper, monkeypatch) -> None:
    monkeypatch.setattr("tests.sweep.fake_trainer.EPOCH_SECONDS", 0.3)
    sweep = write_sweep(tmp_path, '[sweep]\nname = "stopme"\nn_trials = 3\n' + LR_SPACE, epochs=4)
    worker = sweeper.worker(sweep)
    runs = sweeper.runs
    # Ask for the stop once the first trial is training: no race with start-up time.
    monkeypatch.setattr("tests.sweep.fake_trainer.AFTER_EPOCH",
                        lambda epoch: request_stop(runs, "stopme") if epoch == 1 else None)
    outcome = worker.run()
    monkeypatch.setattr("tests.sweep.fake_trainer.AFTER_EPOCH", None)
    assert outcome.reason == "stopped" and outcome.finished == 0
    stopped = outcome.rows[0]
    assert stopped.state == "failed" and "stopped" in stopped.note
    assert RunStore(runs).read_summary(stopped.run_id).status == "cancelled"
    assert [r.state for r in outcome.rows[1:]] == ["waiting"]

    monkeypatch.setattr("tests.sweep.fake_trainer.EPOCH_SECONDS", 0.01)
    again = sweeper.run(sweep)
    assert again.reason == "done" and again.finished == 3
    retry = again.rows[1]
    assert retry.params == stopped.params and retry.state == "complete"


def test_a_second_ctrl_c_while_the_trial_stops_queues_it_again(
        tmp_path: Path, sweeper: Sweeper, monkeypatch) -> None:
    """Ctrl-C twice in a row: the trial is aborted before it finished stopping, yet its
    parameters run again when the same sweep starts again, and n_trials still finish."""
    from io import StringIO

    from rich.console import Console

    from densexp_tui.sweep.cli import prepare, run_with_table, start_worker

    monkeypatch.setattr("tests.sweep.fake_trainer.EPOCH_SECONDS", 0.01)
    sweep = write_sweep(tmp_path, '[sweep]\nname = "abort"\nn_trials = 2\n' + LR_SPACE,
                        epochs=3)
    plan = prepare(sweep, None, None, sweeper.runs)
    worker = start_worker(plan, RunStore(plan.runs_dir), train_fn=fake_train)

    def two_ctrl_cs(epoch: int) -> None:
        if epoch == 1:  # the trial is training; the handlers run at once, in this thread
            signal.raise_signal(signal.SIGINT)  # the first: cancel the trial and stop
            signal.raise_signal(signal.SIGINT)  # the second, while it is still stopping

    monkeypatch.setattr("tests.sweep.fake_trainer.AFTER_EPOCH", two_ctrl_cs)
    console = Console(file=StringIO(), width=150)
    assert run_with_table(worker, plan, console) == 130
    monkeypatch.setattr("tests.sweep.fake_trainer.AFTER_EPOCH", None)
    assert "sweep aborted" in console.file.getvalue()
    trials = _study(sweeper.runs, "abort").get_trials(deepcopy=False)
    aborted = trials[0]
    assert aborted.state == TrialState.FAIL and "will run again" in aborted.user_attrs["failure"]
    assert [(t.state, t.user_attrs.get("retry_of")) for t in trials[1:]] == [
        (TrialState.WAITING, 0)]

    again = sweeper.run(sweep)
    assert again.reason == "done" and again.finished == 2
    retry = next(r for r in again.rows if r.note == "retry of #0")
    assert retry.params == aborted.params and retry.state == "complete"


def test_bad_input_creates_nothing(tmp_path: Path, capsys) -> None:
    from argparse import Namespace

    from densexp_tui.sweep.cli import sweep_command

    sweep = write_sweep(tmp_path, '[space]\n"train.learning_rate" = {low = 0.1, high = 0.01}\n')
    runs = tmp_path / "runs"
    code = sweep_command(Namespace(sweep=str(sweep), storage=None, n_trials=None,
                                   runs_dir=str(runs)))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "low 0.1 is not below high 0.01" in err[0]
    assert not runs.exists()


def test_joining_with_another_space_is_refused(tmp_path: Path, sweeper: Sweeper, capsys) -> None:
    from argparse import Namespace

    from densexp_tui.sweep.cli import sweep_command

    sweeper.run(write_sweep(tmp_path, '[sweep]\nname = "same"\nn_trials = 1\n' + LR_SPACE))
    other = write_sweep(tmp_path, '[sweep]\nname = "same"\n[space]\n"train.batch_size" = [8]\n',
                        name="other.toml")
    code = sweep_command(Namespace(sweep=str(other), storage=None, n_trials=None,
                                   runs_dir=str(sweeper.runs)))
    assert code == 2 and "another objective, search space or base config" in capsys.readouterr().err


def _journal_trials(runs: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    if not journal_path(runs, name).exists():
        return []
    try:
        return _study(runs, name).get_trials(deepcopy=False)
    except Exception:  # noqa: BLE001 - the study may not exist yet
        return []


def test_a_killed_worker_is_failed_and_its_trial_retried(tmp_path: Path, sweeper: Sweeper) -> None:
    sweep = write_sweep(tmp_path, '[sweep]\nname = "kill"\nn_trials = 2\n' + LR_SPACE, epochs=3)
    runs = sweeper.runs
    proc = start_worker_process(sweep, runs, env={"FAKE_EPOCH_SECONDS": "2"})
    try:
        assert wait_for(lambda: any(t.user_attrs.get("run_id")
                                    for t in _journal_trials(runs, "kill")), timeout=60)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    dead = _journal_trials(runs, "kill")[0]
    assert dead.state == TrialState.RUNNING
    assert RunStore(runs).read_summary(dead.user_attrs["run_id"]).status == "interrupted"

    outcome = sweeper.run(sweep)
    assert outcome.finished == 2
    first = outcome.rows[0]
    assert first.state == "failed" and first.note == "worker died; retried"
    retry = next(r for r in outcome.rows if r.note == "retry of #0")
    assert retry.params == dead.params and retry.state == "complete"


def test_two_local_worker_processes_share_the_journal(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, '[sweep]\nname = "pair"\nn_trials = 6\n' + LR_SPACE)
    runs = tmp_path / "runs"
    procs = [start_worker_process(sweep, runs, env={"FAKE_EPOCH_SECONDS": "0.2"})
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    trials = _journal_trials(runs, "pair")
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 6
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    workers = {json.dumps(t.user_attrs["worker"]["pid"]) for t in finished}
    assert len(workers) == 2  # both processes trained trials
    store = RunStore(runs)
    for trial in finished:
        assert store.read_summary(trial.user_attrs["run_id"]).trial == trial.number


def test_data_the_trainer_refuses_ends_the_sweep_as_bad_input(tmp_path: Path,
                                                             sweeper: Sweeper) -> None:
    from densexp_tui.core.errors import DataError

    def refusing_train(cfg, store, **kwargs):
        raise DataError("no such column 'txt'", file="data.csv", key="data.text_column")

    sweep = write_sweep(tmp_path, '[sweep]\nname = "refused"\nn_trials = 4\n' + LR_SPACE)
    worker = sweeper.worker(sweep, train_fn=refusing_train)
    outcome = worker.run()
    assert outcome.reason == "bad input" and len(outcome.rows) == 1
    assert "no such column" in str(worker.bad_input)
    assert outcome.rows[0].state == "failed"
