"""A footer that relabels its keys in place instead of rebuilding itself.

Textual's Footer recomposes (unmounts and mounts every key, restyles them, lays the screen
out again) on every bindings refresh, even when it would show the keys it shows. On the
runs screen the Re-run and Resume keys take turns as the cursor moves
(HomeScreen.active_bindings), so a footer rebuild followed about every other cursor move at
100,000 runs: 40-50 ms each on the shared 2-core box, which the next key press waited for.
Here a refresh that keeps the same slots (the same number of plain keys, no binding groups)
rewrites the keys that differ and repaints them; any other change recomposes as before.
It mirrors Footer.compose of the pinned textual version (tests/tui/test_footers.py reads
the keys it shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.screen import Screen


@dataclass(frozen=True)
class KeyLook:
    """What one footer key shows and does."""

    key: str
    key_display: str
    description: str
    action: str
    disabled: bool
    tooltip: str
    palette: bool  # the command palette's key, at the right


def shown_look(widget: FooterKey) -> KeyLook:
    tooltip = widget.tooltip if isinstance(widget.tooltip, str) else ""
    return KeyLook(widget.key, widget.key_display, widget.description, widget.action,
                   widget._disabled, tooltip, widget.has_class("-command-palette"))


class SteadyFooter(Footer):
    """Footer whose key changes are made in place when the slots stay the same."""

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._relabel_or_recompose)

    def wanted_looks(self) -> list[KeyLook] | None:
        """The keys Footer.compose would show, or None when it would group some."""
        active = self.screen.active_bindings
        by_action: dict[str, KeyLook] = {}
        for _node, binding, enabled, tooltip in active.values():
            if not binding.show or binding.action in by_action:
                continue
            if binding.group is not None:
                return None
            by_action[binding.action] = KeyLook(
                binding.key, self.app.get_key_display(binding), binding.description,
                binding.action, not enabled, tooltip, False)
        looks = list(by_action.values())
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            entry = active.get(self.app.COMMAND_PALETTE_BINDING)
            if entry is not None:
                _node, binding, enabled, _tooltip = entry
                looks.append(KeyLook(binding.key, self.app.get_key_display(binding),
                                     binding.description, binding.action, not enabled,
                                     binding.tooltip or binding.description, True))
        return looks

    async def _relabel_or_recompose(self) -> None:
        if not self.is_attached:
            return
        shown = list(self.children)
        wanted = self.wanted_looks()
        if wanted is None or len(wanted) != len(shown) or not all(
                isinstance(widget, FooterKey) and shown_look(widget).palette == look.palette
                for widget, look in zip(shown, wanted, strict=True)):
            await self.recompose()
            return
        for widget, look in zip(shown, wanted, strict=True):
            assert isinstance(widget, FooterKey)
            if shown_look(widget) != look:
                relabel(widget, look)


def relabel(widget: FooterKey, look: KeyLook) -> None:
    """Make ``widget`` show ``look``; a label of the same length only repaints."""
    same_width = (len(widget.key_display), len(widget.description)) == (
        len(look.key_display), len(look.description))
    widget.key, widget.key_display = look.key, look.key_display
    widget.description, widget.action = look.description, look.action
    widget._disabled = look.disabled
    widget.set_class(look.disabled, "-disabled")
    widget.tooltip = look.tooltip or None
    widget.refresh(layout=not same_width)
