"""A word when a run or a sweep ends: the terminal bell and a desktop-notification escape.

OSC 9 (``ESC ] 9 ; text BEL``: iTerm2, WezTerm, Windows Terminal, ghostty, foot) and OSC 777
(``ESC ] 777 ; notify ; title ; body BEL``: VTE terminals such as GNOME Terminal, urxvt with
its notify extension, foot, WezTerm, ghostty) are sent only to terminals known to show them;
elsewhere an unknown OSC may be drawn as text. Inside tmux the escapes are wrapped for
passthrough (tmux forwards them with ``set -g allow-passthrough on``). The app writes these
through Textual's driver, the headless ``densexp run --notify`` straight to its terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

BELL = "\a"
FORCE_ENV = "DENSEXP_DESKTOP_NOTIFY"  # 1: always send the escapes, 0: never
OSC9_PROGRAMS = ("iTerm.app", "WezTerm", "ghostty")
ENDING_STATUSES = ("completed", "failed", "diverged", "cancelled", "interrupted")


def desktop_escapes_supported(env: Mapping[str, str] | None = None) -> tuple[bool, bool]:
    """(OSC 9, OSC 777) for the terminal these variables describe."""
    env = os.environ if env is None else env
    forced = env.get(FORCE_ENV)
    if forced in ("0", "1"):
        return forced == "1", forced == "1"
    program = env.get("TERM_PROGRAM", "")
    term = env.get("TERM", "")
    osc9 = program in OSC9_PROGRAMS or bool(env.get("WT_SESSION")) or term.startswith("foot")
    osc777 = bool(env.get("VTE_VERSION")) or term.startswith(("rxvt", "foot")) or \
        program in ("WezTerm", "ghostty")
    return osc9, osc777


def _clean(text: str) -> str:
    """No control characters (they would end the escape early) and no ';' in OSC 777 fields."""
    return "".join(c if c.isprintable() else " " for c in text).replace(";", ",")


def desktop_escapes(title: str, body: str, env: Mapping[str, str] | None = None) -> str:
    """The escape sequences this terminal shows as a desktop notification ('' for none)."""
    env = os.environ if env is None else env
    osc9, osc777 = desktop_escapes_supported(env)
    title, body = _clean(title), _clean(body)
    parts = []
    if osc9:
        parts.append(f"\x1b]9;{title}: {body}\a")
    if osc777:
        parts.append(f"\x1b]777;notify;{title};{body}\a")
    if env.get("TMUX"):
        parts = [_tmux_passthrough(part) for part in parts]
    return "".join(parts)


def _tmux_passthrough(sequence: str) -> str:
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def end_message(kind: str, name: str, status: str, detail: str = "") -> tuple[str, str]:
    """(title, body) for the end of a run or sweep: 'densexp: run quickstart completed'."""
    title = f"densexp: {kind} {status}"
    body = f"{name} {status}" + (f" ({detail})" if detail else "")
    return title, body


def alert_sequence(title: str, body: str, env: Mapping[str, str] | None = None) -> str:
    """Bell plus the desktop escapes the terminal supports."""
    return BELL + desktop_escapes(title, body, env)


def notify_terminal(title: str, body: str, stream: TextIO | None = None) -> bool:
    """Headless: ring and notify on the terminal (stdout, else stderr); False if none is."""
    for candidate in ([stream] if stream is not None else [sys.stdout, sys.stderr]):
        if candidate is not None and candidate.isatty():
            candidate.write(alert_sequence(title, body))
            candidate.flush()
            return True
    return False
