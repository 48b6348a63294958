"""Keys that take turns in one footer slot, so that a footer fits in 80 columns.

On the runs screen Re-run and Resume take turns: Resume for a run that can continue, Re-run
for the others (tui/screens/home.py). Both keys work on every run: this only filters what
the footer shows (help and the palette list both). They share one slot, the first of the
two, so a turn relabels that key in place (widgets/steady_footer.py) instead of moving the
keys after it.
"""

from __future__ import annotations

from collections.abc import Collection

from textual.binding import ActiveBinding


def taking_turns(bindings: dict[str, ActiveBinding], shown: str, turns: Collection[str]
                 ) -> dict[str, ActiveBinding]:
    """``bindings`` with, of the actions in ``turns``, only ``shown``'s keys, in the slot
    of the first key of any of them."""
    chosen = [(key, active) for key, active in bindings.items()
              if active.binding.action == shown]
    out: dict[str, ActiveBinding] = {}
    for key, active in bindings.items():
        if active.binding.action not in turns:
            out[key] = active
        elif chosen and not any(k in out for k, _active in chosen):
            out.update(chosen)
    return out
