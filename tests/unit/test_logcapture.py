"""Library output goes to the log, our output to the terminal (checked in a subprocess, whose
fd 2 we can read; pytest's own capturing would hide what really reaches the terminal)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent(code))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def test_capture_routes_fd2_stderr_and_library_loggers(tmp_path: Path) -> None:
    done = _run("""
        import logging, os, sys, warnings
        from densexp_tui.engine.logcapture import capture_library_output, terminal_stream
        lib = logging.getLogger("tensorflow")
        lib.addHandler(logging.StreamHandler(sys.stderr))  # bound before the capture
        with capture_library_output("run.log"):
            os.write(2, b"C++ line on fd 2\\n")
            print("python stderr line", file=sys.stderr)
            lib.warning("tensorflow logger line")
            warnings.warn("a library warning")
            print("for the user", file=terminal_stream())
            sys.__stderr__.write("textual draws here\\n")
            sys.__stderr__.flush()
        print("after the capture", file=sys.stderr)
    """, tmp_path)
    log = (tmp_path / "run.log").read_text()
    for line in ("C++ line on fd 2", "python stderr line", "tensorflow logger line",
                 "a library warning"):
        assert line in log and line not in done.stderr
    assert "for the user" in done.stderr and "textual draws here" in done.stderr
    assert "after the capture" in done.stderr and "after the capture" not in log


def test_early_capture_moves_into_the_run_log_and_nests(tmp_path: Path) -> None:
    done = _run("""
        import os
        from densexp_tui.engine.logcapture import capture_library_output
        with capture_library_output(None) as capture:
            os.write(2, b"while importing\\n")
            capture.switch_to("run/log.txt")
            os.write(2, b"while training\\n")
            with capture_library_output("inner.log"):
                os.write(2, b"inner\\n")
            os.write(2, b"back in the run\\n")
        os.write(2, b"terminal again\\n")
    """, tmp_path)
    assert (tmp_path / "run" / "log.txt").read_text() == (
        "while importing\nwhile training\nback in the run\n")
    assert (tmp_path / "inner.log").read_text() == "inner\n"
    assert done.stderr == "terminal again\n"


def test_process_redirect_keeps_the_terminal_for_the_app(tmp_path: Path) -> None:
    done = _run("""
        import os, sys
        from densexp_tui.engine.logcapture import capture_library_output, redirect_fd2_for_process
        terminal = redirect_fd2_for_process("app.log")
        os.write(2, b"library at startup\\n")
        with capture_library_output("run.log"):
            os.write(2, b"library during a run\\n")
        os.write(2, b"library after the run\\n")
        print("drawn by the app", file=sys.__stderr__, flush=True)
        assert terminal is sys.__stderr__
    """, tmp_path)
    assert (tmp_path / "app.log").read_text() == "library at startup\nlibrary after the run\n"
    assert (tmp_path / "run.log").read_text() == "library during a run\n"
    assert done.stderr == "drawn by the app\n"
