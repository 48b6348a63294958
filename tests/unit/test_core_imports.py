"""core/ stays Textual- and TensorFlow-free, and the quick CLI commands never load TensorFlow.

Checked in a fresh interpreter: in this test process other tests may already have imported
both, so sys.modules here proves nothing.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("textual", "tensorflow", "tf_keras", "transformers")


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\n"
        "import sys\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return [m for m in done.stdout.strip().split(",") if m]


def test_core_imports_neither_textual_nor_tensorflow() -> None:
    loaded = _loaded_after(
        "import densexp_tui.core.config, densexp_tui.core.events, densexp_tui.core.runstore, "
        "densexp_tui.core.metrics, densexp_tui.core.catalog"
    )
    assert loaded == []


@pytest.mark.parametrize("argv", [["runs"], ["datasets"], ["models"], ["runs", "--json"]])
def test_quick_cli_commands_do_not_load_tensorflow(argv: list[str], tmp_path) -> None:
    loaded = _loaded_after(
        "import contextlib, io\n"
        "from densexp_tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), "
        "contextlib.redirect_stderr(io.StringIO()):\n"
        f"    main({argv!r} + (['--runs-dir', {str(tmp_path)!r}] if {argv[0]!r} == 'runs' else []))"
    )
    assert loaded == []
