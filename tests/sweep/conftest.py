"""Fixtures for sweep tests: sweep files, an in-process runner, worker processes, and a real
throwaway PostgreSQL server (session-scoped) for the distributed tests."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep.cli import prepare, start_worker
from densexp_tui.sweep.runner import SweepOutcome, SweepWorker
from tests.session_once import session_lock
from tests.sweep.fake_trainer import fake_train

REPO = Path(__file__).resolve().parents[2]
BASE_TOML = """\
[data]
source = "builtin"
name = "iris"
[model]
name = "mlp"
hidden_units = [16]
[train]
epochs = {epochs}
batch_size = 16
"""


def write_sweep(folder: Path, body: str, epochs: int = 2, name: str = "sweep.toml") -> Path:
    """A base.toml (mlp on iris) and a sweep file next to it; returns the sweep's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.toml").write_text(BASE_TOML.format(epochs=epochs))
    path = folder / name
    path.write_text('base = "base.toml"\n' + body)
    return path


@dataclass
class Sweeper:
    """Runs sweeps in this process with the fake trainer."""

    runs: Path

    def worker(self, sweep: Path, n_trials: int | None = None, storage: str | None = None,
               train_fn: Callable = fake_train) -> SweepWorker:
        plan = prepare(sweep, storage, n_trials, self.runs)
        return start_worker(plan, RunStore(plan.runs_dir), train_fn=train_fn)

    def run(self, sweep: Path, **kw) -> SweepOutcome:
        return self.worker(sweep, **kw).run()


@pytest.fixture
def sweeper(tmp_path: Path) -> Sweeper:
    return Sweeper(tmp_path / "runs")


def start_worker_process(sweep: Path, runs: Path, *extra: str, fake: bool = True,
                         env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m tests.sweep.worker_main``: densexp sweep's code path in its own process."""
    cmd = [sys.executable, "-m", "tests.sweep.worker_main", str(sweep), "--runs-dir", str(runs),
           *extra]
    if fake:
        cmd.append("--fake")
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})})


# ---------------------------------------------------------------------------------------------
# PostgreSQL


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str

    def url(self, db: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user,
                                password=self.password, dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)


def _pg_bin(name: str) -> str | None:
    """A PostgreSQL server binary from PATH or the Debian layout."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _install_postgres() -> str:
    """apt-get install postgresql when the server binaries are missing (CI runs as root).

    Returns why the binaries are still missing ("" when they are there)."""
    if _pg_bin("initdb") and _pg_bin("pg_ctl"):
        return ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not root or no apt-get, so it cannot be installed"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "postgresql"]):
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(cmd)}` took over 600 s"
        if done.returncode:
            return f"`{' '.join(cmd)}` failed: {_last_line(done.stderr)}"
    return "" if _pg_bin("initdb") and _pg_bin("pg_ctl") else "installed, binaries still missing"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _no_postgres(reason: str) -> None:
    """Skip on a developer machine; under CI (env var CI set) the sweep tests across
    machines must run, so a server that cannot be installed or started fails loudly."""
    message = f"PostgreSQL server unavailable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def _run_server_command(cmd: list[str]) -> None:
    done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True)
    if done.returncode:
        _no_postgres(f"`{' '.join(cmd[:2])} ...` exited {done.returncode}: "
                     f"{_last_line(done.stderr or done.stdout)}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """postgres refuses to run as root: run the server commands as the `postgres` user."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A PostgreSQL server on 127.0.0.1 and a free port, with a throwaway data directory
    (one per xdist worker that runs these tests; the install is shared and locked)."""
    with session_lock(tmp_path_factory, "apt"):  # one apt-get at a time across workers
        missing = _install_postgres()
        if os.geteuid() == 0 and subprocess.run(["id", "postgres"],
                                                capture_output=True).returncode:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"],
                           check=False)
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if missing or not initdb or not pg_ctl:
        _no_postgres(f"server binaries not found ({missing or 'initdb/pg_ctl'})")
        raise AssertionError("unreachable")  # _no_postgres always skips or fails
    root = Path(tempfile.mkdtemp(prefix="densexp-pg-"))
    data, password = root / "data", "s3cret-pw"
    (root / "pw").write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    _run_server_command([initdb, "-D", str(data), "-U", "densexp", "-A", "scram-sha-256",
                         f"--pwfile={root / 'pw'}"])
    port = _free_port()
    _run_server_command([pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
                         "-o", f"-h 127.0.0.1 -p {port} -k {root}", "start"])
    try:
        yield Postgres("127.0.0.1", port, "densexp", password)
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w",
                                        "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
