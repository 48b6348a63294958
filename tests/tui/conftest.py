"""TUI fixtures: an isolated config dir, stable clocks and catalogs, one app factory.

Every test that builds the app through ``make_app`` gets its own settings dir
($DENSEXP_CONFIG_DIR), an empty Hugging Face cache and Keras cache (so catalog lists do not
depend on the machine), a working directory of its own (./models is scanned) and UTC local
time (start times in the runs table are stable).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from densexp_tui.core.config import RunConfig, apply_overrides, config_hash, dumps_config
from densexp_tui.tui.app import DensexpApp

# 2025-03-01 09:00:00 UTC: fixed times keep the runs table (and its snapshot) stable.
BASE_TIME = 1_740_819_600.0
# (name, status, dataset, model, finetune, accuracy, f1, epochs_done, epochs, minutes,
#  trainable, total); newest last (the table shows newest first).
FIXTURE_RUNS: list[tuple[Any, ...]] = [
    ("quickstart", "completed", "reviews", "tiny-bert", "full", 0.873, 0.869, 3, 3, 4.2,
     107_331, 107_331),
    ("iris-mlp", "completed", "iris", "mlp", "full", 0.967, 0.966, 20, 20, 0.4, 5_443, 5_443),
    ("lora-r8", "completed", "reviews", "tiny-bert", "lora", 0.812, 0.806, 5, 5, 3.1,
     4_611, 111_942),
    ("lr-too-high", "diverged", "reviews", "tiny-bert", "full", None, None, 1, 5, 0.6,
     107_331, 107_331),
    ("big-batch", "failed", "reviews", "tiny-bert", "head", None, None, 0, 3, 0.1, 195,
     107_331),
    ("wine-long", "cancelled", "wine", "mlp", "full", 0.944, 0.941, 7, 50, 1.5, 10_115,
     10_115),
    ("imdb-bitfit", "interrupted", "imdb", "tiny-bert", "bitfit", 0.701, 0.698, 2, 4, None,
     1_543, 107_331),
]


@pytest.fixture
def tui_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings, caches, cwd and clock of the test's own."""
    config_dir = tmp_path / "config"
    monkeypatch.setenv("DENSEXP_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield config_dir
    monkeypatch.undo()
    time.tzset()


def write_fixture_run(root: Path, index: int, spec: tuple[Any, ...]) -> str:
    """One run folder with config.toml and summary.json (no events: the table needs none)."""
    (name, status, dataset, model, finetune, accuracy, f1, done, epochs, minutes,
     trainable, total) = spec
    started = BASE_TIME + index * 3600
    run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(started)) + f"-{name}-{index:06x}"
    source = "keras" if dataset == "imdb" else "builtin"
    cfg = apply_overrides(RunConfig(), [
        f"run.name={name}", f"data.source={source}", f"data.name={dataset}",
        f"model.name={model}", f"model.finetune={finetune}", f"train.epochs={epochs}"])
    folder = root / run_id
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(dumps_config(cfg))
    best = {} if accuracy is None else {"loss": 0.4, "accuracy": accuracy, "f1": f1}
    summary = {
        "run_id": run_id, "name": name, "status": status, "dataset": dataset, "model": model,
        "finetune": finetune, "started": started,
        "finished": None if minutes is None else started + minutes * 60,
        "duration": None if minutes is None else minutes * 60,
        "best_epoch": done or None, "best": best, "params": {"trainable": trainable,
                                                             "total": total},
        "epochs_done": done, "epochs": epochs, "pid": None, "host": "fixture",
        "config_hash": config_hash(cfg),
        "message": "loss became NaN" if status == "diverged" else "",
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    return run_id


@pytest.fixture
def fixture_runs(runs_dir: Path) -> Path:
    """A runs directory with seven finished runs of every status, at fixed times."""
    for index, spec in enumerate(FIXTURE_RUNS):
        write_fixture_run(runs_dir, index, spec)
    return runs_dir


@pytest.fixture
def make_app(runs_dir: Path, tui_environment: Path) -> Callable[..., DensexpApp]:
    """The one app factory of the TUI tests and snapshots."""

    def factory(**kwargs: Any) -> DensexpApp:
        kwargs.setdefault("runs_dir", runs_dir)
        return DensexpApp(**kwargs)

    return factory


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 120.0,
                   step: float = 0.1) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {condition}")
        await pilot.pause(step)


def cells(app: DensexpApp) -> list[list[str]]:
    """The runs table as plain text rows."""
    from textual.widgets import DataTable

    table = app.screen.query_one("#runs-table", DataTable)
    return [[str(getattr(c, "plain", c)) for c in table.get_row_at(i)]
            for i in range(table.row_count)]



def shown_error_dialog(app: Any) -> Any:
    """The error dialog once the user sees it (composed, Close focused), else None.

    ``app.screen`` is the dialog as soon as it is pushed, before its widgets exist: waiting
    for that alone races with its mounting."""
    from textual.widgets import Button

    from densexp_tui.tui.dialogs import ErrorDialog

    dialog = app.screen
    if not isinstance(dialog, ErrorDialog):
        return None
    focused = dialog.focused
    return dialog if isinstance(focused, Button) and focused.id == "close" else None
