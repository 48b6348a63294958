"""The runs screen's filter box: typing repaints the box, not the whole screen's layout.

Textual's Input sets its virtual size to its text's width on every change, and a virtual
size change lays the whole screen out again: at 100,000 runs (a runs table of 160 rows and
its scroll bars) that was ~40 ms of UI thread per typed character on the shared box, more
under load, before the character showed. The box is one row of fixed width (app.tcss), so
its size never depends on the text: the virtual size (which only bounds horizontal
scrolling inside the box) is stored without a layout pass, and the box repaints.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Input


class FilterInput(Input):
    """An Input of fixed size whose typing does not ask for a layout pass."""

    def _watch_value(self, value: str) -> None:
        if not self.styles.auto_dimensions:
            self.set_reactive(Widget.virtual_size, Size(self.content_width, 1))
            self.refresh()
        super()._watch_value(value)
