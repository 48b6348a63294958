"""Bindings as data: the command palette and the help screen are generated from BINDINGS.

Nothing here is hand-written per screen, so a new binding shows up in the footer, the help
screen and the palette at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Iterable

from textual import actions
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen

# Textual's own classes: their bindings (tab, ctrl+c copy, ...) are not the app's to list.
_TEXTUAL_MODULE_PREFIX = "textual."


@dataclass(frozen=True)
class BindingInfo:
    """One binding as the help screen shows it: every key of it, what it does, and why."""

    keys: tuple[str, ...]
    action: str
    description: str
    tooltip: str
    binding_id: str | None


def as_binding(item: BindingType) -> Binding:
    return item if isinstance(item, Binding) else Binding(*item)


def declared_bindings(node_class: type[DOMNode]) -> list[BindingInfo]:
    """The BINDINGS a class and its app-defined ancestors declare (nearest class first)."""
    seen: set[str] = set()
    found: list[BindingInfo] = []
    for klass in node_class.__mro__:
        if klass.__module__.startswith(_TEXTUAL_MODULE_PREFIX) or klass is object:
            continue
        for item in klass.__dict__.get("BINDINGS", []):
            binding = as_binding(item)
            keys = tuple(k.strip() for k in binding.key.split(",") if k.strip())
            if binding.action in seen:
                continue  # overridden by a subclass
            seen.add(binding.action)
            found.append(BindingInfo(keys, binding.action, binding.description,
                                     binding.tooltip, binding.id))
    return found


def key_display(app: App[object], key: str) -> str:
    """How a key reads in the footer (``^l`` for ctrl+l, ``?`` for question_mark)."""
    return app.get_key_display(Binding(key, ""))


def action_allowed(node: DOMNode, action: str) -> bool:
    """True unless the node's check_action hides or disables the action right now."""
    _, name, params = actions.parse(action)
    return bool(node.check_action(name, params))


def action_hidden(node: DOMNode, action: str) -> bool:
    """True when the node's check_action hides the action (False); None only disables it."""
    _, name, params = actions.parse(action)
    return node.check_action(name, params) is False


def screen_commands(screen: Screen[object]) -> Iterable[SystemCommand]:
    """Palette commands for what the current screen can do now, from its own bindings."""
    for info in declared_bindings(type(screen)):
        if not info.description or not action_allowed(screen, info.action):
            continue
        keys = ", ".join(key_display(screen.app, k) for k in info.keys)
        yield SystemCommand(info.description, f"{info.tooltip} ({keys})".strip(),
                            partial(screen.run_action, info.action))
