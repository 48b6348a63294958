"""What the runs screen lists (core/runlisting.py): filter, order and folding, the window of
a big runs dir, and the periodic re-read of one, without an app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from densexp_tui.core.rungroups import GroupSummary
from densexp_tui.core.runlisting import (
    GROUP_KEY_PREFIX,
    ThrottledProgress,
    build_view,
    count_line,
    empty_hint,
    few_runs,
    read_listing,
    row_key,
    update_index,
    window_view,
)
from densexp_tui.core.runquery import SortSpec
from densexp_tui.core.runstore import RunStore, RunSummary
from densexp_tui.core.runwindow import WindowRequest, fetch_window
from tests.runs_factory import generate_runs

pytestmark = pytest.mark.timeout(60)


def run(run_id: str, **fields: object) -> RunSummary:
    return RunSummary.from_dict({"run_id": run_id, "name": run_id.split("-")[2], **fields})


RUNS = [  # newest first, as the store lists them
    run("20250104-000000-d-000004", status="completed", model="mlp", group="g1",
        best={"accuracy": 0.6, "f1": 0.5}),
    run("20250103-000000-c-000003", status="completed", model="mlp", group="g1",
        best={"accuracy": 0.8, "f1": 0.7}),
    run("20250102-000000-b-000002", status="failed", model="tiny-bert",
        best={"accuracy": 0.9, "f1": 0.9}),
    run("20250101-000000-a-000001", status="completed", model="mlp",
        best={"accuracy": 0.7, "f1": 0.6}),
]


def names(rows: list[RunSummary | GroupSummary]) -> list[str]:
    return [row.name if isinstance(row, RunSummary) else row.group for row in rows]


def test_the_view_keeps_what_the_filter_leaves_in_the_chosen_order() -> None:
    view = build_view(RUNS, "mlp", False, SortSpec("acc", True))
    assert names(view.rows) == ["c", "a", "d"]
    assert view.positions == {row.run_id: i for i, row in enumerate(view.rows)
                              if isinstance(row, RunSummary)}
    assert (view.n_runs, view.n_shown) == (4, 3)  # every run is known, three are shown


def test_a_sort_word_in_the_filter_wins_over_the_o_key_order() -> None:
    view = build_view(RUNS, "sort:name", False, SortSpec("acc", True))
    assert names(view.rows) == ["a", "b", "c", "d"]


def test_a_word_the_filter_cannot_read_is_named_and_the_rest_still_filters() -> None:
    view = build_view(RUNS, "acc>high status:failed", False, SortSpec())
    assert names(view.rows) == ["b"]
    assert len(view.problems) == 1 and "'high' is not a number" in view.problems[0]


def test_folding_shows_a_group_once_and_knows_its_members() -> None:
    view = build_view(RUNS, "", True, SortSpec())
    assert names(view.rows) == ["g1", "b", "a"]
    group_key = GROUP_KEY_PREFIX + "g1"
    assert row_key(view.rows[0]) == group_key and view.positions[group_key] == 0
    assert sorted(view.group_members(group_key)) == [RUNS[1].run_id, RUNS[0].run_id]
    assert view.group_members(RUNS[2].run_id) == []  # a run's row is no group
    assert view.group_members(GROUP_KEY_PREFIX + "gone") == []


def test_a_window_becomes_a_view_of_only_its_rows(tmp_path: Path) -> None:
    ids = generate_runs(tmp_path, 30)
    store = RunStore(tmp_path)
    store.index.update(full=True)
    window = fetch_window(store.index, WindowRequest("", False, SortSpec(), 5))
    view = window_view(window)
    assert [row_key(row) for row in view.rows] == ids[::-1][:5]  # newest first
    assert set(view.runs) == set(ids[::-1][:5])
    assert (view.n_runs, view.n_shown) == (30, 30)  # counted by the index, not the rows


def test_few_runs_stops_counting_past_the_limit(tmp_path: Path) -> None:
    for index in range(4):
        (tmp_path / f"run-{index}").mkdir()
    assert few_runs(tmp_path, 4)
    assert not few_runs(tmp_path, 3)
    assert few_runs(tmp_path / "missing", 3)  # unreadable: the in-memory listing says why


def test_a_re_read_sees_a_run_end_and_leaves_out_a_deleted_one(tmp_path: Path) -> None:
    ids = generate_runs(tmp_path, 6)
    running, deleted = ids[-1], ids[-2]
    summary_path = tmp_path / running / "summary.json"
    summary = json.loads(summary_path.read_text())
    store = RunStore(tmp_path)
    assert update_index(store, full=True) is not None  # a full check says how long it took

    summary_path.write_text(json.dumps({**summary, "status": "completed"}))
    for path in (tmp_path / deleted).iterdir():
        path.unlink()
    (tmp_path / deleted).rmdir()
    assert update_index(store, full=False) is None
    listing = read_listing(store, WindowRequest("", False, SortSpec(), 3), [running, deleted])

    assert [s.run_id for s in listing.summaries] == [running]
    assert listing.summaries[0].status == "completed"
    assert listing.window is not None
    assert deleted not in [row_key(row) for row in listing.window.rows]
    assert listing.running == []


def test_a_re_read_without_a_request_fetches_no_window(tmp_path: Path) -> None:
    generate_runs(tmp_path, 3)
    store = RunStore(tmp_path)
    update_index(store, full=False)
    assert read_listing(store, None, []).window is None


def test_marked_runs_come_in_table_order_a_folded_one_where_its_group_is() -> None:
    folded = build_view(RUNS, "", True, SortSpec("acc", True))  # b, g1 (c, d), a
    ids = {RUNS[3].run_id, RUNS[0].run_id, RUNS[2].run_id}  # a, d, b
    assert folded.table_order(ids) == [RUNS[2].run_id, RUNS[0].run_id, RUNS[3].run_id]
    narrowed = build_view(RUNS, "status:failed", False, SortSpec())  # only b is shown
    assert narrowed.table_order(ids) == [RUNS[2].run_id, RUNS[0].run_id, RUNS[3].run_id]


def test_the_count_line_says_what_is_shown_of_what() -> None:
    assert count_line(4, 4, fold=False, checking=False, marked=0) == "4 runs"
    assert count_line(1, 1, fold=False, checking=False, marked=0) == "1 run"
    assert count_line(2, 40, fold=True, checking=True, marked=3,
                      problems=("acc>'x': 'x' is not a number",)) == (
        "2 of 40 runs · groups folded · checking every run… · 3 marked"
        " · acc>'x': 'x' is not a number")


def test_the_count_line_says_how_far_the_check_of_every_run_is() -> None:
    assert count_line(80, 100_000, fold=False, checking=True, marked=0,
                      read=(2_000, 99_920)) == (
        "80 of 100000 runs · checking every run: 2,000 of 99,920 read")
    assert count_line(5, 5, fold=False, checking=False, marked=0, read=(5, 5)) == "5 runs"


def test_progress_is_passed_on_at_most_once_an_interval_first_and_last_always() -> None:
    now = [0.0]
    said: list[tuple[int, int]] = []
    progress = ThrottledProgress(lambda read, to_read: said.append((read, to_read)), 0.3,
                                 clock=lambda: now[0])
    for read, at in ((2000, 0.0), (4000, 0.1), (6000, 0.2), (8000, 0.35), (9000, 0.4)):
        now[0] = at
        progress(read, 9000)
    assert said == [(2000, 9000), (8000, 9000), (9000, 9000)]


def test_a_full_update_passes_its_progress_on(tmp_path: Path) -> None:
    generate_runs(tmp_path, 5)
    said: list[tuple[int, int]] = []
    update_index(RunStore(tmp_path), True, progress=lambda n, of: said.append((n, of)))
    assert said == [(5, 5)]


def test_an_empty_table_says_why_and_what_to_do() -> None:
    assert empty_hint(3, 3, where="runs", starting=False) is None
    assert empty_hint(0, 0, where="runs", starting=False) == (
        "No runs yet in runs.\nPress n to set up an experiment.")
    assert "the first one is starting" in (empty_hint(0, 0, where="runs", starting=True) or "")
    assert empty_hint(0, 5, where="runs", starting=False) == (
        "No run matches the filter. Press escape to clear it.")


def test_a_runs_dir_is_named_as_short_as_it_can_be(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.core.formatting import display_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path.parent))
    assert display_path(tmp_path / "runs") == "runs"
    assert display_path(tmp_path) == "."
    assert display_path(tmp_path.parent / "elsewhere") == "~/elsewhere"
    assert display_path(Path("/")) == "/"
