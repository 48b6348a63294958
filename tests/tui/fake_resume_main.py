"""A TensorFlow-free ``densexp resume RUN_ID --runs-dir DIR`` for the queue tests: continues
the run in place (a ``resumed`` status event, then ``completed``) and records the
CUDA_VISIBLE_DEVICES and pid it had, as the real command's trainer does.

``python -m tests.tui.fake_resume_main RUN_ID --runs-dir DIR``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from densexp_tui.core.runstore import RunStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_id")
    parser.add_argument("--runs-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    handle = RunStore(args.runs_dir).open_run(args.run_id)
    handle.claim()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    handle.events.append("status", status="resumed", from_epoch=1, visible_gpus=visible,
                         worker_pid=os.getpid())
    handle.update_summary(status="completed", message="", visible_gpus=visible,
                          finished=time.time())
    handle.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
