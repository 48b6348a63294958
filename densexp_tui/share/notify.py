"""A word when a run or a sweep ends: the terminal bell and a desktop-notification escape.

Each terminal gets the ONE escape its documentation names (a terminal that reads two would
show two notifications), and only terminals known to show one get any: elsewhere an unknown
OSC may be drawn as text. What the terminals document (checked 2026-12):

- OSC 9 (``ESC ] 9 ; text BEL``): iTerm2 ("Post a notification", its escape-code docs).
- OSC 99 (``ESC ] 99 ; ; text ESC \\``): kitty's own protocol (kitty "Desktop notifications").
- OSC 777 (``ESC ] 777 ; notify ; title ; body BEL``): WezTerm and ghostty (both read OSC 9
  too), foot (foot-ctlseqs(7)), Windows Terminal (added in 2026, microsoft/terminal #20012;
  its OSC 9 is ConEmu's progress family, not a notification), VTE terminals such as GNOME
  Terminal (only Fedora's patched VTE shows it; upstream VTE ignores it silently) and
  rxvt-unicode with its notify extension.

The terminal is recognised by what it puts in the environment, including the variables that
survive tmux (which replaces TERM and TERM_PROGRAM with its own) and those that survive ssh
(TERM, and iTerm2's LC_TERMINAL where ssh sends LC_*). ``DENSEXP_DESKTOP_NOTIFY`` overrides:
0 none, osc9 / osc99 / osc777 that one, 1 both OSC 9 and OSC 777. Inside tmux the escape is
wrapped for passthrough, which tmux forwards only with ``set -g allow-passthrough on`` (tried
with tmux 3.3a: unwrapped OSC 9/777 are dropped, wrapped ones pass only with the option on,
the bell always passes). The app writes these through Textual's driver, the headless
``densexp run --notify`` straight to its terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

BELL = "\a"
FORCE_ENV = "DENSEXP_DESKTOP_NOTIFY"  # 0 | 1 | osc9 | osc99 | osc777
PROTOCOLS = ("osc9", "osc99", "osc777")
ENDING_STATUSES = ("completed", "failed", "diverged", "cancelled", "interrupted")


def _is_kitty(env: Mapping[str, str]) -> bool:
    return env.get("TERM") == "xterm-kitty" or bool(env.get("KITTY_WINDOW_ID"))


def _is_iterm2(env: Mapping[str, str]) -> bool:
    return env.get("TERM_PROGRAM") == "iTerm.app" or env.get("LC_TERMINAL") == "iTerm2" or \
        bool(env.get("ITERM_SESSION_ID"))


def _reads_osc777(env: Mapping[str, str]) -> bool:
    term, program = env.get("TERM", ""), env.get("TERM_PROGRAM", "")
    return (program in ("WezTerm", "ghostty") or term.startswith(("foot", "rxvt"))
            or term == "xterm-ghostty"
            or any(env.get(name) for name in ("WEZTERM_PANE", "GHOSTTY_RESOURCES_DIR",
                                              "WT_SESSION", "VTE_VERSION")))


def notification_protocols(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The escapes to send to the terminal these variables describe (empty: none)."""
    env = os.environ if env is None else env
    forced = env.get(FORCE_ENV, "").strip().lower()
    if forced in ("0", "1", *PROTOCOLS):
        return {"0": (), "1": ("osc9", "osc777")}.get(forced, (forced,))
    if _is_kitty(env):
        return ("osc99",)
    if _is_iterm2(env):
        return ("osc9",)
    return ("osc777",) if _reads_osc777(env) else ()


def _clean(text: str) -> str:
    """No control characters (they would end the escape early) and no ';' in OSC 777 fields."""
    return "".join(c if c.isprintable() else " " for c in text).replace(";", ",")


def desktop_escapes(title: str, body: str, env: Mapping[str, str] | None = None) -> str:
    """The escape sequences this terminal shows as a desktop notification ('' for none)."""
    env = os.environ if env is None else env
    title, body = _clean(title), _clean(body)
    escapes = {"osc9": f"\x1b]9;{title}: {body}\a",
               "osc99": f"\x1b]99;;{title}: {body}\x1b\\",
               "osc777": f"\x1b]777;notify;{title};{body}\a"}
    parts = [escapes[name] for name in notification_protocols(env)]
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
