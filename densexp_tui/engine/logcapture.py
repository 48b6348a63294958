"""Keep library output (TensorFlow, absl, transformers, tqdm) off the screen and in log files.

TensorFlow's C++ runtime and absl write straight to file descriptor 2, so replacing
``sys.stderr`` is not enough: fd 2 itself is pointed at a log file with ``dup2``. The
terminal is not lost: a duplicate of the original fd 2 is kept and ``sys.__stderr__`` is
pointed at it, because Textual's Linux driver draws on ``sys.__stderr__`` (see DESIGN.md)
and the CLI's rich output must still reach the user.

Two entry points:

- ``redirect_fd2_for_process(log_path)``: for a long-lived process (the TUI); once, early.
- ``capture_library_output(log_path)``: around one run; points fd 2 at that run's
  ``log.txt`` and back on exit. Captures nest: the newest one wins and, when it ends, fd 2
  goes back to the previous target (another run, the process log, or the terminal). With
  ``log_path=None`` it captures into a temporary file that ``switch_to`` later moves into
  the run's log, because TensorFlow prints while it is imported, before the run exists.

No TensorFlow here: this module is imported before TensorFlow so that it can catch the
lines TensorFlow prints while it loads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

# Loggers whose stream handlers must follow fd 2 into the log while a capture is active.
LIBRARY_LOGGERS = ("tensorflow", "absl", "transformers", "py.warnings", "h5py", "tensorboard")

_lock = threading.RLock()
_terminal_fd: int | None = None  # duplicate of the terminal's fd 2 while redirected
_terminal_stream: IO[str] | None = None  # text stream on _terminal_fd (sys.__stderr__)
_saved_dunder_stderr: IO[str] | None = None
_process_log_fd: int | None = None  # set by redirect_fd2_for_process, never undone
_active: list[LibraryCapture] = []  # captures in the order they started


def _open_append(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def _fd2_stream() -> IO[str]:
    """A text stream on fd 2 itself, so it follows every later dup2 without being replaced."""
    return open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace",
                closefd=False)


def _flush_std_streams() -> None:
    """Flush Python's buffers before fd 2 moves, so each line lands where it was meant to."""
    for stream in (sys.stderr, sys.__stderr__, sys.stdout):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _keep_terminal() -> None:
    """Duplicate the terminal's fd 2 (once) and make it ``sys.__stderr__``."""
    global _terminal_fd, _terminal_stream, _saved_dunder_stderr
    if _terminal_fd is not None:
        return
    _flush_std_streams()
    _terminal_fd = os.dup(2)
    _terminal_stream = open(_terminal_fd, "w", buffering=1, encoding="utf-8",
                            errors="backslashreplace", closefd=False)
    _saved_dunder_stderr = sys.__stderr__
    # typeshed marks sys.__stderr__ Final; replacing it is the point (Textual draws on it).
    sys.__stderr__ = _terminal_stream  # type: ignore[misc]


def _release_terminal() -> None:
    """Undo ``_keep_terminal`` once no capture and no process redirect needs it."""
    global _terminal_fd, _terminal_stream, _saved_dunder_stderr
    if _terminal_fd is None or _process_log_fd is not None or _active:
        return
    _flush_std_streams()
    os.dup2(_terminal_fd, 2)
    sys.__stderr__ = _saved_dunder_stderr  # type: ignore[misc,assignment]
    if _terminal_stream is not None:
        _terminal_stream.close()
    os.close(_terminal_fd)
    _terminal_fd, _terminal_stream, _saved_dunder_stderr = None, None, None


def _point_fd2_at_current_target() -> None:
    """fd 2 goes to the newest capture, else the process log, else the terminal."""
    _flush_std_streams()
    if _active:
        os.dup2(_active[-1].fd, 2)
    elif _process_log_fd is not None:
        os.dup2(_process_log_fd, 2)
    elif _terminal_fd is not None:
        os.dup2(_terminal_fd, 2)


def _writes_to_fd2(stream: object) -> bool:
    try:
        return stream.fileno() == 2  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False  # e.g. pytest's capture objects


