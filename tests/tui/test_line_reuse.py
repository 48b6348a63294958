"""What the terminal shows of the runs screen while its lines are reused by what they show
(widgets/line_reuse.py: styled table lines by their content Strip, the scrollbar by its
segments; widgets/runs_table.py: the header by its look). After scrolls, marks, a writer's
new runs, a theme change, focus moving and a resize, every line of the screen must be what
Textual paints with none of that reuse: same characters, same styles, same click metadata."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.style import Style
from textual._styles_cache import StylesCache
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widgets import Static

from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.widgets.line_reuse import ContentKeyedStylesCache, SteadyScrollBar
from densexp_tui.tui.widgets.runs_table import RunsTable
from tests.runs_factory import generate_runs
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.timeout(180)


def cells_of(strips: list[Strip]) -> list[list[tuple[str, Style | None]]]:
    """Each line as (character, style) pairs: equal whatever the segments' boundaries."""
    return [[(char, segment.style) for segment in strip for char in segment.text]
            for strip in strips]


def screen_now(app: DensexpApp) -> list[list[tuple[str, Style | None]]]:
    """The whole screen as the compositor has it (each widget's caches as they stand)."""
    return cells_of(app.screen._compositor.render_strips())


@contextmanager
def nothing_reused(table: RunsTable, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plain Textual styling for the table and its scrollbar, every cache dropped."""
    bar = table.vertical_scrollbar
    assert isinstance(bar, SteadyScrollBar)
    with monkeypatch.context() as patch:
        patch.setattr(SteadyScrollBar, "_render_content", ScrollBar._render_content)
        table._styles_cache, bar._styles_cache = StylesCache(), StylesCache()
        table._lines.clear()
        table.refresh()
        bar.refresh()
        try:
            yield
        finally:
            table._styles_cache = ContentKeyedStylesCache()
            bar._styles_cache = ContentKeyedStylesCache()
            table.refresh()
            bar.refresh()


def assert_screen_as_without_reuse(app: DensexpApp, monkeypatch: pytest.MonkeyPatch) -> None:
    table = app.screen.query_one("#runs-table", RunsTable)
    warm = screen_now(app)
    with nothing_reused(table, monkeypatch):
        cold = screen_now(app)
    assert len(warm) == len(cold)
    for y, (warm_line, cold_line) in enumerate(zip(warm, cold, strict=True)):
        assert warm_line == cold_line, f"screen line {y} differs"


async def test_reused_lines_paint_what_textual_paints(
        make_app: Callable[..., DensexpApp], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "runs"
    generate_runs(root, 120)
    app = make_app(runs_dir=root)
    async with app.run_test(size=(120, 40)) as pilot:
        line = app.screen.query_one("#queue-line", Static)
        await wait_for(pilot, lambda: str(line.content).startswith("120 runs"), timeout=60)
        table = app.screen.query_one("#runs-table", RunsTable)
        assert isinstance(table._styles_cache, ContentKeyedStylesCache)
        await pilot.press(*["down"] * 30, *["space"] * 12)  # marks scroll at the bottom
        await pilot.pause()
        assert table.scroll_y > 0
        assert_screen_as_without_reuse(app, monkeypatch)

        for step in range(6):  # a line, several lines, and back up: the thumb moves
            await pilot.press(*(["down"] * (1 + step * 3) if step < 4 else ["up"] * 9))
            await pilot.pause()
            assert_screen_as_without_reuse(app, monkeypatch)

        generate_runs(root, 4, start_index=120)  # newer: at the top, every row moves down
        await wait_for(pilot, lambda: str(line.content).startswith("124 runs"), timeout=30)
        await pilot.pause()
        assert_screen_as_without_reuse(app, monkeypatch)

        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        await pilot.press("space", "down")
        await pilot.pause()
        assert_screen_as_without_reuse(app, monkeypatch)

        await pilot.press("slash")  # the filter takes focus: the cursor row looks blurred
        await pilot.pause()
        assert_screen_as_without_reuse(app, monkeypatch)
        await pilot.press("escape", "down")  # back in the table
        await pilot.pause()
        assert_screen_as_without_reuse(app, monkeypatch)

        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        assert_screen_as_without_reuse(app, monkeypatch)
