"""RunView: the dashboard's state, fed event by event (no Textual)."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

import pytest

from densexp_tui.core.events import Event
from densexp_tui.core.runview import DownsampledSeries, RunView

LABELS = ["neg", "pos"]


class Clock:
    """Hands out events with increasing seq and times one second apart."""

    def __init__(self, start: float = 1000.0) -> None:
        self.seq = 0
        self.time = start

    def event(self, kind: str, **data: object) -> Event:
        self.seq += 1
        self.time += 1.0
        return Event(seq=self.seq, time=self.time, kind=kind, data=dict(data))


def metrics(loss: float, accuracy: float, confusion: list[list[int]]) -> dict[str, object]:
    return {
        "loss": loss, "accuracy": accuracy, "precision": accuracy, "recall": accuracy,
        "f1": accuracy - 0.01, "confusion": confusion, "labels": LABELS,
        "per_class": {label: {"precision": accuracy, "recall": accuracy, "f1": accuracy,
                              "support": sum(row)}
                      for label, row in zip(LABELS, confusion, strict=True)},
    }


def started(clock: Clock, epochs: int = 3, steps_per_epoch: int = 10, **extra: object) -> Event:
    return clock.event(
        "run_started", run_id="r1", name="demo", config_hash="abc", device="cpu",
        labels=LABELS, sizes={"train": 100, "val": 20, "test": 20},
        params={"trainable": 250, "total": 1000}, epochs=epochs,
        steps_per_epoch=steps_per_epoch, batch_size=8, finetune="lora", model="tiny-bert",
        dataset="reviews", **extra)


def step(clock: Clock, epoch: int, number: int, loss: float | None = 0.5) -> Event:
    return clock.event("step", epoch=epoch, step=number, loss=loss, accuracy=0.7,
                       learning_rate=1e-3, samples_per_sec=64.0)


def epoch_event(clock: Clock, epoch: int, val_loss: float, best: int,
                patience_left: int | None) -> Event:
    confusion = [[8 + epoch, 2 - min(epoch, 2)], [3, 7 + epoch]]
    return clock.event("epoch", epoch=epoch, train={"loss": 0.4, "accuracy": 0.8},
                       val=metrics(val_loss, 0.7 + epoch / 100, confusion), best_epoch=best,
                       patience_left=patience_left, elapsed=10.0 * epoch)


def test_header_from_run_started() -> None:
    view = RunView()
    view.apply(started(Clock()))
    assert view.status == "running"
    assert view.header.name == "demo"
    assert view.header.device == "cpu"
    assert (view.header.trainable_params, view.header.total_params) == (250, 1000)
    assert view.header.trainable_fraction == pytest.approx(0.25)
    assert (view.header.dataset, view.header.model, view.header.finetune) == (
        "reviews", "tiny-bert", "lora")
    assert view.labels == LABELS


def test_progress_counts_steps_within_the_epoch_and_estimates_eta() -> None:
    clock = Clock()
    view = RunView()
    view.apply(started(clock, epochs=2, steps_per_epoch=10))
    for number in range(1, 14):
        view.apply(step(clock, 1 if number <= 10 else 2, number))
    progress = view.progress()
    assert (progress.epoch, progress.step_in_epoch, progress.steps_per_epoch) == (2, 3, 10)
    assert progress.samples_per_sec == 64.0
    assert progress.fraction == pytest.approx(13 / 20)
    # One second per step (the clock), 7 steps to go.
    assert progress.eta == pytest.approx(7.0)
    assert progress.elapsed == pytest.approx(13.0)


def test_progress_before_the_first_step_is_zero() -> None:
    view = RunView()
    view.apply(started(Clock(), epochs=2, steps_per_epoch=10))
    progress = view.progress()
    assert (progress.epoch, progress.step_in_epoch, progress.fraction) == (0, 0, 0.0)
    assert progress.eta is None


def test_live_clock_keeps_elapsed_ticking_and_eta_falling() -> None:
    clock = Clock()
    view = RunView()
    view.apply(started(clock, epochs=1, steps_per_epoch=10))
    view.apply(step(clock, 1, 1))
    view.apply(step(clock, 1, 2))
    later = clock.time + 3.0
    progress = view.progress(now=later)
    assert progress.elapsed == pytest.approx(later - (clock.time - 2.0))
    assert progress.eta == pytest.approx(8.0 - 3.0)


def test_epochs_keep_confusion_per_class_and_early_stopping() -> None:
    clock = Clock()
    view = RunView()
    view.apply(started(clock))
    view.apply(epoch_event(clock, 1, 0.6, best=1, patience_left=2))
    view.apply(epoch_event(clock, 2, 0.5, best=2, patience_left=2))
    view.apply(epoch_event(clock, 3, 0.55, best=2, patience_left=1))
    assert view.epoch_numbers == [1, 2, 3]
    matrix, labels = view.confusion()
    assert matrix == [[11, 0], [3, 10]] and labels == LABELS
    assert view.confusion(1)[0] == [[9, 1], [3, 8]]
    assert view.per_class(2)["neg"]["support"] == 10
    assert view.val_series("loss") == [(1, 0.6), (2, 0.5), (3, 0.55)]
    assert view.best_value("loss") == 0.5
    assert view.best_value("accuracy") == pytest.approx(0.73)
    stopping = view.early_stopping
    assert (stopping.best_epoch, stopping.patience_left, stopping.enabled) == (2, 1, True)
    assert stopping.best["loss"] == 0.5


def test_early_stopping_off_when_patience_is_null() -> None:
    clock = Clock()
    view = RunView()
    view.apply(started(clock))
    view.apply(epoch_event(clock, 1, 0.6, best=1, patience_left=None))
    assert not view.early_stopping.enabled


def test_val_points_sit_at_each_epochs_last_step() -> None:
    clock = Clock()
    view = RunView()
    view.apply(started(clock, steps_per_epoch=10))
    for number in range(1, 11):
        view.apply(step(clock, 1, number))
    view.apply(epoch_event(clock, 1, 0.6, best=1, patience_left=None))
    assert view.val_series_by_step("loss") == [(10.0, 0.6)]


def test_test_status_and_run_finished() -> None:
    clock = Clock()
    view = RunView()
    view.apply(started(clock))
    view.apply(clock.event("test", **metrics(0.4, 0.8, [[9, 1], [2, 8]]), report="..."))
    view.apply(clock.event("status", status="running", message="evaluating"))
    assert view.message == "evaluating"
    view.apply(clock.event("run_finished", status="completed", best_epoch=2,
                           best={"loss": 0.5, "accuracy": 0.72, "f1": 0.71}, test=None,
                           duration=42.0, message=""))
    assert view.finished and view.status == "completed"
    assert view.test is not None and view.test["accuracy"] == 0.8
    assert view.best_epoch == 2
    assert view.progress().elapsed == 42.0
    assert view.progress().eta == 0.0


def test_diverged_run_skips_null_losses() -> None:
    clock = Clock()
    view = RunView()
    view.apply(started(clock))
    view.apply(step(clock, 1, 1, loss=0.7))
    view.apply(step(clock, 1, 2, loss=None))
    view.apply(clock.event("run_finished", status="diverged", best_epoch=None, best={},
                           test=None, duration=3.0, message="loss became NaN at step 2"))
    assert len(view.train_loss) == 1
    assert view.status == "diverged"
    assert "NaN" in view.message


def test_unknown_kinds_are_counted_not_fatal() -> None:
    view = RunView()
    view.apply(Clock().event("checkpoint_saved", path="x"))
    assert view.unknown_events == 1 and view.events_applied == 1


def test_reset_forgets_everything() -> None:
    clock = Clock()
    view = RunView()
    view.apply(started(clock))
    view.apply(step(clock, 1, 1))
    view.reset()
    assert view.status == "waiting" and len(view.train_loss) == 0 and not view.epochs


def test_downsampled_series_stays_small_and_keeps_the_mean() -> None:
    series = DownsampledSeries(max_points=100)
    for x in range(10_000):
        series.add(x, 2.0 * x)
    points = series.points()
    assert len(points) <= 100
    assert series.raw_count == 10_000
    # Every stored point is the mean of equal buckets: y stays exactly 2x.
    assert all(y == pytest.approx(2 * x) for x, y in points)
    assert points[0][0] < 100 and points[-1][0] > 9_800
    assert series.last == (9_999, 19_998.0)


def test_downsampled_series_keeps_short_series_exact() -> None:
    series = DownsampledSeries(max_points=100)
    for x in range(50):
        series.add(x, x * x)
    assert series.points() == [(x, x * x) for x in range(50)]


def test_long_step_series_stay_bounded_in_memory() -> None:
    clock = Clock()
    view = RunView()
    view.apply(started(clock, epochs=100, steps_per_epoch=100))
    step_event = step(clock, 1, 1)
    tracemalloc.start()
    for number in range(1, 10_001):  # the bound does not depend on the count (see bench/)
        view._on_step(Event(step_event.seq, step_event.time + number, "step",
                            {**step_event.data, "step": number, "epoch": 1 + number // 100}))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(view.train_loss) <= 2_000
    assert peak < 2_000_000  # bytes: three series of at most 2,000 points


def test_core_runview_imports_neither_textual_nor_tensorflow() -> None:
    code = ("import sys, densexp_tui.core.runview; "
            "print(any(m.split('.')[0] in ('textual', 'tensorflow') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_resumed_run_forgets_the_steps_it_redoes() -> None:
    from densexp_tui.core.events import Event
    from densexp_tui.core.runview import RunView

    view = RunView()
    seq = iter(range(1, 1000))
    view.apply(Event(next(seq), 0.0, "run_started", {"epochs": 3, "steps_per_epoch": 10}))
    for step in range(1, 16):  # epoch 1 complete, epoch 2 killed half-way
        view.apply(Event(next(seq), step, "step", {"epoch": 1 + (step > 10), "step": step,
                                                   "loss": 1.0}))
    view.apply(Event(next(seq), 20.0, "status", {"status": "resumed", "from_step": 10}))
    assert max(x for x, _ in view.train_loss.points()) <= 10
    view.apply(Event(next(seq), 21.0, "step", {"epoch": 2, "step": 11, "loss": 0.5}))
    assert view.train_loss.points()[-1] == (11, 0.5)
    assert view.status == "resumed" and not view.finished


def test_a_run_resumed_on_another_gpu_shows_the_devices_it_trains_on_now() -> None:
    clock = Clock()
    view = RunView()
    view.apply(clock.event("run_started", epochs=3, steps_per_epoch=10, replicas=["gpu:0"],
                           visible_gpus="1"))
    assert (view.header.replicas, view.header.visible_gpus) == (["gpu:0"], "1")
    view.apply(clock.event("status", status="resumed", from_step=10, replicas=["gpu:0"],
                           visible_gpus="0"))
    assert (view.header.replicas, view.header.visible_gpus) == (["gpu:0"], "0")
    view.apply(clock.event("status", status="resumed", from_step=20))  # an older writer's
    assert view.header.visible_gpus == "0"
