"""Work done once per test session, however many pytest-xdist workers need it.

`make test` runs the suite in several worker processes. A session fixture then runs once per
worker, which is wrong for two kinds of work: what is expensive and only read (the cpu:2
training process, minutes), and what must not run twice at once (apt-get holds the dpkg
lock, so the PostgreSQL and chromium installs would fail each other). Both take a lock
shared by every worker of the session, the pattern pytest-xdist documents.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every worker of this session shares (and no other session sees).

    Under xdist each worker's base temp is `<session>/popen-gwN`, so its parent is the
    session's; without xdist the base temp is the session's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def session_lock(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """Hold the session-wide lock `name`; yields the shared folder to keep results in."""
    root = session_root(tmp_path_factory)
    with open(root / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield root
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
