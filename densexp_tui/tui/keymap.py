"""Every key binding of the app by id, and the user's keymap applied to them.

Ids are collected from the classes the app defines (screens, dialogs, widgets, the app), so
a keymap entry naming an id that no binding has is reported, not silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.binding import Binding
from textual.dom import DOMNode

from densexp_tui.core.userconfig import UserConfig, check_keymap_ids
from densexp_tui.tui.commands import as_binding

APP_PACKAGE = "densexp_tui."


def app_node_classes() -> list[type[DOMNode]]:
    """Every DOMNode subclass the app defines, once its screens are imported."""
    from densexp_tui.tui.screens.help import installed_screens

    list(installed_screens())  # imports every screen and dialog module that exists
    found: list[type[DOMNode]] = []
    stack: list[type[DOMNode]] = [DOMNode]
    while stack:
        klass = stack.pop()
        for sub in klass.__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith(APP_PACKAGE) and sub not in found:
                found.append(sub)
    return found


def app_bindings() -> Iterator[tuple[type[DOMNode], Binding]]:
    for klass in app_node_classes():
        for item in klass.__dict__.get("BINDINGS", []):
            yield klass, as_binding(item)


def known_binding_ids() -> set[str]:
    return {binding.id for _, binding in app_bindings() if binding.id}


def usable_keymap(config: UserConfig) -> tuple[dict[str, str], list[str]]:
    """(the keymap entries whose ids exist, one line per entry that names no binding)."""
    if not config.keymap:
        return {}, []  # no need to import every screen (the app's start stays lazy)
    known = known_binding_ids()
    problems = check_keymap_ids(config, known)
    return {k: v for k, v in config.keymap.items() if k in known}, problems
