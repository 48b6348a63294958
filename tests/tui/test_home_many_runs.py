"""The runs screen on many generated runs: past SYNC_LIMIT it lists and filters in workers
and holds only a window of rows, and still filters, sorts, folds and marks right.

COUNT is half again SYNC_LIMIT (many times WINDOW_ROWS): enough for the windowed, worker path
the claims are about; thousands more would only repeat them at minutes of suite time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from densexp_tui.core.runindex import RunIndex
from densexp_tui.core.runquery import parse_filter
from densexp_tui.core.runstore import RunStore
from densexp_tui.core.runwindow import Window, WindowRequest
from densexp_tui.tui import debounce, runs_feed
from densexp_tui.tui.app import DensexpApp
from densexp_tui.tui.screens.home import SYNC_LIMIT, WINDOW_ROWS, HomeScreen
from tests.runs_factory import generate_runs
from tests.tui.conftest import cells, wait_for

pytestmark = pytest.mark.timeout(240)
COUNT = SYNC_LIMIT * 3 // 2
# The last seed group generate_runs makes (groups_every=10: grp-0, grp-10, ... by run // 3).
LAST_GROUP = f"grp-{(COUNT // 3 - 1) // 10 * 10}"


@pytest.fixture(scope="module")
def many_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("many") / "runs"
    generate_runs(root, COUNT, groups_every=10)
    RunStore(root).list_runs()  # warm the index once for the module
    return root


def count_line(app: DensexpApp) -> str:
    return str(app.screen.query_one("#queue-line", Static).content)


async def loaded(pilot: object, app: DensexpApp, text: str) -> None:
    await wait_for(pilot, lambda: text in count_line(app), timeout=60)


async def test_lists_newest_first_in_a_window_without_blocking(
        make_app: Callable[..., DensexpApp], many_runs: Path) -> None:
    assert COUNT > SYNC_LIMIT
    app = make_app(runs_dir=many_runs)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, f"{COUNT} runs")
        table = app.screen.query_one("#runs-table", DataTable)
        assert table.row_count == WINDOW_ROWS < COUNT  # a window, not every row
        newest = sorted((p.name for p in many_runs.iterdir() if not p.name.startswith(".")),
                        reverse=True)
        screen = app.screen
        assert isinstance(screen, HomeScreen)
        assert screen.selected_run_id() == newest[0]
        table.move_cursor(row=WINDOW_ROWS - 2)
        await pilot.press("down")
        assert table.row_count > WINDOW_ROWS  # more rows arrive as the cursor nears the end


async def test_filter_words_fields_and_numbers_match_the_core_filter(
        make_app: Callable[..., DensexpApp], many_runs: Path) -> None:
    expected = [r for r in RunStore(many_runs).list_runs()
                if r.status == "completed" and r.model == "mlp" and r.best["accuracy"] > 0.9]
    app = make_app(runs_dir=many_runs)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, f"{COUNT} runs")
        await pilot.press("slash", *"status:")  # typed, then the rest pasted at once
        app.screen.query_one("#filter", Input).value = "status:completed model:mlp acc>0.9"
        await loaded(pilot, app, f"{len(expected)} of {COUNT} runs")
        shown = cells(app)
        assert [row[1] for row in shown] == [r.name for r in expected][:len(shown)]
        await pilot.press("escape")
        await loaded(pilot, app, f"{COUNT} runs")


async def test_sorting_by_accuracy_puts_the_best_first(
        make_app: Callable[..., DensexpApp], many_runs: Path) -> None:
    best = max(r.best["accuracy"] for r in RunStore(many_runs).list_runs())
    app = make_app(runs_dir=many_runs)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, f"{COUNT} runs")
        app.screen.query_one("#filter", Input).value = "sort:acc"
        await wait_for(pilot, lambda: cells(app)[0][3] == f"{best:.3f}", timeout=60)
        accuracies = [float(row[3]) for row in cells(app)]
        assert accuracies == sorted(accuracies, reverse=True)


async def test_groups_fold_into_one_row_and_marking_it_marks_its_seeds(
        make_app: Callable[..., DensexpApp], many_runs: Path) -> None:
    app = make_app(runs_dir=many_runs)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, f"{COUNT} runs")
        app.screen.query_one("#filter", Input).value = f"group:{LAST_GROUP}"
        await loaded(pilot, app, f"3 of {COUNT} runs")
        await pilot.press("g")
        await loaded(pilot, app, "groups folded")
        rows = cells(app)
        assert len(rows) == 1 and rows[0][1] == f"{LAST_GROUP} (3 seeds)" and "±" in rows[0][3]
        await pilot.press("space")
        screen = app.screen
        assert isinstance(screen, HomeScreen) and len(screen.marked) == 3
        assert sorted(screen.compare_ids()) == sorted(screen.marked)


async def test_typing_fast_queries_once_it_pauses_and_shows_the_final_texts_rows(
        make_app: Callable[..., DensexpApp], many_runs: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = "mlp 7"
    expected = parse_filter(text, lenient=True).apply(RunStore(many_runs).list_runs())
    assert 0 < len(expected) < COUNT
    queried: list[str] = []
    fetch = runs_feed.fetch_window

    def recording(index: RunIndex, request: WindowRequest,
                  from_folders: bool = False) -> Window:
        queried.append(request.filter_text)
        return fetch(index, request, from_folders)

    # A pause far longer than the keys' gaps, so that a busy machine cannot split the burst.
    monkeypatch.setattr(debounce, "FILTER_PAUSE_SECONDS", 1.0)
    monkeypatch.setattr(runs_feed, "fetch_window", recording)
    app = make_app(runs_dir=many_runs)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app, f"{COUNT} runs")
        before = len(queried)
        await pilot.press("slash", *text)
        # The filter's own queries (the once-a-second refresh also asks for the text then).
        await wait_for(pilot, lambda: len(queried) > before, timeout=60)
        await loaded(pilot, app, f"{len(expected)} of {COUNT} runs")
        assert queried[before:] == [text]  # one query, for the text typing stopped at
        shown = cells(app)
        assert [row[1] for row in shown] == [r.name for r in expected][:len(shown)]
        assert len(shown) == min(len(expected), WINDOW_ROWS)
