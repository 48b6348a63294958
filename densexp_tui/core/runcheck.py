"""A full check of every run's summary against the runs index, in a child process.

At 100,000 runs a full check (``RunIndex.update(full=True)``: a stat of every summary.json,
the rows compared, the changed ones read again) is seconds of pure-Python work. In the
app's own process it holds the GIL against the UI thread (measured: key latency p95 up to
0.7 s on the runs screen while it ran); in a child process the app only waits for it. The
child writes the same SQLite file (WAL, several processes at once are fine), so the app's
next query sees its rows. A read-only runs directory's index lives in the app's memory,
so that check stays in-process.

    python -m densexp_tui.core.runcheck RUNS_DIR
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from densexp_tui.core.runstore import RunStore

CHILD_TIMEOUT_SECONDS = 600.0


def check_every_run(store: RunStore, names_update: Callable[[], int] | None = None) -> None:
    """Bring every row of ``store``'s index in line with its folder (see the docstring).
    ``names_update``: how the names seen since the child listed them are synced after it
    (the runs screen's own child, core/namesync.py; default: in this process)."""
    if not os.access(store.root, os.W_OK):
        store.index.update(full=True)
        return
    result = subprocess.run(
        [sys.executable, "-m", "densexp_tui.core.runcheck", str(store.root)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, timeout=CHILD_TIMEOUT_SECONDS, check=False,
        env={**os.environ, "PYTHONPATH": _package_path()})
    if result.returncode != 0:  # the child could not: do it here rather than not at all
        store.index.update(full=True)
        return
    # The folders that came or went while the child ran (a sweep adds them every second).
    if names_update is not None:
        names_update()
    else:
        store.index.update(full=False)


def _package_path() -> str:
    """The child imports this very copy of densexp_tui, whatever the working dir."""
    here = str(Path(__file__).resolve().parents[2])
    current = os.environ.get("PYTHONPATH", "")
    return here if not current else f"{here}{os.pathsep}{current}"


def main(argv: list[str]) -> int:
    from densexp_tui.core.runstore import RunStore

    RunStore(argv[0]).index.update(full=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
