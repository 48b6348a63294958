"""Optuna's distributed mode for real: two `densexp sweep` processes (real trainer, mlp on
iris) join one study in a throwaway PostgreSQL server and share its trials."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep.storage import parse_storage
from tests.sweep.conftest import REPO, Postgres, write_sweep

# The first test's setup may apt-get install the server (two steps of up to 600 s each).
pytestmark = pytest.mark.timeout(1500)

N_TRIALS = 5
SWEEP = f"""
[sweep]
name = "pg-iris"
objective = "val.f1"
n_trials = {N_TRIALS}
[space]
"train.learning_rate" = {{low = 1e-3, high = 1e-1, log = true}}
"model.dropout" = {{low = 0.0, high = 0.3}}
"""


def _densexp(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "densexp_tui", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_workers_share_one_postgres_study(postgres: Postgres, tmp_path: Path) -> None:
    url = postgres.create_database("sweep_two_workers")
    sweep = write_sweep(tmp_path, SWEEP, epochs=1)
    runs = tmp_path / "runs"
    workers = [_densexp("sweep", str(sweep), "--storage", url, "--runs-dir", str(runs), "--json")
               for _ in range(2)]
    outputs = [w.communicate(timeout=240) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    assert postgres.password not in "".join(out + err for out, err in outputs)

    # The driver-qualified URL: SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3.
    spec = parse_storage(url, runs, "pg-iris")
    study = optuna.load_study(study_name="pg-iris", storage=spec.url)
    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == N_TRIALS
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    pids = {t.user_attrs["worker"]["pid"] for t in finished}
    assert len(pids) == 2, "both machines' workers should have trained trials"

    store = RunStore(runs)
    for trial in finished:
        summary = store.read_summary(trial.user_attrs["run_id"])
        assert (summary.sweep, summary.trial) == ("pg-iris", trial.number)
    in_store = [s for s in store.list_runs() if s.sweep == "pg-iris" and s.status == "completed"]
    best_in_store = max(in_store, key=lambda s: s.best["f1"])
    assert study.best_value == best_in_store.best["f1"]
    for out, _ in outputs:  # what each worker reported as the best
        report = json.loads(out)
        assert report["best"]["value"] == best_in_store.best["f1"] or report["finished"] < N_TRIALS


def test_wrong_password_names_host_and_port_but_never_the_password(
        postgres: Postgres, tmp_path: Path, capsys) -> None:
    from densexp_tui.cli import main

    sweep = write_sweep(tmp_path, SWEEP)
    url = f"postgresql://densexp:not-the-pw@{postgres.host}:{postgres.port}/postgres"
    code = main(["sweep", str(sweep), "--storage", url, "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{postgres.host}:{postgres.port}" in err and "password authentication failed" in err
    assert "not-the-pw" not in err
    assert not (tmp_path / "runs").exists()


def test_a_killed_worker_is_found_by_the_heartbeat_and_its_trial_retried(
        postgres: Postgres, tmp_path: Path, monkeypatch) -> None:
    import os
    import signal
    import time

    from densexp_tui.sweep import storage as storage_mod
    from tests.sweep.conftest import Sweeper, start_worker_process, wait_for

    url = postgres.create_database("sweep_killed_worker")
    sweep = write_sweep(tmp_path, '[sweep]\nname = "pg-kill"\nn_trials = 2\n[space]\n'
                        '"train.learning_rate" = {low = 1e-4, high = 1e-1, log = true}\n',
                        epochs=3)
    runs = tmp_path / "runs"
    driver_url = parse_storage(url, runs, "pg-kill").url

    def running_trial() -> bool:
        try:
            study = optuna.load_study(study_name="pg-kill", storage=driver_url)
        except KeyError:
            return False
        return any(t.user_attrs.get("run_id") for t in study.get_trials(deepcopy=False))

    proc = start_worker_process(sweep, runs, "--storage", url, "--heartbeat", "1", "2",
                                env={"FAKE_EPOCH_SECONDS": "3"})
    try:
        assert wait_for(running_trial, timeout=60)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    time.sleep(3)  # longer than the grace period: the trial's heartbeat is stale

    monkeypatch.setattr(storage_mod, "HEARTBEAT_INTERVAL", 1)
    monkeypatch.setattr(storage_mod, "GRACE_PERIOD", 2)
    outcome = Sweeper(runs).run(sweep, storage=url)
    assert outcome.finished == 2
    dead = outcome.rows[0]
    assert dead.state == "failed" and dead.note == "worker died; retried"
    retry = next(r for r in outcome.rows if r.note == "retry of #0")
    assert retry.params == dead.params and retry.state == "complete"
