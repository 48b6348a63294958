"""Styled lines reused by what they show, not by where they are: a scroll repaints cheaply.

Textual styles each content line of a widget (background, padding, borders, tint), then
runs the app's line filters over it (ANSIToTruecolor, always on) and divides it at the
compositor's cuts; each step caches its answer on the Strip object it got. Its styles cache
keys the styled lines by their y, and any ``refresh()`` (a scroll by one line, which every
mark or move at the table's bottom edge makes, and every second while a writer adds runs at
the top) drops them all. So a one-line scroll of the runs table styled, filtered and divided
all 36 lines again although the table handed back the very same (cached) Strip for 34 of
them: about half of a mark's UI-thread time on the 2-core box.

``ContentKeyedStylesCache`` keeps, for widgets without borders, padding, outline, hatch,
tint or opacity, each styled line by the identity of the content Strip it was made from (and
the widths and backgrounds it was styled with). Styling such a line is a pure function of
exactly those (StylesCache.render_line of the pinned textual version: the line is the
content line fitted to the content width on the inner background, then copied), so handing
back the same styled Strip is what Textual would have drawn, and its filter and divide
caches then hit too; a content line that already has the width is its own styled line.
Anything else (borders, padding, lines past the content) goes through Textual.
tests/tui/test_line_reuse.py compares a reused line with a freshly styled one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.terminal_theme import DEFAULT_TERMINAL_THEME
from textual._styles_cache import StylesCache
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip
from textual.widget import _RenderCache

if TYPE_CHECKING:
    from rich.terminal_theme import TerminalTheme
    from textual.color import Color
    from textual.content import Content
    from textual.css.styles import StylesBase
    from textual.filter import LineFilter
    from textual.geometry import Region, Size, Spacing
    from textual.style import Style

# Styled lines kept (a few screenfuls of a table, each with and without the cursor).
STYLED_LINES_KEPT = 4000
# Whole scrollbars kept, by their look (one per thumb position a scroll went through).
BARS_KEPT = 500
# What a styled line was made with, besides its content: widths and backgrounds.
Look = tuple[int, int, "Color", "Color"]


def plain_styles(styles: StylesBase, padding: Spacing, opacity: float) -> bool:
    """True when styling a content line only fits it to the content width on the inner
    background: no border, outline, padding, hatch, tint, text opacity or opacity."""
    return (opacity == 1.0 and not any(padding)
            and not any(edge for edge, _color in styles.border)
            and not any(edge for edge, _color in styles.outline)
            and not styles.has_rule("hatch") and not styles.tint.a
            and styles.text_opacity == 1.0)


class ContentKeyedStylesCache(StylesCache):
    """A StylesCache that reuses a styled line for the same content Strip object."""

    def __init__(self) -> None:
        super().__init__()
        # id(content) -> (content, look, styled): the content is held, so its id stays its own.
        self._styled: dict[int, tuple[Strip, Look, Strip]] = {}
        self._plain = False

    def render(self, styles: StylesBase, size: Size, base_background: Color,
               background: Color, render_content_line: Callable[[int], Strip],
               filters: Sequence[LineFilter],
               border_title: tuple[Content, Color, Color, Style] | None,
               border_subtitle: tuple[Content, Color, Color, Style] | None,
               content_size: Size | None = None, padding: Spacing | None = None,
               crop: Region | None = None, opacity: float = 1.0,
               ansi_theme: TerminalTheme = DEFAULT_TERMINAL_THEME, native_ansi: bool = False
               ) -> list[Strip]:
        self._plain = plain_styles(styles, styles.padding if padding is None else padding,
                                   opacity)
        return super().render(
            styles, size, base_background, background, render_content_line, filters,
            border_title, border_subtitle, content_size=content_size, padding=padding,
            crop=crop, opacity=opacity, ansi_theme=ansi_theme,
            native_ansi=native_ansi)

    def render_line(self, styles: StylesBase, y: int, size: Size, content_size: Size,
                    padding: Spacing, base_background: Color, background: Color,
                    render_content_line: Callable[[int], Strip],
                    border_title: tuple[Content, Color, Color, Style] | None,
                    border_subtitle: tuple[Content, Color, Color, Style] | None,
                    opacity: float, ansi_theme: TerminalTheme, native_ansi: bool) -> Strip:
        if not self._plain or y >= content_size.height:
            return super().render_line(
                styles, y, size, content_size, padding, base_background, background,
                render_content_line, border_title, border_subtitle, opacity, ansi_theme,
                native_ansi)
        content = render_content_line(y)
        if content.cell_length == content_size.width == size.width:
            # Fitting it changes nothing (Strip.adjust_cell_length returns the strip) and
            # render_line would only copy it: the same Strip, whose own filter and divide
            # caches then serve every frame it is shown in.
            return content
        look: Look = (size.width, content_size.width, base_background, background)
        kept = self._styled.get(id(content))
        if kept is not None and kept[0] is content and kept[1] == look:
            return kept[2]
        styled = super().render_line(
            styles, y, size, content_size, padding, base_background, background,
            lambda _y: content, border_title, border_subtitle, opacity, ansi_theme,
            native_ansi)
        if len(self._styled) >= STYLED_LINES_KEPT:
            self._styled.clear()
        self._styled[id(content)] = (content, look, styled)
        return styled


class SteadyScrollBar(ScrollBar):
    """A ScrollBar that hands back the same Strip objects while its lines look the same.

    A scroll by one line moves the thumb by a fraction of a cell, yet Textual renders the
    bar through rich again and restyles and refilters all its lines: ~2 ms of a mark's
    frame under load, more than the table's 34 unchanged lines. Here a bar already drawn
    with the same segments, size and style is reused whole, and each line of a new one is
    the Strip drawn before for the same segments, so ContentKeyedStylesCache reuses its
    styling: only the lines the thumb's ends moved through are styled again."""

    def __init__(self, vertical: bool = True, name: str | None = None, *,
                 thickness: int = 1) -> None:
        super().__init__(vertical, name, thickness=thickness)
        self._styles_cache = ContentKeyedStylesCache()
        self._bars: dict[Hashable, list[Strip]] = {}
        self._lines: dict[tuple[Segment, ...], Strip] = {}

    def _render_content(self) -> None:
        look = self._bar_look()
        strips = self._bars.get(look) if look is not None else None
        if strips is None:
            super()._render_content()
            if len(self._lines) >= STYLED_LINES_KEPT:
                self._lines.clear()
            strips = [self._lines.setdefault(tuple(line), line)
                      for line in self._render_cache.lines]
            if look is not None:
                if len(self._bars) >= BARS_KEPT:
                    self._bars.clear()
                self._bars[look] = strips
        self._render_cache = _RenderCache(self.size, strips)
        self._dirty_regions.clear()

    def _bar_look(self) -> Hashable | None:
        """Everything Widget._render_content draws this bar from: ScrollBarRender's
        segments (as its __rich_console__ asks for them), the size, the visual style and
        what Visual.to_strips reads of the widget (None: not a plain bar, no reuse)."""
        renderable = self.render()
        if not isinstance(renderable, ScrollBarRender) or self.text_selection is not None:
            return None
        width, height = self.size
        style = renderable.style
        if not isinstance(style, RichStyle):
            return None
        bar = renderable.render_bar(
            size=height if renderable.vertical else width,
            window_size=renderable.window_size, virtual_size=renderable.virtual_size,
            position=renderable.position, vertical=renderable.vertical,
            thickness=width if renderable.vertical else height,
            back_color=style.bgcolor or RichColor.parse("#555555"),
            bar_color=style.color or RichColor.parse("bright_magenta"))
        return (self.size, self.visual_style, self.styles.content_align, self.auto_links,
                type(renderable), tuple(bar.segments))
