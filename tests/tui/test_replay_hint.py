"""What a finished replay tells the user, as painted at 80 columns: which key plays it again,
whole, even beside a long throughput line (a new user saw "replay done · 0 restart", cut)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from textual.geometry import Region

from densexp_tui.tui.screens.dashboard import REPLAY_FINISHED_NOTE, DashboardScreen
from densexp_tui.tui.widgets.progress import ProgressPanel
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import DATA_RUNS, QUICKSTART, ScreenTestApp

pytestmark = pytest.mark.timeout(120)


def text_run(tmp_path: Path) -> Path:
    """The quickstart fixture run with what a real text run reports: thousands of samples a
    second and the share of real tokens, so the line under the progress bar is full."""
    run_dir = tmp_path / QUICKSTART.run_id
    shutil.copytree(DATA_RUNS / QUICKSTART.run_id, run_dir)
    lines = []
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["kind"] == "step":
            event["samples_per_sec"] = 12345.6
        if event["kind"] == "epoch":
            event["tokens"] = {"real": 8700, "padded": 10000}
        lines.append(json.dumps(event))
    (run_dir / "events.jsonl").write_text("\n".join(lines) + "\n")
    return run_dir


def painted(panel: ProgressPanel) -> str:
    width, height = panel.region.size  # with its padding, as on the screen
    return "\n".join(strip.text for strip in panel.render_lines(Region(0, 0, width, height)))


async def test_a_finished_replay_says_which_key_plays_it_again_at_80_columns(
        tmp_path: Path) -> None:
    run_dir = text_run(tmp_path)
    app = ScreenTestApp(lambda: DashboardScreen(run_dir, "replay", None, replay_speed=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.source_finished)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        panel = screen.query_one(ProgressPanel)
        await wait_for(pilot, lambda: panel.note == REPLAY_FINISHED_NOTE)  # drawn (throttled)
        await pilot.pause()
        shown = painted(panel)
        assert "replay finished · 0 plays it again" in shown and REPLAY_FINISHED_NOTE in shown
        assert "12,346 samples/s" in shown and "87% real tokens" in shown
        await pilot.press("0")  # the key the hint names does what it says
        await wait_for(pilot, lambda: "replay ▶ 10x" in painted(panel))
