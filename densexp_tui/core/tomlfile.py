"""Reading a TOML file the user wrote (run, sweep, user config, theme): its tables, or one
line naming the file and what is wrong with it (missing, a folder, not UTF-8, not TOML).
And the tables of a stored run's config.toml text, for views that show what they can."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from densexp_tui.core.errors import BadInput, ConfigError


def read_toml_mapping(path: Path, error: type[BadInput] = ConfigError) -> dict[str, Any]:
    """The parsed TOML tables of the file, or a one-line ``error`` saying why not."""
    try:
        return tomllib.loads(read_toml_text(path, error))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"not valid TOML ({exc})", file=path) from None


def read_toml_text(path: Path, error: type[BadInput] = ConfigError) -> str:
    """The file's text (a UTF-8 BOM tolerated), or an ``error`` saying why it cannot be read."""
    if not path.exists():
        raise error("file not found", file=path)
    if path.is_dir():
        raise error("is a folder; allowed: a .toml file", file=path)
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 (byte {exc.start}); allowed: a UTF-8 TOML file",
                    file=path) from None
    except OSError as exc:
        raise error(f"cannot be read ({exc.strerror})", file=path) from None


def toml_tables_or_empty(text: str) -> dict[str, Any]:
    """The tables of ``text`` (a run's stored config.toml), or {} when it is not TOML: a
    damaged run still shows the rest of what it has."""
    try:
        return dict(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return {}
