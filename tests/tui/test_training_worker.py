"""The training worker's body: the run's objects are frozen out of the garbage collector
while it trains (full collections over TensorFlow's heap stalled the UI ~300 ms), and
unfrozen when it ends, however it ends (frozen cycles are never collected)."""

from __future__ import annotations

import gc
import sys
import types
from typing import Any

import pytest

from densexp_tui.core.config import RunConfig
from densexp_tui.core.events import Event
from densexp_tui.tui.training import ActiveJob, TrainingJob, TrainingStarted, run_job


def fake_trainer(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any], *,
                 crash: bool = False) -> None:
    """densexp_tui.engine.trainer without TensorFlow: starts a run, notes the freeze."""

    def train(cfg: Any, store: Any, *, cancel: Any = None, on_event: Any = None) -> str:
        seen["before_start"] = gc.get_freeze_count()
        on_event(Event(seq=1, time=0.0, kind="run_started", data={"run_id": "r1"}))
        seen["while_training"] = gc.get_freeze_count()
        if crash:
            raise RuntimeError("the GPU caught fire")
        return "result"

    module = types.ModuleType("densexp_tui.engine.trainer")
    module.train = train  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "densexp_tui.engine.trainer", module)


@pytest.mark.parametrize("crash", [False, True])
def test_objects_are_frozen_while_the_run_trains_and_released_after(
        monkeypatch: pytest.MonkeyPatch, crash: bool) -> None:
    seen: dict[str, Any] = {}
    posted: list[Any] = []
    fake_trainer(monkeypatch, seen, crash=crash)
    gc.unfreeze()
    active = ActiveJob(TrainingJob(cfg=RunConfig()))
    if crash:
        with pytest.raises(RuntimeError):
            run_job(active.job, None, active, posted.append)  # type: ignore[arg-type]
    else:
        result = run_job(active.job, None, active, posted.append)  # type: ignore[arg-type]
        assert result == "result"
    assert seen["before_start"] == 0 and seen["while_training"] > 0
    assert gc.get_freeze_count() == 0
    assert active.done.is_set()
    assert [type(m) for m in posted] == [TrainingStarted]
