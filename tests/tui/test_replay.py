"""Replays: catching up on big logs, and the replay dashboard keys (ReplaySource itself:
tests/unit/test_sources.py)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen

from densexp_tui.core import events as event_log
from densexp_tui.core.events import EventFollower
from densexp_tui.tui.screens.dashboard import DashboardScreen
from densexp_tui.tui.widgets.confusion import ConfusionMatrix
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import (
    DATA_RUNS,
    QUICKSTART,
    ScreenTestApp,
    synthetic_events,
)

RUN_DIR = DATA_RUNS / QUICKSTART.run_id
EVENTS = RUN_DIR / "events.jsonl"


# -- catching up on big logs -------------------------------------------------------------------
def test_log_tail_thins_steps_of_a_big_backlog_but_keeps_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = QUICKSTART
    events = synthetic_events(spec)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(e.to_json() + "\n" for e in events))
    monkeypatch.setattr(event_log, "CATCH_UP_MIN_BYTES", 1024)
    monkeypatch.setattr(event_log, "TYPICAL_STEP_LINE_BYTES", 150)
    tail = EventFollower(path, catch_up_steps=20)
    kept = [event for _, event in tail.read()]
    steps_in_log = sum(e.kind == "step" for e in events)
    steps_kept = [e for e in kept if e.kind == "step"]
    # About catch_up_steps step events survive (the stride comes from an estimate).
    assert 10 <= len(steps_kept) < steps_in_log / 2
    assert [e.seq for e in kept if e.kind != "step"] == [
        e.seq for e in events if e.kind != "step"]
    # The step just before each epoch event is kept, so each epoch ends at its true step.
    for index, event in enumerate(kept):
        if event.kind == "epoch":
            assert kept[index - 1].kind == "step"
            assert kept[index - 1].data["step"] == event.data["epoch"] * spec.steps_per_epoch
    assert tail.lines_read == len(events)


def test_log_tail_falls_back_to_every_line_when_kinds_are_unexpected(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = synthetic_events(QUICKSTART)
    path = tmp_path / "events.jsonl"
    lines = [e.to_json() for e in events]
    lines.insert(10, '{"v":1,"seq":0,"time":0,"kind":"checkpoint","path":"x"}')
    lines.insert(20, '{"truncated')
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(event_log, "CATCH_UP_MIN_BYTES", 1024)
    tail = EventFollower(path, catch_up_steps=20)
    kept = tail.read()
    assert len(kept) == len(events) + 1 and tail.skipped == 1
    assert [number for number, _ in kept][:12] == list(range(1, 13))


def test_log_tail_reads_every_line_of_a_small_log(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(EVENTS.read_bytes() + b'{"v":1,"seq":999,"ti')  # half-written last line
    tail = EventFollower(path)
    assert len(tail.read()) == len(synthetic_events(QUICKSTART))
    assert tail.skipped == 0


# -- the replay dashboard ----------------------------------------------------------------------
def replay_app(speed: float | None = None) -> ScreenTestApp:
    return ScreenTestApp(lambda: DashboardScreen(RUN_DIR, "replay", None, replay_speed=speed))


def dashboard(app: ScreenTestApp) -> DashboardScreen:
    screen = app.screen
    assert isinstance(screen, DashboardScreen)
    return screen


async def test_replay_reaches_the_last_epoch_and_shows_its_confusion_matrix() -> None:
    app = replay_app(speed=None)
    expected = synthetic_events(QUICKSTART)
    last_epoch = [e for e in expected if e.kind == "epoch"][-1]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).source_finished)
        screen = dashboard(app)
        assert screen.view.latest_epoch == 5 and screen.view.status == "completed"
        matrix = screen.query_one("#confusion", ConfusionMatrix)
        # Drawn by the next redraw tick (about 10 a second), which a loaded machine delays.
        await wait_for(pilot, lambda: matrix.matrix == last_epoch.data["val"]["confusion"],
                       timeout=30)
        shown = matrix.render().plain
        for label in ("negative", "neutral", "positive"):
            assert label[:6] in shown
        for row in last_epoch.data["val"]["confusion"]:
            for count in row:
                assert str(count) in shown
        assert "epoch 5" in shown


async def test_speed_and_pause_keys_drive_the_source() -> None:
    app = replay_app(speed=10.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        replay = dashboard(app).replay
        assert replay is not None
        await pilot.press("1")
        assert replay.speed == 1.0
        await pilot.press("2")
        assert replay.speed == 10.0
        await pilot.press("space")
        assert replay.paused
        await pilot.press("space")
        assert not replay.paused
        await pilot.press("3")
        assert replay.speed is None
        await wait_for(pilot, lambda: dashboard(app).source_finished)


async def test_scrubbing_moves_between_epochs_and_end_jumps_back() -> None:
    app = replay_app(speed=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).source_finished)
        screen = dashboard(app)
        await pilot.press("comma")
        await wait_for(pilot, lambda: screen.view.latest_epoch == 4
                       and not screen.view.finished)
        assert screen.replay is not None and screen.replay.paused
        await pilot.press("comma", "comma")
        await wait_for(pilot, lambda: screen.view.latest_epoch == 2)
        assert len(screen.view.epochs) == 2
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: screen.view.latest_epoch == 3)
        await pilot.press("e")
        await wait_for(pilot, lambda: screen.view.finished and screen.source_finished)
        assert screen.view.latest_epoch == 5


async def test_restart_plays_again_from_the_start_at_10x() -> None:
    app = replay_app(speed=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and dashboard(app).source_finished)
        screen = dashboard(app)
        await pilot.press("0")
        await wait_for(pilot, lambda: screen.view.latest_epoch is None)
        assert screen.replay is not None and screen.replay.speed == 10.0
        assert not screen.replay.paused


async def test_rerun_opens_new_experiment_with_this_run_as_parent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    opened: dict[str, Any] = {}

    class FakeNewExperiment(Screen[None]):
        def __init__(self, config: Any = None, parent: str | None = None) -> None:
            super().__init__()
            opened.update(config=config, parent=parent)

    module = types.ModuleType("densexp_tui.tui.screens.new_experiment")
    module.NewExperimentScreen = FakeNewExperiment  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "densexp_tui.tui.screens.new_experiment", module)
    app = replay_app(speed=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, FakeNewExperiment))
    assert opened["parent"] == QUICKSTART.run_id
    assert opened["config"].run.parent == QUICKSTART.run_id
    assert opened["config"].train.epochs == 5
