"""Recording every toast an app posts, for tests that assert what the user was told."""

from __future__ import annotations

from typing import Any

from textual.app import App


def record_notes(app: App[Any]) -> list[str]:
    """The messages of every toast ``app`` posts from now on, kept as posted. Shown toasts
    expire from ``app._notifications`` (a start-up note after 8 s, which a loaded machine
    can spend starting the app before the test looks), so tests read this list instead."""
    notes: list[str] = []
    show = app.notify

    def notify(message: str, *args: Any, **kwargs: Any) -> None:
        notes.append(message)
        show(message, *args, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return notes
