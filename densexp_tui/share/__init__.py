"""Sharing results: self-contained reports, the app in a browser, user config, notifications.

Nothing here imports Textual at module level; the report code runs the same from the CLI and
from the app's worker thread.
"""
