"""Short human formats shared by the dashboard widgets (durations, counts, metrics)."""

from __future__ import annotations

from typing import Any

# Owned by core (the CLI and the sweeps table use it too); here for the widgets' imports.
from densexp_tui.core.formatting import format_duration as format_duration


def format_count(value: int | None) -> str:
    """4,386,051 -> 4.39M; 73,731 -> 73.7k."""
    if value is None:
        return "-"
    if value >= 1_000_000_000:
        return f"{value / 1e9:.2f}B"
    if value >= 1_000_000:
        return f"{value / 1e6:.2f}M"
    if value >= 1_000:
        return f"{value / 1e3:.1f}k"
    return str(value)


def format_metric(value: Any, digits: int = 3) -> str:
    """A metric value, or "-" when missing (None after a diverged loss)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return "-"
    return f"{value:.{digits}f}"


def format_percent(fraction: float | None, digits: int = 1) -> str:
    return "-" if fraction is None else f"{fraction * 100:.{digits}f}%"


def shorten(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` cells with an ellipsis when it does not fit."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
