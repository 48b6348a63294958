"""The runs screen over a runs dir with no index yet (``rm -rf RUNS/.densexp-index``): the
line under the table says how far the check of every run is, then the plain count.

COUNT spans three of the index's batches (BATCH_ROWS), so the first report (always passed
on) comes before the last. The test records every text the line was given instead of
looking at the screen while the check runs (the line changes as it goes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.visual import VisualType
from textual.widgets import Static

from densexp_tui.core.runindex import BATCH_ROWS
from densexp_tui.tui.app import DensexpApp
from tests.runs_factory import generate_runs
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.timeout(240)
COUNT = BATCH_ROWS * 2 + BATCH_ROWS // 4
PROGRESS = re.compile(r"checking every run: ([\d,]+) of ([\d,]+) read")


def record_queue_lines(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the runs screen's line under the table is given, in order."""
    texts: list[str] = []
    update = Static.update

    def recording(self: Static, content: VisualType = "", *, layout: bool = True) -> None:
        if self.id == "queue-line":
            texts.append(str(content))
        update(self, content, layout=layout)

    monkeypatch.setattr(Static, "update", recording)
    return texts


async def test_a_cold_check_says_how_many_summaries_it_has_read(
        make_app: Callable[..., DensexpApp], runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    generate_runs(runs_dir, COUNT)
    assert not (runs_dir / ".densexp-index").exists()
    texts = record_queue_lines(monkeypatch)
    app = make_app(runs_dir=runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        # The plain count stays once the check has ended (nothing else changes then).
        await wait_for(pilot, lambda: bool(texts) and texts[-1] == f"{COUNT} runs",
                       timeout=180)
    reports = [(int(m[1].replace(",", "")), int(m[2].replace(",", "")))
               for m in map(PROGRESS.search, texts) if m]
    assert reports, texts
    # M: the summaries the check reads (the first rows, read from their folders, are not).
    to_read = reports[-1][1]
    assert COUNT - 2 * BATCH_ROWS < to_read <= COUNT
    assert any(read < to_read for read, _ in reports), reports
    assert reports[-1] == (to_read, to_read)  # the last report before the line is the count
    assert {of for _, of in reports} == {to_read}
    assert [read for read, _ in reports] == sorted(read for read, _ in reports)
    assert "checking" not in texts[-1]
