"""A full check of every run's summary against the runs index, in a child process.

At 100,000 runs a full check (``RunIndex.update(full=True)``: a stat of every summary.json,
the rows compared, the changed ones read again) is seconds of pure-Python work. In the
app's own process it holds the GIL against the UI thread (measured: key latency p95 up to
0.7 s on the runs screen while it ran); in a child process the app only waits for it. The
child writes the same SQLite file (WAL, several processes at once are fine), so the app's
next query sees its rows. A read-only runs directory's index lives in the app's memory,
so that check stays in-process.

A cold build (no index yet: every summary read) takes a while at that scale, so the child
prints ``read to_read`` after each batch it writes and ``check_every_run`` passes those on
to its ``progress`` callback (a screen can show "indexing N of M runs").

    python -m densexp_tui.core.runcheck RUNS_DIR
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from densexp_tui.core.runindex import Progress
    from densexp_tui.core.runstore import RunStore

CHILD_TIMEOUT_SECONDS = 600.0


def check_every_run(store: RunStore, names_update: Callable[[], int] | None = None,
                    progress: Progress | None = None) -> None:
    """Bring every row of ``store``'s index in line with its folder (see the docstring).
    ``names_update``: how the names seen since the child listed them are synced after it
    (the runs screen's own child, core/namesync.py; default: in this process).
    ``progress(read, to_read)``: called as the child reports each batch it has written
    (a cold build at 100,000 runs takes a while: a screen can say how far it is; it is
    called from this thread, so a worker posts it on as a message)."""
    if not os.access(store.root, os.W_OK):
        store.index.update(full=True, progress=progress)
        return
    if not _check_in_child(store, progress):
        store.index.update(full=True, progress=progress)  # here rather than not at all
        return
    # The folders that came or went while the child ran (a sweep adds them every second).
    if names_update is not None:
        names_update()
    else:
        store.index.update(full=False)


def _check_in_child(store: RunStore, progress: Progress | None) -> bool:
    """The full check in a child process, its "read to_read" lines passed to ``progress``;
    whether it succeeded."""
    # stderr to DEVNULL: under Textual, sys.stderr has no descriptor to hand on.
    child = subprocess.Popen(
        [sys.executable, "-m", "densexp_tui.core.runcheck", str(store.root)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": _package_path()})
    assert child.stdout is not None
    deadline = time.monotonic() + CHILD_TIMEOUT_SECONDS
    try:
        for line in _lines(child.stdout.fileno(), deadline):
            numbers = line.split()
            if progress is not None and len(numbers) == 2:
                progress(int(numbers[0]), int(numbers[1]))
        child.wait(timeout=max(0.0, deadline - time.monotonic()))
    except (subprocess.TimeoutExpired, ValueError):
        child.kill()
        child.wait()
        return False
    finally:
        child.stdout.close()
    return child.returncode == 0


def _lines(fd: int, deadline: float) -> Iterator[bytes]:
    """Whole lines from ``fd`` until it closes (TimeoutExpired past ``deadline``)."""
    pending = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise subprocess.TimeoutExpired("runcheck", CHILD_TIMEOUT_SECONDS)
        data = os.read(fd, 4096)
        if not data:
            return
        *lines, pending = (pending + data).split(b"\n")
        yield from lines


def _package_path() -> str:
    """The child imports this very copy of densexp_tui, whatever the working dir."""
    here = str(Path(__file__).resolve().parents[2])
    current = os.environ.get("PYTHONPATH", "")
    return here if not current else f"{here}{os.pathsep}{current}"


def main(argv: list[str]) -> int:
    from densexp_tui.core.runstore import RunStore

    def say(read: int, to_read: int) -> None:
        sys.stdout.write(f"{read} {to_read}\n")
        sys.stdout.flush()

    RunStore(argv[0]).index.update(full=True, progress=say)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
