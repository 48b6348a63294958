"""The app never compares a run with itself (`densexp compare X X` is refused as bad input):
marking a run and pressing c on that same run asks for a second run instead."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from densexp_tui.tui.app import DensexpApp
from tests.tui.conftest import cells

pytestmark = pytest.mark.timeout(120)


async def test_one_marked_run_under_the_cursor_is_not_compared_with_itself(
        make_app: Callable[..., DensexpApp], fixture_runs: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[list[str]] = []
    app = make_app()
    monkeypatch.setattr(app, "open_compare", compared.append)
    async with app.run_test() as pilot:
        await pilot.press("space", "up")  # mark the first run, the cursor back on it
        assert [row[0] for row in cells(app)[:2]] == ["●", " "]
        await pilot.press("c")
        assert compared == []
        assert any("at least two runs" in n.message for n in app._notifications)
        await pilot.press("space", "space")  # unmark it, mark the next: still one marked run
        await pilot.press("up", "c")  # the cursor on that marked run again
        assert compared == []
