"""Running a sweep: one worker process pulls trials from an Optuna study until it is done.

Every trial is an ordinary run in the run store (config.toml, events, summary) with
run.sweep and run.trial set. Several workers, on one machine (journal file) or many
(PostgreSQL), run the same command and join the same study; Optuna hands out the trials
(``study.optimize`` + ``MaxTrialsCallback``), there is no coordinator of our own.

What "n_trials" means: the study aims for exactly that many *finished* trials (complete or
pruned). Failed trials do not count, so a trial whose worker died or that was stopped is
trained again (its parameters are re-enqueued). Two rules keep parallel workers from
overshooting: a worker stops once finished + running trials reach the target, and a trial
whose number comes after the target's worth of live trials is marked failed ("not needed")
before it trains, which only happens when two workers ask at the same instant.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Literal

import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState

from densexp_tui.core.config import RunConfig, config_hash, resolve_paths
from densexp_tui.core.errors import BadInput, ConfigError
from densexp_tui.core.events import EventWriter, read_events
from densexp_tui.core.predictions import PREDICTIONS_FILE
from densexp_tui.core.runstore import (
    HEARTBEAT_STALE_SECONDS,
    RunStore,
    RunSummary,
    _process_start_time,
    process_is_alive,
)
from densexp_tui.core.sweepconfig import SweepConfig, dumps_sweep
from densexp_tui.sweep import space as space_mod
from densexp_tui.sweep import storage as storage_mod
from densexp_tui.sweep.seeded import seeded_objective
from densexp_tui.sweep.study import (
    FINISHED_STATES,
    STUDY_ATTR,
    TrialRow,
    best_row,
    count_finished,
    trial_rows,
)

TrainFn = Callable[..., Any]  # engine.trainer.train(cfg, store, *, cancel, on_event, handle)
# Seconds between looks at the stop file while a trial trains.
STOP_POLL_SECONDS = 0.5
# A trial that died this many times is not retried again (it probably kills its worker).
MAX_RETRIES = 3
STOP_ATTR = "stop_requested"


class TrialFailed(Exception):
    """The trial's run failed, diverged, or its config was refused: FAIL, not retried."""


class SweepStopped(Exception):
    """A stop was requested while the trial was running: FAIL, its parameters re-enqueued."""


class TrialNotNeeded(Exception):
    """Parallel workers asked for more trials than the study needs: FAIL, never trained."""


@dataclass
class SweepOutcome:
    study_name: str
    target: int | None
    finished: int
    rows: list[TrialRow]
    best: TrialRow | None
    reason: str  # why this worker ended: "done", "stopped", "timeout", "too many failures"


