"""The runs screen's names-only index update, in one long-lived child process.

While a sweep adds runs the runs dir's mtime changes every tick, so each tick's
``RunIndex.update(full=False)`` lists the folder and compares 100,000 names with the rows.
In a thread of the app that is about a second of work a tick that holds the GIL against
the UI thread (measured: key p95 99-992 ms on the runs screen while a writer ran). Here a
child process does it and the app only waits on a pipe: it sends one line per update and
reads back one line (the number of summaries read). The child writes the same SQLite file
(WAL) as core/runcheck.py's full check does, so the app's next window query sees the rows.
The child stays up between ticks (starting Python and importing the store each second
would cost more than the update) and ends when the app closes the pipe or exits.

A read-only runs dir's index lives in the app's memory, and a child that cannot start or
stops answering is replaced by the update in this process: the index is never left behind.

    python -m densexp_tui.core.namesync RUNS_DIR   (reads "update" lines on stdin)
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
from typing import IO, TYPE_CHECKING

from densexp_tui.core.runcheck import _package_path

if TYPE_CHECKING:
    from densexp_tui.core.runstore import RunStore

# Longer than any names update takes at 100,000 runs under load (~1-3 s); a child that has
# not answered by then is killed and the update done here.
ANSWER_TIMEOUT_SECONDS = 60.0
REQUEST = "update\n"


class NamesSync:
    """One child process that keeps ``store``'s index current with the folder names."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._child: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()  # one request on the pipe at a time
        self._failed = False  # the child could not start or died: in-process from now on

    def update(self) -> int:
        """Bring the index's names in line with the folders (new, gone and running runs);
        returns how many summaries were read."""
        with self._lock:
            if not self._failed and os.access(self.store.root, os.W_OK):
                answer = self._ask_child()
                if answer is not None:
                    return answer
                self._failed = True
            return self.store.index.update(full=False)

    def close(self) -> None:
        """End the child (closing its stdin is enough; kill it if it does not go)."""
        with self._lock:
            child, self._child = self._child, None
        if child is None:
            return
        try:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=2.0)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()

    def _ask_child(self) -> int | None:
        """The child's answer to one request; None when it cannot answer."""
        try:
            child = self._child or self._start()
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(REQUEST)
            child.stdin.flush()
            line = _read_line(child.stdout, ANSWER_TIMEOUT_SECONDS)
            return int(line)
        except (OSError, ValueError, TimeoutError):
            self._kill()
            return None

    def _start(self) -> subprocess.Popen[str]:
        # stderr to DEVNULL: under Textual, sys.stderr has no descriptor to hand on.
        self._child = subprocess.Popen(
            [sys.executable, "-m", "densexp_tui.core.namesync", str(self.store.root)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1, env={**os.environ, "PYTHONPATH": _package_path()})
        return self._child

    def _kill(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()


def _read_line(stream: IO[str], timeout: float) -> str:
    """One line from ``stream`` within ``timeout`` seconds (TimeoutError otherwise, OSError
    when the child closed it)."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise TimeoutError("the names child did not answer")
    line = stream.readline()
    if not line:
        raise OSError("the names child ended")
    return line


def main(argv: list[str]) -> int:
    from densexp_tui.core.runstore import RunStore

    store = RunStore(argv[0])
    for _request in sys.stdin:
        read = store.index.update(full=False)
        sys.stdout.write(f"{read}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
