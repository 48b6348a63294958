"""A run from another terminal that ends is announced without loading scikit-learn on the UI
thread: the announcement asked whether a dashboard was open by importing the dashboard
module, which imports core/metrics.py and with it scikit-learn, scipy and pandas (the runs
screen froze 1-4 s under load, `bench/many_runs.py`'s live-status figure: a run's last
write, its new status, showed 4-5 s late while the others took under 1 s)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def test_an_outside_run_ending_is_announced_without_importing_the_dashboard(
        tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import asyncio, sys
        from densexp_tui.core.runstore import RunSummary
        from densexp_tui.tui.app import DensexpApp
        from densexp_tui.tui.run_watch import RunStatusesChanged
        from tests.tui.helpers_notes import record_notes

        async def main():
            app = DensexpApp(runs_dir={str(tmp_path / 'runs')!r})
            async with app.run_test(size=(80, 24)) as pilot:
                notes = record_notes(app)
                ended = RunSummary(run_id="20260101-000000-elsewhere-abcdef", name="elsewhere",
                                   status="completed", pid=1, best={{"accuracy": 0.9}})
                app.post_message(RunStatusesChanged([ended]))
                for _ in range(500):
                    if notes:
                        break
                    await pilot.pause(0.02)
                heavy = [m for m in ("sklearn", "scipy", "pandas") if m in sys.modules]
                print("NOTES", notes, "HEAVY", heavy)

        asyncio.run(main())
    """)
    env = {"DENSEXP_CONFIG_DIR": str(tmp_path / "config"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "NOTES ['elsewhere completed (best val accuracy 0.900)'] HEAVY []" in done.stdout, \
        done.stdout