@dataclass(frozen=True)
class WorkerId:
    host: str
    pid: int
    pid_started: float | None

    @classmethod
    def current(cls) -> WorkerId:
        return cls(socket.gethostname(), os.getpid(), _process_start_time(os.getpid()))

    def as_attr(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def stop_file(runs_dir: Path, study_name: str) -> Path:
    return storage_mod.sweeps_dir(runs_dir) / f"{study_name}.stop"


def request_stop(runs_dir: Path, study_name: str, study: optuna.Study | None = None) -> None:
    """Ask every worker of the study to stop: the local stop file, and for a shared database
    also a study attribute so workers on other machines see it between trials."""
    path = stop_file(runs_dir, study_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"stop requested at {time.time():.0f}\n")
    if study is not None:
        study.set_user_attr(STOP_ATTR, True)


def _direction(cfg: SweepConfig) -> Literal["minimize", "maximize"]:
    """The loader resolved and checked sweep.direction against DIRECTIONS."""
    return "minimize" if cfg.sweep.direction == "minimize" else "maximize"


def open_study(cfg: SweepConfig, spec: storage_mod.StorageSpec, storage: Any,
               target: int | None) -> optuna.Study:
    """Create or join the study; a study of the same name must have the same space."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(
            study_name=cfg.sweep.name, storage=storage, direction=_direction(cfg),
            sampler=optuna.samplers.RandomSampler(), pruner=space_mod.make_pruner(cfg),
            load_if_exists=True,
        )
    settings = study.user_attrs.get(STUDY_ATTR)
    if settings and settings.get("fingerprint") != cfg.fingerprint():
        raise ConfigError(
            f"study {cfg.sweep.name!r} already exists in {spec.display} with another objective, "
            "search space or base config; allowed: the same sweep, or a new [sweep] name",
            file=cfg.source_path, key="sweep.name")
    if not settings:
        study.set_user_attr(STUDY_ATTR, {
            "fingerprint": cfg.fingerprint(), "objective": cfg.sweep.objective,
            "direction": cfg.sweep.direction, "n_trials": target,
            "sampler": cfg.sweep.sampler, "pruner": cfg.sweep.pruner,
            "toml": dumps_sweep(cfg), "source": str(cfg.source_path or ""),
        })
    seed = cfg.sweep.seed
    # The same seed in every worker would make them all propose the same first points.
    study.sampler = space_mod.make_sampler(
        cfg, None if seed < 0 else seed + len(study.get_trials(deepcopy=False)))
    return study


def objective_value(cfg: SweepConfig, summary: RunSummary) -> float | None:
    """The objective read from the run store's summary (best = val at the best epoch)."""
    metrics = summary.best if cfg.sweep.split == "val" else summary.test
    value = (metrics or {}).get(cfg.sweep.metric)
    return float(value) if isinstance(value, (int, float)) else None


class SweepWorker:
    """One process's share of a study: asks for trials, trains them, tells the results."""

    def __init__(self, cfg: SweepConfig, store: RunStore, study: optuna.Study, *,
                 target: int | None, train_fn: TrainFn | None = None,
                 shared_storage: bool = False,
                 on_change: Callable[[], None] | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.study = study
        self.target = target
        self.train_fn = train_fn
        # RDB storages find dead workers by Optuna's heartbeat; files by pid and run status.
        self.shared_storage = shared_storage
        self.on_change = on_change or (lambda: None)
        self.worker = WorkerId.current()
        self.stop_event = threading.Event()  # set by stop file, study attr, SIGINT or the TUI
        self._cancel: threading.Event | None = None  # the running trial's cancel flag
        self._reason = "done"
        # The trainer refused the input (data or model) before any trial completed: the
        # sweep as a whole is bad input; the CLI prints it and exits 2.
        self.bad_input: BadInput | None = None

    # -- the loop ---------------------------------------------------------------------------
    def run(self, timeout: float | None = None) -> SweepOutcome:
        self._clear_stop()
        self.recover_stale()
        if self._slots_full():
            self._reason = "done"
        else:
            self._optimize(timeout)
        rows = trial_rows(self.study)
        return SweepOutcome(self.cfg.sweep.name, self.target, count_finished(rows), rows,
                            best_row(rows, self.cfg.sweep.direction), self._reason)

    def _optimize(self, timeout: float | None) -> None:
        callbacks: list[Callable[[optuna.Study, FrozenTrial], None]] = [self._after_trial]
        if self.target:
            # Optuna's own stop rule for distributed studies: finished = complete or pruned.
            callbacks.insert(0, MaxTrialsCallback(self.target, states=FINISHED_STATES))
        watch_done = threading.Event()
        watcher = threading.Thread(target=self._watch_stop_file, args=(watch_done,),
                                   daemon=True, name="sweep-stop-watcher")
        watcher.start()
        started = time.monotonic()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                self.study.optimize(self._objective, timeout=timeout or None,
                                    callbacks=callbacks, gc_after_trial=True,
                                    catch=(TrialFailed, SweepStopped, TrialNotNeeded))
        finally:
            watch_done.set()
        if self.bad_input is not None:
            self._reason = "bad input"
        elif self.stop_event.is_set() and not self._slots_full():
            self._reason = "stopped"
        elif timeout and time.monotonic() - started >= timeout and not self._slots_full():
            self._reason = "timeout"

    def _after_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.on_change()
        if self._stop_requested(check_study=True) or self.bad_input is not None:
            study.stop()
            return
        self.recover_stale()
        if self._slots_full():
            study.stop()
        elif self._too_many_failures():
            self._reason = "too many failed trials"
            study.stop()

    # -- one trial --------------------------------------------------------------------------
    def _objective(self, trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", self.worker.as_attr())
        self.on_change()
        if self._is_surplus(trial):
            trial.set_user_attr("failure", "not needed: the study has its trials")
            self.study.stop()
            raise TrialNotNeeded()
        params = space_mod.suggest(trial, self.cfg.space)
        try:
            return self._stop_or_run(trial, params)
        except KeyboardInterrupt:
            # A second Ctrl-C aborts the trial while it is still stopping. Optuna fails it
            # and lets the interrupt through; queue its parameters again (as the first
            # Ctrl-C does), or the study would drop them for good.
            self._requeue(trial, params)
            trial.set_user_attr("failure", "aborted (Ctrl-C); will run again")
            raise

    def _stop_or_run(self, trial: optuna.Trial, params: dict[str, Any]) -> float:
        if self._stop_requested():
            self._requeue(trial, params)
            trial.set_user_attr("failure", "stopped before training; will run again")
            raise SweepStopped()
        try:
            run_cfg = resolve_paths(self.cfg.trial_config(params, trial.number))
        except BadInput as exc:
            trial.set_user_attr("failure", f"config refused: {exc.message}")
            raise TrialFailed(str(exc)) from None
        return seeded_objective(trial, run_cfg, self.cfg.sweep.seeds,
                                lambda one: self._reuse_or_train(trial, one, params))

    def _reuse_or_train(self, trial: optuna.Trial, run_cfg: RunConfig,
                        params: dict[str, Any]) -> float:
        previous = self.store.find_completed_by_hash(config_hash(run_cfg))
        if previous is not None:
            return self._reuse(trial, run_cfg, previous)
        return self._train(trial, run_cfg, params)

    def _train(self, trial: optuna.Trial, run_cfg: RunConfig, params: dict[str, Any]) -> float:
        handle = self.store.create_run(run_cfg)
        trial.set_user_attr("run_id", handle.run_id)
        cancel = threading.Event()
        pruned: dict[str, int] = {}
        on_event = self._event_handler(trial, cancel, pruned)
        self._cancel = cancel
        started = time.perf_counter()
        try:
            result = self._call_train(run_cfg, cancel, on_event, handle)
        finally:
            self._cancel = None
            handle.close()
        summary = self.store.read_summary(handle.run_id)
        trial.set_user_attr("epochs", summary.epochs_done)
        # The whole train() call: the rest of the trial's time is the sweep's own overhead.
        trial.set_user_attr("train_call_seconds", round(time.perf_counter() - started, 3))
        status = getattr(result, "status", summary.status)
        if status == "cancelled" and "epoch" in pruned:
            return self._mark_pruned(trial, handle.run_id, pruned["epoch"])
        if status == "cancelled":
            self._requeue(trial, params)
            trial.set_user_attr("failure", "stopped; will run again")
            raise SweepStopped()
        if status != "completed":
            trial.set_user_attr("failure", f"run {status}: {summary.message}"[:200])
            trial.set_user_attr("run_status", status)
            raise TrialFailed(summary.message)
        return self._value_or_fail(trial, summary)

    def _call_train(self, run_cfg: RunConfig, cancel: threading.Event,
                    on_event: Callable[[Any], None], handle: Any) -> Any:
        """Train; a crash of the trainer fails this run and trial, never the whole sweep."""
        train = self.train_fn or _default_train()
        try:
            return train(run_cfg, self.store, cancel=cancel, on_event=on_event, handle=handle)
        except BadInput as exc:
            handle.update_summary(status="failed", message=str(exc), finished=time.time())
            if not self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                self.bad_input = exc
            return SimpleNamespace(status="failed")
        except Exception as exc:  # noqa: BLE001 - any trainer bug ends one trial, not the study
            logging.getLogger(__name__).exception("trial crashed")
            handle.update_summary(status="failed", message=f"{type(exc).__name__}: {exc}"[:300],
                                  finished=time.time())
            return SimpleNamespace(status="failed")
        finally:
            _release_keras_memory()

    def _event_handler(self, trial: optuna.Trial, cancel: threading.Event,
                       pruned: dict[str, int]) -> Callable[[Any], None]:
        """Per epoch: report the validation metric and ask the pruner."""
        metric = self.cfg.sweep.metric
        use_pruner = self.cfg.sweep.pruner != "none"

        def on_event(event: Any) -> None:
            if event.kind != "epoch" or cancel.is_set():
                return
            epoch = int(event.data.get("epoch", 0))
            value = (event.data.get("val") or {}).get(metric)
            if isinstance(value, (int, float)):
                trial.report(float(value), epoch)
                if use_pruner and trial.should_prune():
                    pruned["epoch"] = epoch
                    cancel.set()
            self.on_change()

        return on_event

    def _mark_pruned(self, trial: optuna.Trial, run_id: str, epoch: int) -> float:
        message = f"pruned at epoch {epoch}"
        trial.set_user_attr("pruned_at", epoch)
        handle = self.store.open_run(run_id)
        handle.update_summary(message=message)
        with EventWriter(handle.events_path) as events:
            events.append("status", status="cancelled", message=message)
        raise optuna.TrialPruned(message)

    def _value_or_fail(self, trial: optuna.Trial, summary: RunSummary) -> float:
        value = objective_value(self.cfg, summary)
        if value is None:
            trial.set_user_attr("failure", f"the run reported no {self.cfg.sweep.objective}")
            raise TrialFailed(f"no {self.cfg.sweep.objective}")
        return value

    # -- reusing a finished run with the same config ----------------------------------------
    def _reuse(self, trial: optuna.Trial, run_cfg: RunConfig, previous: RunSummary) -> float:
        """Same resolved config already completed here: record a run that points at it."""
        origin = previous.reused_from or previous.run_id
        handle = self.store.create_run(run_cfg)
        trial.set_user_attr("run_id", handle.run_id)
        trial.set_user_attr("reused_from", origin)
        source_events = self.store.run_dir(previous.run_id) / "events.jsonl"
        if source_events.exists():
            shutil.copyfile(source_events, handle.events_path)
        source_predictions = self.store.run_dir(previous.run_id) / PREDICTIONS_FILE
        if source_predictions.exists():  # so compare and the Errors view work on it too
            (handle.dir / PREDICTIONS_FILE).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source_predictions, handle.dir / PREDICTIONS_FILE)
        message = f"reused the result of run {origin} (same config)"
        with EventWriter(handle.events_path) as events:
            events.append("status", status="completed", message=message)
        summary = handle.update_summary(
            status="completed", finished=time.time(), duration=previous.duration,
            best_epoch=previous.best_epoch, best=previous.best, test=previous.test,
            params=previous.params, epochs_done=previous.epochs_done, reused_from=origin,
            message=message)
        self._report_history(trial, source_events)
        trial.set_user_attr("epochs", previous.epochs_done)
        return self._value_or_fail(trial, summary)

    def _report_history(self, trial: optuna.Trial, events_path: Path) -> None:
        """The reused run's per-epoch values, so pruners compare against it as usual."""
        metric = self.cfg.sweep.metric
        for event in read_events(events_path).events:
            value = (event.data.get("val") or {}).get(metric) if event.kind == "epoch" else None
            if isinstance(value, (int, float)):
                trial.report(float(value), int(event.data.get("epoch", 0)))

    # -- slots, stop, recovery --------------------------------------------------------------
    def _slots_full(self) -> bool:
        """Finished plus running trials reach the target: nothing left for this worker."""
        if not self.target:
            return False
        trials = self.study.get_trials(deepcopy=False,
                                       states=(*FINISHED_STATES, TrialState.RUNNING))
        return len(trials) >= self.target

    def _is_surplus(self, trial: optuna.Trial) -> bool:
        """More live trials with smaller numbers than the target: this one is not needed."""
        if not self.target:
            return False
        if not self.shared_storage:
            self.recover_stale(exclude=trial.number)
        earlier = [t for t in self.study.get_trials(deepcopy=False)
                   if t.number < trial.number and t.state != TrialState.FAIL]
        return len(earlier) >= self.target

    def _too_many_failures(self) -> bool:
        failed = [t for t in self.study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
                  if t.user_attrs.get("run_status") or
                  str(t.user_attrs.get("failure", "")).startswith("config refused")]
        return len(failed) >= max(3, self.target or 3)

    def _stop_requested(self, check_study: bool = False) -> bool:
        if self.stop_event.is_set():
            return True
        if stop_file(self.store.root, self.cfg.sweep.name).exists():
            self.stop_event.set()
        elif check_study and self.study.user_attrs.get(STOP_ATTR):
            self.stop_event.set()
        return self.stop_event.is_set()

    def _clear_stop(self) -> None:
        """Starting the command again continues the study: forget an earlier stop."""
        stop_file(self.store.root, self.cfg.sweep.name).unlink(missing_ok=True)
        if self.study.user_attrs.get(STOP_ATTR):
            self.study.set_user_attr(STOP_ATTR, False)

    def request_stop(self) -> None:
        """Stop after cancelling the current trial cleanly (SIGINT, the TUI)."""
        self.stop_event.set()
        if self._cancel is not None:
            self._cancel.set()

    def _watch_stop_file(self, done: threading.Event) -> None:
        """While trials run, a stop file (written by the TUI) cancels the current trial."""
        while not done.wait(STOP_POLL_SECONDS):
            if self._stop_requested():
                self.request_stop()

    def _requeue(self, trial: optuna.Trial | FrozenTrial, params: dict[str, Any]) -> None:
        """Run these parameters again later (as a new trial number)."""
        requeue_trial(self.study, trial, params)

    def recover_stale(self, exclude: int | None = None) -> list[int]:
        """Fail running trials whose worker died and queue their parameters again.

        For RDB storages Optuna's heartbeat does this (see ``on_stale_trial``); for the
        journal file a trial is dead when its run directory says ``interrupted`` (RunStore
        checks pid and heartbeat), or when its worker process on this host is gone."""
        if self.shared_storage:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # fail_stale_trials is "experimental"
                optuna.storages.fail_stale_trials(self.study)
            return []
        failed = []
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if trial.number == exclude or not self._is_dead(trial):
                continue
            try:
                self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            except (ValueError, RuntimeError):
                continue
            self._requeue(trial, dict(trial.params))
            failed.append(trial.number)
        return failed

    def _is_dead(self, trial: FrozenTrial) -> bool:
        worker = trial.user_attrs.get("worker") or {}
        if worker.get("host") == self.worker.host and worker.get("pid") == self.worker.pid:
            return False  # this very process: alive by definition
        run_id = trial.user_attrs.get("run_id")
        if run_id and (self.store.root / run_id / "summary.json").exists():
            if self.store.read_summary(run_id).status == "interrupted":
                return True
        if worker.get("host") == self.worker.host:
            return not process_is_alive(worker.get("pid"), worker.get("pid_started"))
        started = trial.datetime_start
        age = (time.time() - started.timestamp()) if started else 0.0
        return not run_id and age > HEARTBEAT_STALE_SECONDS


def on_stale_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Optuna's heartbeat-stale callback for RDB studies: queue the dead trial's params again
    with clean user attrs (Optuna's RetryFailedTrialCallback would copy the dead run's ids)."""
    requeue_trial(study, trial, dict(trial.params))


def requeue_trial(study: optuna.Study, trial: optuna.Trial | FrozenTrial,
                  params: dict[str, Any]) -> None:
    """Queue ``params`` again as a new trial, unless a retry already waits or the trial's
    parameters were tried MAX_RETRIES times (they probably kill their worker)."""
    retry_of = trial.user_attrs.get("retry_of", trial.number)
    history = [t for t in study.get_trials(deepcopy=False)
               if t.user_attrs.get("retry_of") == retry_of]
    if any(t.state == TrialState.WAITING for t in history) or len(history) >= MAX_RETRIES:
        return
    study.enqueue_trial(params, user_attrs={"retry_of": retry_of})


def _release_keras_memory() -> None:
    """Trials train one after another in this process: drop Keras' global graph state so
    memory stays flat over a long sweep (only if Keras is loaded; never imports it)."""
    import sys

    keras = sys.modules.get("tf_keras")
    if keras is not None:
        keras.backend.clear_session()


def _default_train() -> TrainFn:
    from densexp_tui.engine.trainer import train  # lazy: TensorFlow loads only to train

    return train
