"""``densexp run --detach``: start a run in its own session and return its id.

The run survives the terminal closing (a dropped SSH session): the child is a new session
leader with no controlling terminal, stdin from /dev/null and its own output in the runs
directory. The parent checks the input first (one line and exit 2 if it is bad), then
waits until the child has created the run directory, so the id it prints always exists.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from densexp_tui.core.config import RunConfig
from densexp_tui.core.logtail import tail_lines
from densexp_tui.core.runstore import RunStore, new_run_id

# Building a big model before the run directory appears can take a while on a busy box.
WAIT_FOR_RUN_SECONDS = 600.0


def run_detached(cfg: RunConfig, store: RunStore, args: argparse.Namespace) -> int:
    """Check, spawn, wait for the run directory, print the id; exit code for the CLI."""
    check_input_cheaply(cfg, store)
    run_id = new_run_id(cfg.run.name)
    out_path = store.root / ".detached" / f"{run_id}.out"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    child = _spawn(args, store, run_id, out_path)
    if not _wait_for_run(store.run_dir(run_id), child):
        return _relay_failure(child, out_path)
    print(run_id)
    print(f"densexp: training in the background (pid {child.pid}); follow it with "
          f"`densexp` (the runs screen) or `densexp show {run_id}`", file=sys.stderr)
    return 0


def check_input_cheaply(cfg: RunConfig, store: RunStore) -> None:
    """The checks that need no TensorFlow: runs dir, data, model source (BadInput)."""
    from densexp_tui.core.config import resolve_paths
    from densexp_tui.engine.data import load_dataset
    from densexp_tui.engine.models import check_model_input

    store.ensure_writable()
    resolved = resolve_paths(cfg)
    load_dataset(resolved.data, resolved.base_dir, seed=resolved.effective_split_seed)
    check_model_input(resolved)


def _spawn(args: argparse.Namespace, store: RunStore, run_id: str,
           out_path: Path) -> subprocess.Popen:
    overrides = [item for value in args.set for item in ("--set", value)]
    command = [sys.executable, "-m", "densexp_tui", "run", str(Path(args.config).resolve()),
               *overrides, "--runs-dir", str(store.root), "--run-id", run_id, "--json"]
    with open(out_path, "wb") as out:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, cwd=os.getcwd(), close_fds=True)


def _wait_for_run(run_dir: Path, child: subprocess.Popen) -> bool:
    """True once the run directory exists; False if the child ended without making it."""
    deadline = time.monotonic() + WAIT_FOR_RUN_SECONDS
    while time.monotonic() < deadline:
        if run_dir.is_dir():
            return True
        if child.poll() is not None:
            return run_dir.is_dir()
        time.sleep(0.1)
    return run_dir.is_dir()


def _relay_failure(child: subprocess.Popen, out_path: Path) -> int:
    """The child failed before creating the run: pass on its one-line message."""
    code = child.wait() if child.poll() is None else child.returncode
    lines = [line for line in tail_lines(out_path, 20) if line.strip()]
    message = lines[-1] if lines else "the background run stopped before it started"
    if not message.startswith("densexp:"):
        message = f"densexp: {message}"
    print(message, file=sys.stderr)
    out_path.unlink(missing_ok=True)
    return code if code else 1
