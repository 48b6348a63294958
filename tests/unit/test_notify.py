"""share/notify.py: which terminals get which escape, and that text cannot break out."""

from __future__ import annotations

import io

import pytest

from densexp_tui.share.notify import alert_sequence, desktop_escapes, end_message, notify_terminal

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(("env", "osc9", "osc777"), [
    ({"TERM_PROGRAM": "iTerm.app"}, True, False),
    ({"WT_SESSION": "x"}, True, False),
    ({"VTE_VERSION": "7600", "TERM": "xterm-256color"}, False, True),
    ({"TERM": "rxvt-unicode-256color"}, False, True),
    ({"TERM_PROGRAM": "WezTerm"}, True, True),
    ({"TERM": "xterm-256color"}, False, False),
    ({"TERM": "xterm", "DENSEXP_DESKTOP_NOTIFY": "1"}, True, True),
    ({"TERM_PROGRAM": "iTerm.app", "DENSEXP_DESKTOP_NOTIFY": "0"}, False, False),
])
def test_escapes_only_for_terminals_that_show_them(env: dict[str, str], osc9: bool,
                                                   osc777: bool) -> None:
    text = desktop_escapes("densexp: run completed", "quickstart completed", env)
    assert ("\x1b]9;densexp: run completed: quickstart completed\a" in text) is osc9
    assert ("\x1b]777;notify;densexp: run completed;quickstart completed\a" in text) is osc777


def test_control_characters_and_separators_cannot_end_the_escape() -> None:
    text = desktop_escapes("t", "evil\a\x1b]0;title;x", {"DENSEXP_DESKTOP_NOTIFY": "1"})
    assert text.count("\a") == 2 and text.count("\x1b") == 2  # only the two escapes' own
    assert "notify;t;evil  ]0,title,x\a" in text


def test_tmux_gets_passthrough() -> None:
    text = desktop_escapes("t", "b", {"TERM_PROGRAM": "iTerm.app", "TMUX": "/tmp/tmux,1,0"})
    assert text == "\x1bPtmux;\x1b\x1b]9;t: b\a\x1b\\"


def test_headless_writes_bell_and_escape_to_a_terminal_only() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    title, body = end_message("run", "wine-mlp", "diverged")
    assert (title, body) == ("densexp: run diverged", "wine-mlp diverged")
    assert notify_terminal(title, body, stream=tty)
    assert tty.getvalue() == alert_sequence(title, body) and tty.getvalue().startswith("\a")
    assert not notify_terminal(title, body, stream=pipe) and pipe.getvalue() == ""
