"""Run statuses and the facts attached to them, owned here and imported everywhere else.

Colours are not here: screens take them from the theme (``$status-<status>``), and
``STATUS_ROLE`` only names which standard theme colour stands in when a theme leaves a
status out, so the TUI's fallbacks and the CLI's colours agree.
"""

from __future__ import annotations

STATUSES = ("running", "completed", "failed", "cancelled", "diverged", "interrupted")
# Runs that `densexp resume` / R continue from their last checkpoint.
RESUMABLE_STATUSES = ("interrupted", "cancelled", "failed")
# Status (and the queue's "waiting") -> the standard Textual theme colour that stands in.
STATUS_ROLE: dict[str, str] = {
    "running": "primary",
    "completed": "success",
    "failed": "error",
    "cancelled": "secondary",
    "diverged": "warning",
    "interrupted": "warning",
    "waiting": "secondary",
}
# The mark before a status, in the runs table, the dashboard header and the CLI.
STATUS_MARKS: dict[str, str] = {
    "running": "▶",
    "completed": "✓",
    "failed": "✗",
    "cancelled": "■",
    "diverged": "↯",
    "interrupted": "!",
    "waiting": "…",
}
