"""share/notify.py: which terminals get which escape, and that text cannot break out."""

from __future__ import annotations

import io

import pytest

from densexp_tui.share.notify import alert_sequence, desktop_escapes, end_message, notify_terminal

pytestmark = pytest.mark.timeout(10)


NINE = "\x1b]9;densexp: run completed: quickstart completed\a"
NINETY_NINE = "\x1b]99;;densexp: run completed: quickstart completed\x1b\\"
SEVEN = "\x1b]777;notify;densexp: run completed;quickstart completed\a"


@pytest.mark.parametrize(("env", "expected"), [
    ({"TERM_PROGRAM": "iTerm.app", "TERM": "xterm-256color"}, NINE),
    ({"LC_TERMINAL": "iTerm2", "TERM": "xterm-256color"}, NINE),  # over ssh
    ({"TERM": "xterm-kitty"}, NINETY_NINE),  # kitty reads neither OSC 9 nor 777 as documented
    ({"TERM_PROGRAM": "WezTerm"}, SEVEN),  # reads both: one notification, not two
    ({"TERM_PROGRAM": "ghostty", "TERM": "xterm-ghostty"}, SEVEN),
    ({"TERM": "foot"}, SEVEN),
    ({"WT_SESSION": "x"}, SEVEN),  # Windows Terminal's OSC 9 is ConEmu's progress family
    ({"VTE_VERSION": "7600", "TERM": "xterm-256color"}, SEVEN),
    ({"TERM": "rxvt-unicode-256color"}, SEVEN),
    ({"TERM": "xterm-256color"}, ""),
    ({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, ""),
    ({"TERM": "xterm", "DENSEXP_DESKTOP_NOTIFY": "1"}, NINE + SEVEN),
    ({"TERM": "xterm", "DENSEXP_DESKTOP_NOTIFY": "osc99"}, NINETY_NINE),
    ({"TERM_PROGRAM": "iTerm.app", "DENSEXP_DESKTOP_NOTIFY": "0"}, ""),
])
def test_each_terminal_gets_the_one_escape_it_documents(env: dict[str, str],
                                                        expected: str) -> None:
    assert desktop_escapes("densexp: run completed", "quickstart completed", env) == expected


@pytest.mark.parametrize(("marker", "expected"), [
    ({"KITTY_WINDOW_ID": "1"}, "\x1b\x1b]99;;t: b\x1b\x1b\\"),
    ({"ITERM_SESSION_ID": "w0t0p0:1"}, "\x1b\x1b]9;t: b\a"),
    ({"WEZTERM_PANE": "0"}, "\x1b\x1b]777;notify;t;b\a"),
])
def test_inside_tmux_the_outer_terminal_is_known_by_the_variables_that_survive(
        marker: dict[str, str], expected: str) -> None:
    """tmux sets TERM and TERM_PROGRAM to its own; the terminal's own variables stay."""
    env = {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "tmux-256color", "TERM_PROGRAM": "tmux",
           **marker}
    assert desktop_escapes("t", "b", env) == "\x1bPtmux;" + expected + "\x1b\\"


def test_control_characters_and_separators_cannot_end_the_escape() -> None:
    text = desktop_escapes("t", "evil\a\x1b]0;title;x", {"DENSEXP_DESKTOP_NOTIFY": "1"})
    assert text.count("\a") == 2 and text.count("\x1b") == 2  # only the two escapes' own
    assert "notify;t;evil  ]0,title,x\a" in text


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
