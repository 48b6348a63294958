"""The state of one run's dashboard, built by applying its events in order.

``RunView`` knows nothing about Textual or where events come from (a live log, a followed
detached run, a replay): the dashboard and the compare screen feed it ``Event`` objects and
render what it holds. Step series are downsampled as they grow, so a log with a million step
events costs a few hundred kilobytes here, not hundreds of megabytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, TypeGuard

from densexp_tui.core.events import Event
from densexp_tui.core.tokens import padding_efficiency

# Enough points for any terminal chart (a 200-column braille chart has 400 dots across) while
# keeping a series at a few tens of kilobytes whatever the length of the run.
MAX_SERIES_POINTS = 2000

# Metrics where lower is better; every other metric is better when higher.
LOWER_IS_BETTER = frozenset({"loss"})


class DownsampledSeries:
    """(x, y) points kept under ``max_points`` by merging neighbours.

    Points are summed into buckets of ``bucket_size`` raw points; a full bucket becomes one
    stored point (the mean of its xs and ys). When the stored points reach ``max_points``,
    neighbouring pairs merge and the bucket size doubles, so every stored point always stands
    for the same number of raw points and a plain mean of two is exact. Adding is O(1)
    amortised and memory never exceeds ``max_points`` pairs.
    """

    __slots__ = ("max_points", "bucket_size", "xs", "ys", "raw_count", "last",
                 "_sum_x", "_sum_y", "_pending")

    def __init__(self, max_points: int = MAX_SERIES_POINTS) -> None:
        if max_points < 2:
            raise ValueError("max_points must be at least 2")
        self.max_points = max_points - max_points % 2  # pairs merge cleanly
        self.bucket_size = 1
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.raw_count = 0
        self.last: tuple[float, float] | None = None
        self._sum_x = 0.0
        self._sum_y = 0.0
        self._pending = 0

    def add(self, x: float, y: float) -> None:
        """Add one raw point; x must not decrease (steps only go forward)."""
        self.raw_count += 1
        self.last = (x, y)
        self._sum_x += x
        self._sum_y += y
        self._pending += 1
        if self._pending >= self.bucket_size:
            self._flush_bucket()

    def _flush_bucket(self) -> None:
        self._flush_bucket_partial()
        if len(self.xs) >= self.max_points:
            self._merge_neighbours()

    def _merge_neighbours(self) -> None:
        """Halve the stored points: each new point is the mean of two equal buckets."""
        xs, ys = self.xs, self.ys
        self.xs = [(xs[i] + xs[i + 1]) * 0.5 for i in range(0, len(xs) - 1, 2)]
        self.ys = [(ys[i] + ys[i + 1]) * 0.5 for i in range(0, len(ys) - 1, 2)]
        self.bucket_size *= 2

    def drop_after(self, x: float) -> None:
        """Forget points past ``x``: a resumed run redoes the steps after its checkpoint."""
        if self._pending:
            self._flush_bucket_partial()
        keep = sum(1 for value in self.xs if value <= x)
        del self.xs[keep:], self.ys[keep:]
        if self.last is not None and self.last[0] > x:
            self.last = (self.xs[-1], self.ys[-1]) if self.xs else None

    def _flush_bucket_partial(self) -> None:
        self.xs.append(self._sum_x / self._pending)
        self.ys.append(self._sum_y / self._pending)
        self._sum_x = self._sum_y = 0.0
        self._pending = 0

    def points(self) -> list[tuple[float, float]]:
        """The stored points plus the partly filled bucket, so the newest data always shows."""
        points = list(zip(self.xs, self.ys, strict=True))
        if self._pending:
            points.append((self._sum_x / self._pending, self._sum_y / self._pending))
        return points

    def __len__(self) -> int:
        return len(self.xs) + (1 if self._pending else 0)


@dataclass
class RunHeader:
    """Who the run is: everything the run_started event tells."""

    run_id: str = ""
    name: str = ""
    device: str = ""
    replicas: list[str] = field(default_factory=list)  # devices it trains on (run_started)
    visible_gpus: str | None = None  # CUDA_VISIBLE_DEVICES it saw (a sweep --gpus worker)
    dataset: str = ""
    model: str = ""
    finetune: str = ""
    config_hash: str = ""
    labels: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    trainable_params: int | None = None
    total_params: int | None = None
    epochs: int = 0
    steps_per_epoch: int = 0
    batch_size: int = 0

    @property
    def trainable_fraction(self) -> float | None:
        if not self.total_params or self.trainable_params is None:
            return None
        return self.trainable_params / self.total_params


@dataclass
class EpochRecord:
    """One finished epoch: train metrics, validation METRICS and early-stopping state."""

    epoch: int
    train: dict[str, Any]
    val: dict[str, Any]
    best_epoch: int | None
    patience_left: int | None
    elapsed: float | None
    end_step: int

    @property
    def labels(self) -> list[str]:
        return list(self.val.get("labels") or [])

    @property
    def confusion(self) -> list[list[int]]:
        return self.val.get("confusion") or []

    @property
    def per_class(self) -> dict[str, dict[str, float]]:
        return self.val.get("per_class") or {}


@dataclass
class Progress:
    """Where the run is, for the progress panel."""

    epoch: int
    epochs: int
    step_in_epoch: int
    steps_per_epoch: int
    global_step: int
    total_steps: int
    samples_per_sec: float | None
    learning_rate: float | None
    elapsed: float | None
    eta: float | None
    fraction: float
    # Real / padded tokens of the last epoch's train split (text models; None before one).
    padding_efficiency: float | None = None


@dataclass
class EarlyStopping:
    """Best epoch so far and how much patience is left (None when early stopping is off)."""

    best_epoch: int | None
    patience_left: int | None
    best: dict[str, Any]

    @property
    def enabled(self) -> bool:
        return self.patience_left is not None


class RunView:
    """Dashboard state of one run; ``apply`` each event in order (any source)."""

    def __init__(self, max_points: int = MAX_SERIES_POINTS) -> None:
        self.max_points = max_points
        self.reset()

    def reset(self) -> None:
        """Forget everything (a replay that scrubs backwards starts over)."""
        self.header = RunHeader()
        self.status = "waiting"
        self.message = ""
        self.started_at: float | None = None
        self.last_time: float | None = None
        self.duration: float | None = None
        self.finished = False
        self.train_loss = DownsampledSeries(self.max_points)
        self.loss_includes_smoothing = False  # step events say whether the train loss does
        self.loss_excludes_adversarial = False  # FGM: the shown train loss is the clean one
        self.train_accuracy = DownsampledSeries(self.max_points)
        self.learning_rate = DownsampledSeries(self.max_points)
        self.epochs: dict[int, EpochRecord] = {}
        self.test: dict[str, Any] | None = None
        self.best_epoch: int | None = None
        self.best: dict[str, Any] = {}
        self.patience_left: int | None = None
        self.current_epoch = 0
        self.global_step = 0
        self.samples_per_sec: float | None = None
        self.padding_efficiency: float | None = None
        self.current_lr: float | None = None
        self.events_applied = 0
        self.unknown_events = 0
        # Throughput base for the ETA: the first step event after (re)start.
        self._rate_base: tuple[float, int] | None = None
        self._rate_last: tuple[float, int] | None = None
        # Bumped by every applied event so renderers can skip work when nothing changed.
        self.version = 0

    # -- applying events ----------------------------------------------------------------------
    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: Event) -> None:
        handler = self._HANDLERS.get(event.kind)
        if handler is None:
            self.unknown_events += 1  # newer writers may add kinds; old viewers skip them
        else:
            handler(self, event)
        self.last_time = event.time if self.last_time is None else max(self.last_time, event.time)
        self.events_applied += 1
        self.version += 1

    def _on_run_started(self, event: Event) -> None:
        data = event.data
        params = data.get("params") or {}
        self.header = RunHeader(
            run_id=str(data.get("run_id", "")),
            name=str(data.get("name", "")),
            device=str(data.get("device", "")),
            replicas=[str(name) for name in data.get("replicas") or []],
            visible_gpus=data.get("visible_gpus"),
            dataset=str(data.get("dataset", "")),
            model=str(data.get("model", "")),
            finetune=str(data.get("finetune", "")),
            config_hash=str(data.get("config_hash", "")),
            labels=[str(label) for label in data.get("labels") or []],
            sizes=dict(data.get("sizes") or {}),
            trainable_params=params.get("trainable"),
            total_params=params.get("total"),
            epochs=int(data.get("epochs") or 0),
            steps_per_epoch=int(data.get("steps_per_epoch") or 0),
            batch_size=int(data.get("batch_size") or 0),
        )
        if self.started_at is None:  # a resumed run keeps its original start
            self.started_at = event.time
        self.status = "running"
        self.finished = False
        self._rate_base = None  # throughput after a resume says nothing about before

    def _on_step(self, event: Event) -> None:
        data = event.data
        step = _as_int(data.get("step"), self.global_step + 1)
        self.global_step = step
        self.current_epoch = _as_int(data.get("epoch"), self.current_epoch or 1)
        loss, accuracy = data.get("loss"), data.get("accuracy")
        if _is_number(loss):
            self.train_loss.add(step, float(loss))
        # Label smoothing raises the train loss; val loss stays plain cross-entropy.
        self.loss_includes_smoothing = data.get("loss_includes_smoothing") is True
        self.loss_excludes_adversarial = data.get("loss_excludes_adversarial") is True
        if _is_number(accuracy):
            self.train_accuracy.add(step, float(accuracy))
        learning_rate = data.get("learning_rate")
        if _is_number(learning_rate):
            self.learning_rate.add(step, float(learning_rate))
            self.current_lr = float(learning_rate)
        if _is_number(data.get("samples_per_sec")):
            self.samples_per_sec = float(data["samples_per_sec"])
        self._note_throughput(event.time, step)

    def _note_throughput(self, time: float, step: int) -> None:
        if self._rate_base is None:
            self._rate_base = (time, step)
        self._rate_last = (time, step)

    def _on_epoch(self, event: Event) -> None:
        data = event.data
        epoch = _as_int(data.get("epoch"), len(self.epochs) + 1)
        end_step = self.global_step or epoch * self.header.steps_per_epoch
        self.epochs[epoch] = EpochRecord(
            epoch=epoch,
            train=dict(data.get("train") or {}),
            val=dict(data.get("val") or {}),
            best_epoch=data.get("best_epoch"),
            patience_left=data.get("patience_left"),
            elapsed=data.get("elapsed"),
            end_step=end_step,
        )
        self.current_epoch = epoch
        efficiency = padding_efficiency(data.get("tokens"))
        if efficiency is not None:
            self.padding_efficiency = efficiency
        self.best_epoch = data.get("best_epoch", self.best_epoch)
        self.patience_left = data.get("patience_left")
        if self.best_epoch in self.epochs:
            self.best = self.epochs[self.best_epoch].val

    def _on_test(self, event: Event) -> None:
        self.test = dict(event.data)

    def _on_status(self, event: Event) -> None:
        self.status = str(event.data.get("status", self.status))
        self.message = str(event.data.get("message") or "")
        if self.status == "resumed":
            self._on_resumed(event.data)

    def _on_resumed(self, data: dict[str, Any]) -> None:
        """The run goes on from its last checkpoint: steps logged after it are redone."""
        self.finished = False
        from_step = _as_int(data.get("from_step"), self.global_step)
        for series in (self.train_loss, self.train_accuracy, self.learning_rate):
            series.drop_after(from_step)
        self.global_step = from_step
        self._rate_base = None
        if "replicas" in data:  # the resuming process may train on other devices
            self.header.replicas = [str(name) for name in data.get("replicas") or []]
            self.header.visible_gpus = data.get("visible_gpus")

    def _on_run_finished(self, event: Event) -> None:
        data = event.data
        self.status = str(data.get("status", "completed"))
        self.message = str(data.get("message") or self.message)
        self.finished = True
        self.duration = data.get("duration")
        if data.get("best_epoch") is not None:
            self.best_epoch = data["best_epoch"]
        if data.get("best"):
            self.best = dict(data["best"])
        if data.get("test") and self.test is None:
            self.test = dict(data["test"])

    _HANDLERS = {
        "run_started": _on_run_started,
        "step": _on_step,
        "epoch": _on_epoch,
        "test": _on_test,
        "status": _on_status,
        "run_finished": _on_run_finished,
    }

    # -- reading state ------------------------------------------------------------------------
    @property
    def epoch_numbers(self) -> list[int]:
        return sorted(self.epochs)

    @property
    def latest_epoch(self) -> int | None:
        return max(self.epochs) if self.epochs else None

    @property
    def labels(self) -> list[str]:
        """Label order: the latest confusion matrix's, else the run_started labels."""
        latest = self.latest_epoch
        if latest is not None and self.epochs[latest].labels:
            return self.epochs[latest].labels
        return list(self.header.labels)

    def epoch_record(self, epoch: int | None = None) -> EpochRecord | None:
        """The record of ``epoch`` (the latest when None), or None when there is none."""
        if epoch is None:
            epoch = self.latest_epoch
        return self.epochs.get(epoch) if epoch is not None else None

    def confusion(self, epoch: int | None = None) -> tuple[list[list[int]], list[str]]:
        """(matrix, label order) of the validation split at ``epoch`` (latest when None)."""
        record = self.epoch_record(epoch)
        if record is None:
            return [], self.labels
        return record.confusion, record.labels or self.labels

    def per_class(self, epoch: int | None = None) -> dict[str, dict[str, float]]:
        record = self.epoch_record(epoch)
        return record.per_class if record else {}

    def val_series(self, metric: str) -> list[tuple[int, float]]:
        """(epoch, validation metric) for every epoch that has it."""
        return self._epoch_series("val", metric)

    def train_epoch_series(self, metric: str) -> list[tuple[int, float]]:
        """(epoch, train metric at the epoch's end) for every epoch that has it."""
        return self._epoch_series("train", metric)

    def _epoch_series(self, split: str, metric: str) -> list[tuple[int, float]]:
        series = []
        for epoch in self.epoch_numbers:
            value = getattr(self.epochs[epoch], split).get(metric)
            if _is_number(value):
                series.append((epoch, float(value)))
        return series

    def val_series_by_step(self, metric: str) -> list[tuple[float, float]]:
        """Validation metric placed at each epoch's last step: it overlays the step series."""
        return [(float(self.epochs[e].end_step), v) for e, v in self.val_series(metric)]

    def best_value(self, metric: str) -> float | None:
        """The best validation value of ``metric`` over all epochs (min loss, max others)."""
        values = [v for _, v in self.val_series(metric)]
        if not values:
            return None
        return min(values) if metric in LOWER_IS_BETTER else max(values)

    @property
    def early_stopping(self) -> EarlyStopping:
        return EarlyStopping(self.best_epoch, self.patience_left, self.best)

    def progress(self, now: float | None = None) -> Progress:
        """Where the run is; with ``now`` (wall clock, live runs) elapsed and ETA keep ticking."""
        header = self.header
        per_epoch = header.steps_per_epoch
        total_steps = header.epochs * per_epoch
        step_in_epoch = self._step_in_epoch()
        elapsed = self._elapsed(now)
        return Progress(
            epoch=self.current_epoch,
            epochs=header.epochs,
            step_in_epoch=step_in_epoch,
            steps_per_epoch=per_epoch,
            global_step=self.global_step,
            total_steps=total_steps,
            samples_per_sec=self.samples_per_sec,
            learning_rate=self.current_lr,
            elapsed=elapsed,
            eta=self._eta(total_steps, now),
            fraction=self._fraction(total_steps),
            padding_efficiency=self.padding_efficiency,
        )

    def _step_in_epoch(self) -> int:
        per_epoch = self.header.steps_per_epoch
        if self.current_epoch == 0:
            return 0  # started, but the first step has not been logged yet
        if self.current_epoch in self.epochs and per_epoch:
            return per_epoch  # the epoch event closed it
        if not per_epoch:
            return self.global_step
        within = self.global_step - (self.current_epoch - 1) * per_epoch
        return max(0, min(per_epoch, within))

    def _elapsed(self, now: float | None) -> float | None:
        if self.finished and _is_number(self.duration):
            return float(self.duration)
        if self.started_at is None:
            return None
        until = now if (now is not None and self.status == "running") else self.last_time
        return max(0.0, (until or self.started_at) - self.started_at)

    def _eta(self, total_steps: int, now: float | None) -> float | None:
        if self.finished:
            return 0.0
        if not total_steps or self._rate_base is None or self._rate_last is None:
            return None
        (t0, s0), (t1, s1) = self._rate_base, self._rate_last
        if t1 <= t0 or s1 <= s0:
            return None
        seconds_per_step = (t1 - t0) / (s1 - s0)
        remaining = max(0, total_steps - self.global_step) * seconds_per_step
        if now is not None and self.status == "running":
            remaining -= max(0.0, now - t1)  # time passed since the last step counts down
        return max(0.0, remaining)

    def _fraction(self, total_steps: int) -> float:
        if self.finished and self.status == "completed":
            return 1.0
        if total_steps:
            done = max(self.global_step, len(self.epochs) * self.header.steps_per_epoch)
            return max(0.0, min(1.0, done / total_steps))
        if self.header.epochs:
            return min(1.0, len(self.epochs) / self.header.epochs)
        return 0.0


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def describe_replicas(replicas: list[str], visible_gpus: str | None = None) -> str:
    """"2 replicas (gpu:0, gpu:1)" for a distributed run, "GPU 3 of the machine" for a run
    that saw one GPU only; "" when there is nothing beyond the device to say."""
    parts = []
    if len(replicas) > 1:
        parts.append(f"{len(replicas)} replicas ({', '.join(replicas)})")
    if visible_gpus:
        parts.append(f"CUDA_VISIBLE_DEVICES={visible_gpus}")
    return ", ".join(parts)


def train_loss_label(view: RunView) -> str:
    """The loss chart's name for the train series, saying what that loss includes: label
    smoothing raises it; an FGM run steps on clean + adversarial loss but shows the clean."""
    notes = ["smoothed"] if view.loss_includes_smoothing else []
    if view.loss_excludes_adversarial:
        notes.append("clean, no FGM term")
    return f"train ({', '.join(notes)})" if notes else "train"
