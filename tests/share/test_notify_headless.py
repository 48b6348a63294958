"""``densexp run --notify`` on a terminal: bell and desktop escape when the run ends."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]


def test_run_notify_rings_and_sends_the_escape_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "DENSEXP_DESKTOP_NOTIFY": "1",
           "TERM": "xterm-256color"}
    env.pop("TMUX", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "densexp_tui", "run", str(REPO / "examples" / "tabular.toml"),
         "--set", "train.epochs=1", "--runs-dir", str(tmp_path / "runs"), "--notify"],
        env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(timeout=60) == 0
    os.close(leader)
    text = output.decode("utf-8", "replace")
    assert "\x1b]777;notify;densexp: run completed;wine-mlp completed\a" in text
    assert "\x1b]9;densexp: run completed: wine-mlp completed\a" in text
    assert text.index("\a\x1b]9;") > text.index("wine-mlp")  # at the end, after the summary
