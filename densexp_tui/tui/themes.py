"""Themes as TOML files: the app's own (``themes/`` in the source tree) and the user's.

A theme file holds the fields of :class:`textual.theme.Theme` at the top level and the
app-specific colours under ``[variables]`` (``status-<status>``, ``series-1..6``, ``heat``,
``mark``). A user theme may leave any of those out: :data:`APP_VARIABLE_FALLBACKS` maps each
to a colour every Textual theme has, so the app's CSS always parses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from densexp_tui.core.errors import BadInput
from densexp_tui.core.statuses import STATUS_ROLE
from densexp_tui.core.tomlfile import read_toml_mapping
from densexp_tui.tui.settings import config_dir

# App variable -> the standard theme colour used when a theme does not define it.
APP_VARIABLE_FALLBACKS: dict[str, str] = {
    **{f"status-{status}": role for status, role in STATUS_ROLE.items()},
    "series-1": "primary",
    "series-2": "accent",
    "series-3": "success",
    "series-4": "warning",
    "series-5": "error",
    "series-6": "secondary",
    "heat": "primary",
    "mark": "accent",
}
_COLOUR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent",
                  "foreground", "background", "surface", "panel", "boost")
_OTHER_FIELDS = {"name": str, "dark": bool, "luminosity_spread": float, "text_alpha": float}


class ThemeError(BadInput):
    """A theme file that cannot be used."""


def app_themes_dirs() -> list[Path]:
    """Where the shipped themes are: inside the package (wheel) or the source tree's themes/."""
    package = Path(__file__).resolve().parent.parent
    return [d for d in (package / "themes", package.parent / "themes") if d.is_dir()]


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def theme_from_mapping(mapping: dict[str, Any], source: Path) -> Theme:
    """A Theme from a theme file's table; every problem is a one-line ThemeError."""
    known = {*_COLOUR_FIELDS, *_OTHER_FIELDS, "variables"}
    for key, value in mapping.items():
        if key not in known:
            raise ThemeError(f"unknown key; allowed: {', '.join(sorted(known))}",
                             file=source, key=key)
        if key in _COLOUR_FIELDS:
            _check_colour(value, source, key)
        elif key in _OTHER_FIELDS and not isinstance(value, _OTHER_FIELDS[key]):
            raise ThemeError(f"must be a {_OTHER_FIELDS[key].__name__}", file=source, key=key)
    if "primary" not in mapping:
        raise ThemeError("a theme needs at least a primary colour", file=source, key="primary")
    variables = mapping.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeError("must be a table of strings", file=source, key="variables")
    fields = {k: v for k, v in mapping.items() if k != "variables"}
    fields.setdefault("name", source.stem)
    return Theme(**fields, variables=dict(variables))


def _check_colour(value: Any, source: Path, key: str) -> None:
    try:
        Color.parse(value)
    except (ColorParseError, TypeError, ValueError):
        raise ThemeError(f"{value!r} is not a colour; allowed: e.g. \"#7AA2F7\"",
                         file=source, key=key) from None


def load_theme_file(path: Path) -> Theme:
    """One theme file; raises ThemeError with a one-line reason."""
    return theme_from_mapping(read_toml_mapping(path, ThemeError), path)


def load_all_themes() -> tuple[list[Theme], list[str]]:
    """Every usable theme (app themes first, then the user's) and a line per bad file.

    A user theme with the same name as an app theme replaces it, which is how users tweak one.
    """
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for folder in [*app_themes_dirs(), user_themes_dir()]:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                theme = load_theme_file(path)
            except ThemeError as err:
                problems.append(str(err))
                continue
            themes[theme.name] = theme
    return list(themes.values()), problems


def app_variable_defaults(theme: Theme) -> dict[str, str]:
    """Values for the app's variables that ``theme`` leaves out, from its own colours."""
    generated = theme.to_color_system().generate()
    return {name: generated[base] for name, base in APP_VARIABLE_FALLBACKS.items()}

