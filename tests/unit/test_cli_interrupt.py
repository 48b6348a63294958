"""Ctrl-C that no command handles (while imports run, before a command installs its own
handler): ``densexp`` ends with one line and the shell's exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from densexp_tui import cli
from densexp_tui.core.errors import EXIT_INTERRUPTED

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]

# A fresh `densexp runs` whose command receives a real SIGINT before it installs any
# handler, as when Ctrl-C lands while the command's imports run.
EARLY_SIGINT = (
    "import os, signal, sys, time\n"
    "import densexp_tui.cli_runs as runs\n"
    "def interrupted_early(args):\n"
    "    os.kill(os.getpid(), signal.SIGINT)\n"
    "    time.sleep(30)\n"
    "    return 0\n"
    "runs.runs_command = interrupted_early\n"
    "from densexp_tui.cli import main\n"
    "raise SystemExit(main(['runs']))\n"
)


def test_keyboard_interrupt_in_a_command_is_one_line_and_130(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_datasets", interrupted)
    assert cli.main(["datasets"]) == EXIT_INTERRUPTED == 130
    out, err = capsys.readouterr()
    assert err == "densexp: interrupted\n" and out == ""


def test_an_early_sigint_in_a_fresh_process_prints_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DENSEXP_RUNS_DIR": str(tmp_path / "runs")}
    done = subprocess.run([sys.executable, "-c", EARLY_SIGINT], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=50, check=False)
    assert done.returncode == 130
    assert done.stderr == "densexp: interrupted\n" and done.stdout == ""