def terminal_stream() -> IO[str]:
    """Where text for the user's eyes goes: the kept terminal, or stderr when not redirected."""
    with _lock:
        if _terminal_stream is not None:
            return _terminal_stream
    return sys.__stderr__ or sys.stderr


class LibraryCapture:
    """One active capture: which file fd 2 currently writes to for this run."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = _open_append(path)
        self._temporary = False

    def switch_to(self, path: str | Path) -> None:
        """Move what was captured so far into ``path`` and capture into it from now on."""
        path = Path(path)
        with _lock:
            _flush_std_streams()
            new_fd = _open_append(path)
            if self._temporary:
                with open(self.path, "rb") as early:
                    os.write(new_fd, early.read())
            old_fd, old_path, was_temporary = self.fd, self.path, self._temporary
            self.fd, self.path, self._temporary = new_fd, path, False
            if _active and _active[-1] is self:
                os.dup2(new_fd, 2)
            os.close(old_fd)
            if was_temporary:
                old_path.unlink(missing_ok=True)

    def write(self, text: str) -> None:
        """Append our own lines (a traceback, a note) to the same log."""
        with _lock:
            try:
                os.write(self.fd, text.encode("utf-8", "backslashreplace"))
            except OSError:
                pass  # a full disk must not stop the run from recording how it ended

    def close(self) -> None:
        os.close(self.fd)
        if self._temporary:
            self.path.unlink(missing_ok=True)


def _redirect_handler_streams(stream: IO[str]) -> list[tuple[logging.StreamHandler, IO]]:
    """Point the library loggers' stream handlers at ``stream``; returns how to undo it."""
    swapped: list[tuple[logging.StreamHandler, IO]] = []
    for name in LIBRARY_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            # absl wraps its StreamHandler in an ABSLHandler.
            inner = getattr(handler, "python_handler", handler)
            if isinstance(inner, logging.StreamHandler) and not isinstance(
                inner, logging.FileHandler
            ):
                swapped.append((inner, inner.stream))
                inner.setStream(stream)
    return swapped


@contextmanager
def capture_library_output(log_path: str | Path | None) -> Iterator[LibraryCapture]:
    """Route fd 2, ``sys.stderr`` and the library loggers into ``log_path`` for the block.

    ``log_path=None`` captures into a temporary file; call ``capture.switch_to(run_log)``
    once the run's directory exists (the early lines are moved there). Restores everything
    on exit, even when the block raises.
    """
    with _lock:
        _keep_terminal()
        if log_path is None:
            handle, temp = tempfile.mkstemp(prefix="densexp-early-", suffix=".log")
            os.close(handle)
            capture = LibraryCapture(Path(temp))
            capture._temporary = True
        else:
            capture = LibraryCapture(Path(log_path))
        _active.append(capture)
        _point_fd2_at_current_target()
        saved_stderr = sys.stderr
        sys.stderr = _fd2_stream()  # tqdm and warnings write to sys.stderr at call time
        swapped = _redirect_handler_streams(sys.stderr)
    try:
        yield capture
    finally:
        with _lock:
            for handler, stream in swapped:
                handler.setStream(stream)
            if sys.stderr is not saved_stderr:
                with contextlib.suppress(OSError):  # buffered library text on a full disk
                    sys.stderr.flush()
                sys.stderr = saved_stderr
            _active.remove(capture)
            _point_fd2_at_current_target()
            capture.close()
            _release_terminal()


def redirect_fd2_for_process(log_path: str | Path) -> IO[str]:
    """For a long-lived process (the TUI): fd 2 into ``log_path`` for good.

    Call it before the app starts drawing: ``sys.__stderr__`` becomes the kept terminal,
    which is what Textual draws on. Returns that terminal stream. Calling it again moves
    the process log to the new path.
    """
    global _process_log_fd
    path = Path(log_path)
    with _lock:
        _keep_terminal()
        new_fd = _open_append(path)
        if _process_log_fd is not None:
            os.close(_process_log_fd)
        _process_log_fd = new_fd
        _point_fd2_at_current_target()
        if not _writes_to_fd2(sys.stderr):
            sys.stderr = _fd2_stream()
        _redirect_handler_streams(sys.stderr)
        assert _terminal_stream is not None
        return _terminal_stream
