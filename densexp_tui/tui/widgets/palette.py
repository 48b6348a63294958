"""Colours for widgets that draw their own cells, always taken from the current theme.

Widgets never hold literal colours. Charts and the confusion matrix paint per cell, which CSS
cannot express, so they ask here: each colour is a theme variable (``$series-1..6``,
``$status-<status>``, as the app's themes define them) with a fallback to the variables every
Textual theme has (``$primary``, ``$accent``, ...). Results are cached per theme.
"""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style
from textual.app import App
from textual.color import Color

from densexp_tui.tui.themes import APP_VARIABLE_FALLBACKS

SERIES_COUNT = 6  # $series-1..6


def theme_variables(app: App[object]) -> dict[str, str]:
    """The current theme's variables (Textual fills ``theme_variables`` on each CSS refresh)."""
    return app.theme_variables or app.get_css_variables()


def theme_color(app: App[object], *names: str) -> Color:
    """The first of ``names`` the theme defines (e.g. "series-1", "primary")."""
    variables = theme_variables(app)
    return _first_defined(app.theme, tuple(variables.get(name) or "" for name in names))


@lru_cache(maxsize=256)
def _first_defined(theme_name: str, values: tuple[str, ...]) -> Color:
    # theme_name is part of the cache key only, so a theme switch never reuses stale colours.
    for value in values:
        if value:
            try:
                return Color.parse(value)
            except Exception:  # a theme with a malformed value falls through to the next name
                continue
    return Color.parse("ansi_default")


def series_color(app: App[object], index: int) -> Color:
    """Colour of the ``index``-th chart series (runs on compare, train/val on a chart)."""
    name = f"series-{index % SERIES_COUNT + 1}"
    return theme_color(app, name, APP_VARIABLE_FALLBACKS[name], "primary")


def status_color(app: App[object], status: str) -> Color:
    fallback = APP_VARIABLE_FALLBACKS.get(f"status-{status}", "foreground")
    return theme_color(app, f"status-{status}", fallback, "foreground")


def heat_color(app: App[object], value: float) -> Color:
    """Confusion-matrix shading: the theme's background blended towards its primary."""
    base = theme_color(app, "background", "surface")
    full = theme_color(app, "heat", "primary")
    return base.blend(full, max(0.0, min(1.0, value)))


def muted_color(app: App[object]) -> Color:
    """Axis and hint text: the foreground faded into the background (themes give
    $text-muted as "auto 60%", which only CSS can resolve)."""
    background = theme_color(app, "background", "surface")
    return background.blend(theme_color(app, "foreground"), 0.6)


def fg(color: Color, bold: bool = False) -> Style:
    """A rich Style painting text in ``color``."""
    return Style(color=color.rich_color, bold=bold)


def cell(background: Color, bold: bool = False) -> Style:
    """A rich Style for a shaded cell with readable text on it."""
    text = background.get_contrast_text(1.0)
    return Style(color=text.rich_color, bgcolor=background.rich_color, bold=bold)
