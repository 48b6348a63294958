"""Errors that mean "the user gave us something wrong": the CLI prints one line, exits 2."""

from __future__ import annotations

from pathlib import Path

# Exit code after Ctrl-C, the shell's convention (128 + SIGINT): every command uses this one.
EXIT_INTERRUPTED = 130


class BadInput(Exception):
    """Bad input from the user. ``str()`` is one line: file, key, problem and what is allowed."""

    def __init__(self, message: str, *, file: str | Path | None = None, key: str | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.key = key
        super().__init__(self._one_line())

    def _one_line(self) -> str:
        parts = [p for p in (self.file, self.key) if p]
        text = " ".join(self.message.split())  # never more than one line
        return ": ".join([*parts, text])


class ConfigError(BadInput):
    """A run or sweep TOML that is malformed, has unknown keys or values out of range."""


class DataError(BadInput):
    """A dataset that is missing, unreadable, or unfit for classification."""


class ModelError(BadInput):
    """A model name, directory or fine-tuning setting that cannot be used."""


class RunStoreError(BadInput):
    """A runs directory that cannot be used (not writable, full, missing run)."""
