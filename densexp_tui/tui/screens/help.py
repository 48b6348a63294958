"""Help: every key of every screen, generated from the screens' BINDINGS.

Nothing is written by hand here: a binding added to a screen appears in this list, the
footer and the command palette together. Screens that are not installed are left out, and
for a screen that is open (the one help was opened from, or one under it) the list is what
that screen offers now: a key its ``check_action`` hides (Resume without the resume engine,
Cancel on a replay, the replay keys on a live run) is not listed, just as in its footer.
"""

from __future__ import annotations

import importlib
from typing import Any, Iterator

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from densexp_tui.tui.commands import action_hidden, declared_bindings, key_display

# (title, module, class): every screen and dialog of the app, in the order people meet them.
SCREENS = (
    ("Runs (home)", "densexp_tui.tui.screens.home", "HomeScreen"),
    ("New experiment", "densexp_tui.tui.screens.new_experiment", "NewExperimentScreen"),
    ("Dashboard (live and replay)", "densexp_tui.tui.screens.dashboard", "DashboardScreen"),
    ("Compare", "densexp_tui.tui.screens.compare", "CompareScreen"),
    ("Sweeps", "densexp_tui.tui.screens.sweeps", "SweepsScreen"),
    ("Confirm dialog", "densexp_tui.tui.dialogs.confirm", "ConfirmDialog"),
    ("Error dialog", "densexp_tui.tui.dialogs.error", "ErrorDialog"),
    ("Path prompt", "densexp_tui.tui.dialogs.path_prompt", "PathPrompt"),
    ("Run queue (palette)", "densexp_tui.tui.dialogs.run_queue", "RunQueueDialog"),
    ("Help", "densexp_tui.tui.screens.help", "HelpScreen"),
)


def installed_screens() -> Iterator[tuple[str, type[DOMNode]]]:
    """(title, class) of each screen; imported here, not at module level (screens do not
    import each other when they load)."""
    for title, module_name, class_name in SCREENS:
        module = importlib.import_module(module_name)
        screen_class = getattr(module, class_name, None)
        if isinstance(screen_class, type):
            yield title, screen_class


def bindings_table(app: App[object], node_class: type[DOMNode],
                   node: DOMNode | None = None,
                   keymap: dict[str, str] | None = None) -> Table | None:
    """Key / action / what it does, for one class; None when it declares no bindings.
    ``node``: an open instance of the class; what its check_action hides is left out.
    ``keymap``: the user's remapping by binding id, so the keys shown are those in effect."""
    rows = [info for info in declared_bindings(node_class) if info.description
            and not (node is not None and action_hidden(node, info.action))]
    if not rows:
        return None
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column("Keys", style="bold", no_wrap=True, min_width=6)
    table.add_column("Action", no_wrap=True)
    table.add_column("What it does", ratio=1)
    for info in rows:
        effective = (keymap or {}).get(info.binding_id or "")
        key_list = effective.split(",") if effective else info.keys
        keys = ", ".join(key_display(app, key) for key in key_list)
        table.add_row(keys, info.description, Text(info.tooltip, style="dim"))
    return table


class HelpScreen(Screen[None]):
    """The key reference; the screen it was opened from comes first."""

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "Close", id="help.close",
                tooltip="Back to where you were"),
    ]

    def __init__(self, opened_from: Screen[Any] | None = None,
                 keymap: dict[str, str] | None = None) -> None:
        super().__init__(id="help")
        self.keymap = dict(keymap or {})
        self.opened_from = type(opened_from) if opened_from is not None else None
        self.opened_from_screen = opened_from

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="help-body"):
            for title, node_class in self._sections():
                node = self._open_instance(node_class)
                table = bindings_table(self.app, node_class, node, self.keymap)
                if table is not None:
                    title = getattr(node, "help_title", "") or title
                    heading = Text(title, style="bold underline")
                    yield Static(Group(heading, table), classes="help-section")
        yield Footer(compact=True)

    def _open_instance(self, node_class: type[DOMNode]) -> DOMNode | None:
        """The app, or the open screen of this class nearest the top (None: not open)."""
        if isinstance(self.app, node_class):
            return self.app
        candidates = [self.opened_from_screen, *reversed(self.app.screen_stack)]
        for screen in candidates:
            if screen is not None and screen is not self and type(screen) is node_class:
                return screen
        return None

    def _sections(self) -> list[tuple[str, type[DOMNode]]]:
        sections = [("Everywhere", type(self.app)), *installed_screens()]
        current = [s for s in sections if s[1] is self.opened_from]
        return current + [s for s in sections if s[1] is not self.opened_from]

    def on_mount(self) -> None:
        self.sub_title = "Keys"
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
