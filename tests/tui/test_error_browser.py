"""The Errors and Calibration views on a real small run (tiny-bert, 300 reviews, 1 epoch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
from textual.widgets import DataTable, TabbedContent

from densexp_tui.core.predictions import PREDICTIONS_FILE
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.dashboard import DashboardScreen
from densexp_tui.tui.widgets.calibration_view import CalibrationView
from densexp_tui.tui.widgets.error_browser import ErrorBrowser
from tests.tui.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def small_run(small_text_run: Path) -> Path:
    """tiny-bert, 300 reviews, 1 epoch: a copy of the session's run (tests/conftest.py)."""
    return small_text_run


async def test_the_error_browser_lists_exactly_the_misclassified_rows(
        small_run: Path, make_app: Callable[..., DensexpApp]) -> None:
    lines = [json.loads(line)
             for line in (small_run / PREDICTIONS_FILE).read_text().splitlines()]
    wrong = {line["row"]: line for line in lines if line["pred"] != line["label"]}
    assert wrong, "one epoch on 300 reviews should leave errors to browse"
    app = make_app(replay=small_run.name)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.source_finished)
        screen = app.screen
        browser = screen.query_one(ErrorBrowser)
        await wait_for(pilot, lambda: bool(browser.shown))
        screen.query_one(TabbedContent).active = "errors"
        await pilot.pause()
        assert sorted(row.row for row in browser.shown) == sorted(wrong)
        assert screen.query_one("#errors-table", DataTable).row_count == len(wrong)
        confidences = [row.confidence for row in browser.shown]
        assert confidences == sorted(confidences, reverse=True)
        for row in browser.shown:
            assert (row.true, row.pred) == (wrong[row.row]["label"], wrong[row.row]["pred"])
            assert row.text == wrong[row.row]["text"]

        browser.action_flip_sort()
        assert [row.confidence for row in browser.shown] == sorted(confidences)
        true, pred = browser.shown[0].true, browser.shown[0].pred
        browser.select_cell((true, pred))
        expected = {r for r, line in wrong.items() if (line["label"], line["pred"]) == (true, pred)}
        assert {row.row for row in browser.shown} == expected
        browser.action_show_all()
        assert len(browser.shown) == len(wrong)

        calibration = screen.query_one(CalibrationView)
        await wait_for(pilot, lambda: calibration.data is not None)
        assert calibration.data is not None and calibration.data.n == len(lines)
