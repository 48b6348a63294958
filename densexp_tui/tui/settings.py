"""The user's app settings (theme choice) in ``<config dir>/settings.toml``.

The config dir is ``$DENSEXP_CONFIG_DIR`` when set (tests point it at a temp dir so they
never touch the real one), else platformdirs' ``user_config_dir("densexp")``. Settings are
a convenience: a missing or damaged file gives the defaults, never a crash.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

import tomli_w

from densexp_tui.core.atomicfile import write_text_atomic

CONFIG_DIR_ENV = "DENSEXP_CONFIG_DIR"
SETTINGS_FILE = "settings.toml"
DEFAULT_THEME = "densexp-dark"


@dataclass
class Settings:
    """What the app remembers between sessions."""

    theme: str = DEFAULT_THEME


def config_dir() -> Path:
    """Where settings and user themes live (read on every call so tests can redirect it)."""
    from densexp_tui.core.userconfig import config_dir as user_config_dir  # the one owner

    return user_config_dir()


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def load_settings() -> tuple[Settings, str | None]:
    """The saved settings and, when the file was unusable, one line saying why."""
    path = settings_path()
    if not path.exists():
        return Settings(), None
    try:
        mapping = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Settings(), f"{path}: ignored, not readable TOML ({exc})"
    theme = mapping.get("theme", DEFAULT_THEME)
    if not isinstance(theme, str):
        return Settings(), f"{path}: theme: must be a string; using {DEFAULT_THEME}"
    return Settings(theme=theme), None


def save_settings(settings: Settings) -> str | None:
    """Write the settings atomically; returns a one-line problem instead of raising."""
    path = settings_path()
    try:
        write_text_atomic(path, tomli_w.dumps(asdict(settings)))
    except OSError as exc:
        return f"{path}: cannot save settings ({exc.strerror or exc})"
    return None
