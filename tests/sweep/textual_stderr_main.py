"""Read a study's importances the way the Sweeps screen does inside a running Textual app,
in a fresh process (tests/sweep/test_reader.py runs it).

Textual swaps sys.stderr for a capture with no descriptor behind it (fileno() is -1) while
an app runs. multiprocessing's resource tracker, started by the first process spawn, hands
sys.stderr's descriptor to its child, so the spawn of the importance process failed there.
It must be a fresh process: a tracker some earlier test started would hide the failure.
Prints one line: RESULT {"problem": ..., "importances": ...}.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

from densexp_tui.core.runstore import RunStore
from densexp_tui.sweep.reader import INLINE_IMPORTANCE_TRIALS, StudyReader
from tests.sweep.study_factory import write_study


class TextualLikeStderr(io.TextIOBase):
    """What sys.stderr is while a Textual app runs: text goes to the app, no descriptor."""

    def write(self, text: str) -> int:
        return len(text)

    def fileno(self) -> int:
        return -1


def main(root: Path) -> None:
    # more trials than are computed inline, so the importances need the child process
    write_study(root, "alpha", INLINE_IMPORTANCE_TRIALS + 20)
    real, sys.stderr = sys.stderr, TextualLikeStderr()
    reader = StudyReader(RunStore(root))
    try:
        snap = reader.snapshot("", "alpha")
        deadline = time.monotonic() + 90
        while (snap.selected is not None and snap.selected.importances_pending
               and time.monotonic() < deadline):
            time.sleep(0.2)
            snap = reader.snapshot("", "alpha")
    finally:
        reader.close()
        sys.stderr = real
    importances = snap.selected.importances if snap.selected is not None else None
    print("RESULT " + json.dumps({"problem": snap.problem, "importances": importances}))


if __name__ == "__main__":  # spawn re-imports this module in the child: guard the work
    main(Path(sys.argv[1]))
