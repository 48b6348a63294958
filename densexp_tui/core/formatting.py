"""Human formats that every view shares (CLI tables, runs and sweeps tables, dashboard)."""

from __future__ import annotations

from pathlib import Path


def format_duration(seconds: float | None) -> str:
    """1:05, 12:40, 3:02:11; "-" when unknown."""
    if seconds is None:
        return "-"
    total = int(round(max(0.0, seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def display_path(path: Path) -> str:
    """A path as short as it can be said: relative to the working dir, or with ~."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        pass
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
