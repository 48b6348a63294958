"""The training loop: Keras ``fit`` with a callback that writes the run's events.

``train(cfg, store)`` is the one entry point the TUI worker, the headless CLI and sweeps
share. It goes in two phases:

1. Prepare, with no run directory yet: resolve paths, pick the device, load and split the
   data, build the model. Whatever is wrong with the user's input is a ``BadInput`` raised
   here, so a bad config never leaves a half-made run behind.
2. Train inside the run directory: events, checkpoints, TensorBoard scalars, summary.json.
   From here on nothing raises: a crash becomes status ``failed`` with the traceback in
   ``log.txt``; cancel, divergence and early stopping are statuses, not exceptions.

TensorFlow is imported inside ``train()``, after library output is being captured, so even
its import-time messages land in the run's ``log.txt`` and never on the user's screen.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from densexp_tui.core.config import RunConfig, config_hash, resolve_paths
from densexp_tui.core.errors import BadInput
from densexp_tui.core.events import Event
from densexp_tui.core.metrics import classification_metrics, classification_report_text
from densexp_tui.core.runstore import RunHandle, RunStore, describe_dataset
from densexp_tui.engine.devices import Placement, describe_devices, load_weights
from densexp_tui.engine.logcapture import LibraryCapture, capture_library_output

if TYPE_CHECKING:
    from densexp_tui.engine.data import Splits, TokenLedger
    from densexp_tui.engine.models import BuiltModel
    from densexp_tui.engine.resume_state import ResumePoint

EventCallback = Callable[[Event], None]


@dataclass
class RunResult:
    """How a run ended; ``best`` and ``test`` are METRICS dicts (see docs/contracts.md)."""

    run_id: str
    status: str
    best_epoch: int | None
    best: dict[str, Any] | None
    test: dict[str, Any] | None
    duration: float
    message: str = ""
    run_dir: Path | None = None


@dataclass
class Prepared:
    """Phase 1's result: everything checked and built, and the run directory made."""

    cfg: RunConfig
    handle: RunHandle
    splits: Splits
    built: BuiltModel
    device: str  # what the run reports: "cpu", "gpu:N", "cpu:N", "gpu:0,1"
    placement: Placement | None = None  # the devices, and the strategy when distributed
    resume: ResumePoint | None = None  # set when continuing an earlier run


@dataclass
class SplitInputs:
    """One split as the model consumes it: a tf.data pipeline and the true labels."""

    pipeline: Any
    labels: np.ndarray
    names: list[str] = field(default_factory=list)


def train(
    cfg: RunConfig,
    store: RunStore,
    *,
    cancel: threading.Event | None = None,
    on_event: EventCallback | None = None,
    handle: RunHandle | None = None,
    resume: Any = None,
    run_id: str | None = None,
) -> RunResult:
    """Train the run ``cfg`` describes; see the module docstring for the two phases.

    ``handle``: a run the caller already created (its config.toml written); otherwise one is
    created once the input is known to be good. ``on_event`` is called with every event
    right after it is written (from this thread). Raises BadInput only before training.
    ``resume``: an engine.resume_state.ResumePoint; ``handle`` is then the run being continued.
    ``run_id``: the id to create the run under (``run --detach`` announces it up front).
    """
    cancel = cancel or threading.Event()
    started = time.time()
    with capture_library_output(handle.log_path if handle else None) as capture, \
            contextlib.ExitStack() as scope:
        try:
            prepared = _prepare(cfg, store, handle, capture, scope, run_id)
            prepared.resume = resume
        except BadInput as err:
            err = _naming_config_file(err, cfg)
            if handle is not None:  # the caller's run exists already: say why it never ran
                _finish_unstarted(handle, "failed", str(err), on_event, capture, started)
            raise err from None
        except Exception as exc:  # a bug or a library crash while building: still a run
            run = handle or store.create_run(resolve_paths(cfg), run_id=run_id)
            capture.switch_to(run.log_path)
            capture.write(traceback.format_exc())
            return _finish_unstarted(run, "failed", _describe(exc), on_event, capture, started)
        return _run(prepared, cancel, _Emitter(prepared.handle, on_event, capture), capture,
                    started)


# ---------------------------------------------------------------------------------------
# Phase 1: check and build, before the run directory exists


def _prepare(cfg: RunConfig, store: RunStore, handle: RunHandle | None,
             capture: LibraryCapture, scope: contextlib.ExitStack,
             run_id: str | None = None) -> Prepared:
    from densexp_tui.engine.data import load_dataset, split_dataset
    from densexp_tui.engine.devices import select_placement
    from densexp_tui.engine.dropout import use_generator_dropout
    from densexp_tui.engine.models import build_model

    cfg = resolve_paths(cfg)
    if handle is None:
        store.ensure_writable()  # fail in a second, not after building a model
    placement = select_placement(cfg.device)
    dataset = load_dataset(cfg.data, cfg.base_dir, seed=cfg.effective_split_seed)
    splits = split_dataset(dataset, cfg.data.val_fraction, cfg.data.test_fraction,
                           cfg.effective_split_seed)
    scope.enter_context(_determinism(cfg.run.deterministic))
    scope.enter_context(_precision_policy(cfg.device.mixed_precision))
    scope.enter_context(placement.context())  # one device, or MirroredStrategy's scope
    # tiny-bert's tokenizer and the model description are written while building; with no
    # run yet they go to a staging folder that moves in once the run exists.
    staging = None if handle else Path(tempfile.mkdtemp(prefix="densexp-build-"))
    if staging is not None:
        scope.callback(shutil.rmtree, staging, ignore_errors=True)
    use_generator_dropout()  # before the layers exist: their dropout RNG must be re-seedable
    built = build_model(cfg, splits, handle.dir if handle else staging)
    if handle is None:
        handle = store.create_run(cfg, run_id=run_id)
        _move_into(staging, handle.dir)
        capture.switch_to(handle.log_path)
    return Prepared(cfg, handle, splits, built, placement.label, placement)


@contextlib.contextmanager
def _determinism(enabled: bool) -> Iterator[None]:
    """Op determinism for this run only (the TUI process runs other runs afterwards)."""
    if not enabled:
        yield
        return
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    was_on = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            tf_config.disable_op_determinism()


@contextlib.contextmanager
def _precision_policy(mode: str) -> Iterator[None]:
    """mixed_float16 / mixed_bfloat16 while the model is built and trained, then back."""
    if mode == "off":
        yield
        return
    import tf_keras

    previous = tf_keras.mixed_precision.global_policy()
    tf_keras.mixed_precision.set_global_policy(f"mixed_{mode}")
    try:
        yield
    finally:
        tf_keras.mixed_precision.set_global_policy(previous)


def _move_into(staging: Path | None, run_dir: Path) -> None:
    if staging is None:
        return
    for item in staging.iterdir():
        shutil.move(str(item), str(run_dir / item.name))


def _naming_config_file(err: BadInput, cfg: RunConfig) -> BadInput:
    """A BadInput that names no file gets the TOML's name: the user must know where to look."""
    if err.file or cfg.source_path is None:
        return err
    return type(err)(err.message, file=cfg.source_path, key=err.key)


# ---------------------------------------------------------------------------------------
# Phase 2: train inside the run directory; never raises (except a second Ctrl-C)


class _Emitter:
    """Writes an event (flushed line) and hands it to the caller's ``on_event``."""

    def __init__(self, handle: RunHandle, on_event: EventCallback | None,
                 capture: LibraryCapture):
        self.handle, self.on_event, self.capture = handle, on_event, capture
        self._reported = False

    def __call__(self, kind: str, **fields: Any) -> Event:
        event = self.handle.events.append(kind, **fields)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a broken view must not kill training; say so once
                if not self._reported:
                    self._reported = True
                    self.capture.write("on_event handler failed:\n" + traceback.format_exc())
        return event


def _run(prepared: Prepared, cancel: threading.Event, emit: _Emitter,
         capture: LibraryCapture, started: float) -> RunResult:
    from densexp_tui.engine.callbacks import Outcome

    handle = prepared.handle
    outcome = Outcome()
    cleanup = contextlib.ExitStack()
    handle.start_heartbeat()
    cleanup.callback(handle.close)
    with cleanup:
        try:
            test = _fit_and_test(prepared, cancel, emit, outcome, cleanup)
            status = "completed" if outcome.status == "running" else outcome.status
            return _finish(handle, emit, outcome, status, outcome.message, test, started)
        except KeyboardInterrupt:  # a second Ctrl-C: record it, then let the caller go
            _finish(handle, emit, outcome, "cancelled", "interrupted (Ctrl-C)", None, started)
            raise
        except Exception as exc:
            handle.release_reserve()
            capture.write(traceback.format_exc())
            return _finish(handle, emit, outcome, "failed", _describe(exc), None, started)


def _fit_and_test(prepared: Prepared, cancel: threading.Event, emit: _Emitter,
                  outcome: Any, cleanup: contextlib.ExitStack) -> dict[str, Any] | None:
    """Compile, fit with the event callback, then test the best weights; returns test METRICS."""
    import tf_keras

    from densexp_tui.engine.adversarial import apply_adversarial
    from densexp_tui.engine.callbacks import CallbackSetup, Checkpointer, EventCallback, ScalarLog
    from densexp_tui.engine.data import TokenLedger, steps_per_epoch
    from densexp_tui.engine.losses import labelled_loss_events, training_loss
    from densexp_tui.engine.optim import make_optimizer, make_schedule
    from densexp_tui.engine.throughput import (
        XlaFit,
        choose_xla,
        fit_with_xla,
        with_epoch_tokens,
        xla_outcome,
    )

    cfg, handle, model = prepared.cfg, prepared.handle, prepared.built.model
    token_ledger = TokenLedger()
    train_split = _inputs(prepared, "train", token_ledger)
    per_epoch = steps_per_epoch(len(train_split.labels), cfg.train.batch_size)
    schedule = make_schedule(cfg.train, per_epoch * cfg.train.epochs)
    model.compile(
        optimizer=make_optimizer(cfg.train, schedule),
        loss=training_loss(cfg.train),
        metrics=[tf_keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    adversarial_note = apply_adversarial(model, cfg.train)
    val_split = _inputs(prepared, "val")
    checkpoints = Checkpointer(handle.checkpoints_dir, model)
    scalars = ScalarLog(handle.dir / "tb")
    cleanup.callback(scalars.close)
    setup = CallbackSetup(
        emit=emit, train_cfg=cfg.train, epochs=cfg.train.epochs, steps_per_epoch=per_epoch,
        n_train=len(train_split.labels), cancel=cancel, schedule=schedule,
        validate=lambda: _evaluate(model, val_split), checkpoints=checkpoints, scalars=scalars,
        on_epoch=lambda o: handle.update_summary(epochs_done=o.epochs_done,
                                                 best_epoch=o.best_epoch, best=_lite(o.best_val)),
        sync=handle.events.sync, outcome=outcome, seed=cfg.run.seed,
    )
    setup.emit = with_epoch_tokens(setup.emit, token_ledger)  # epoch events: tokens {real, padded}
    setup.emit = labelled_loss_events(setup.emit, cfg.train)  # step/epoch: smoothed or not
    first_epoch = _start_point(prepared, outcome, emit, per_epoch)
    if adversarial_note:  # the user must know why steps are slower
        emit.capture.write(adversarial_note + "\n")
        emit("status", status="running", message=adversarial_note)
    if cancel.is_set():
        outcome.status, outcome.message = "cancelled", "cancelled by the user before training"
        return None

    def fit() -> None:
        tf_keras.utils.set_random_seed(cfg.run.seed)  # dropout and shuffling from the run's seed
        model.fit(train_split.pipeline, epochs=cfg.train.epochs, initial_epoch=first_epoch,
                  steps_per_epoch=per_epoch, verbose=0, callbacks=[EventCallback(setup)])

    xla = choose_xla(cfg.train.jit_compile, prepared.device)
    handle.update_summary(xla=xla_outcome(xla, xla.enabled))  # shown while it trains, too
    stayed_on = fit_with_xla(model, xla, XlaFit(fit, lambda: outcome.global_step,
                                                emit.capture.write, emit))
    handle.update_summary(xla=xla_outcome(xla, stayed_on))
    if outcome.status != "running":
        return None
    return _test_best(prepared, checkpoints, emit)


def _start_point(prepared: Prepared, outcome: Any, emit: _Emitter, per_epoch: int) -> int:
    """The epoch index fit starts at: 0 for a new run (announced by run_started); for a
    resumed one, the last checkpoint's weights, optimizer and best-so-far are restored and
    a ``resumed`` status event continues the same log."""
    point = prepared.resume
    if point is None:
        _emit_started(prepared, emit, per_epoch)
        return 0
    from densexp_tui.engine.resume_state import restore_optimizer

    model = prepared.built.model
    load_weights(model, str(prepared.handle.checkpoints_dir / "last.weights.h5"))
    kept_moments = restore_optimizer(model.optimizer, model.trainable_variables, point)
    outcome.global_step, outcome.epochs_done = point.global_step, point.epoch
    outcome.best_epoch, outcome.best_score = point.best_epoch, point.best_score
    outcome.best_val, outcome.wait = point.best_val, point.wait
    note = "" if kept_moments else " (optimizer moments were too big to keep: started afresh)"
    # This process may see other devices than the one that started the run (the per-GPU
    # queue resumes it on whichever GPU is free): the summary says where it trains now.
    devices = describe_devices(prepared.placement) if prepared.placement else {}
    prepared.handle.update_summary(**devices)
    emit("status", status="resumed", from_epoch=point.epoch, from_step=point.global_step,
         epochs=prepared.cfg.train.epochs, steps_per_epoch=per_epoch, **devices,
         message=f"resumed after epoch {point.epoch} at step {point.global_step}{note}")
    emit("status", status="running", message="")
    return point.epoch


def _inputs(prepared: Prepared, part: str,
            token_ledger: TokenLedger | None = None) -> SplitInputs:
    """The tf.data pipeline of one split: tokenized text or features, batched, in order
    (train: shuffled per epoch from the seed, one pipeline holding every epoch, batched as
    data.batching says; ``token_ledger`` gets its token counts)."""
    from densexp_tui.engine import data

    cfg, built = prepared.cfg, prepared.built
    split = getattr(prepared.splits, part)
    training = part == "train"
    start = prepared.resume.epoch if training and prepared.resume else 0
    shape: dict[str, Any] = dict(batch_size=cfg.train.batch_size, shuffle=training,
                                 seed=cfg.run.seed, epoch=start,
                                 num_epochs=cfg.train.epochs - start if training else 1)
    if split.kind == "text":  # padding (and for train, bucketing) as data.* says
        shape.update(batching=cfg.data.batching, pad_to_multiple_of=cfg.data.pad_to_multiple_of,
                     max_width=built.max_length, token_ledger=token_ledger)
    if split.kind == "text":
        assert built.tokenizer is not None, "a text model is built with its tokenizer"
        pad = built.tokenizer.pad_token_id or 0

        def text_pipeline(ids: list[list[int]], **epochs: int) -> Any:
            return data.make_text_pipeline(ids, split.labels, pad_id=pad, **{**shape, **epochs})

        if training and cfg.data.augment:  # fresh augmented texts each epoch, train only
            from densexp_tui.engine.data.pipelines import augmented_train_pipeline

            pipeline = augmented_train_pipeline(cfg, built, split.texts, text_pipeline,
                                                epoch=start, num_epochs=shape["num_epochs"])
        else:
            pipeline = text_pipeline(data.tokenize_texts(built.tokenizer, split.texts,
                                                         built.max_length))
    else:
        pipeline = data.make_tabular_pipeline(split.features, split.labels, **shape)
    return SplitInputs(pipeline, np.asarray(split.labels), list(split.label_names))


def _evaluate(model: Any, split: SplitInputs, with_report: bool = False) -> dict[str, Any] | None:
    """METRICS of ``model`` on a split (None when the split is empty)."""
    if len(split.labels) == 0:
        return None
    outputs = model.predict(split.pipeline, verbose=0)
    logits = np.asarray(outputs["logits"] if isinstance(outputs, dict) else
                        getattr(outputs, "logits", outputs), dtype=np.float64)
    metrics = classification_metrics(split.labels, logits, split.names,
                                     loss=cross_entropy(logits, split.labels))
    if with_report:
        metrics["report"] = classification_report_text(split.labels, logits, split.names)
    return metrics


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean sparse cross-entropy from logits (what the training loss computes), in NumPy."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    picked = shifted[np.arange(len(labels)), labels]
    return float(np.mean(log_norm - picked))


def _test_best(prepared: Prepared, checkpoints: Any, emit: _Emitter) -> dict[str, Any] | None:
    """Restore the best epoch's weights, save LoRA adapters, and measure the test split."""
    checkpoints.restore_best()
    if prepared.cfg.model.finetune == "lora":
        from densexp_tui.engine.lora import save_adapters

        save_adapters(prepared.built.model, prepared.handle.dir / "adapters.npz")
    from densexp_tui.engine.evaluation import score_test_split  # + predictions/test.jsonl

    test = score_test_split(prepared.built.model, _inputs(prepared, "test"),
                            prepared.splits.test.texts, prepared.handle.dir)
    if test is not None:
        emit("test", **test)
    return test


def _emit_started(prepared: Prepared, emit: _Emitter, per_epoch: int) -> None:
    cfg, built, splits = prepared.cfg, prepared.built, prepared.splits
    params = {"trainable": int(built.trainable_params), "total": int(built.total_params)}
    devices = describe_devices(prepared.placement) if prepared.placement else {}
    prepared.handle.update_summary(params=params, epochs=cfg.train.epochs, **devices)
    emit("run_started", run_id=prepared.handle.run_id, name=cfg.run.name, **devices,
         config_hash=config_hash(cfg), device=prepared.device, labels=list(splits.label_names),
         sizes=splits.sizes, params=params, epochs=cfg.train.epochs, steps_per_epoch=per_epoch,
         batch_size=cfg.train.batch_size, finetune=cfg.model.finetune, model=cfg.model.name,
         arch=built.arch, dataset=describe_dataset(cfg), split_note=splits.note)
    emit("status", status="running", message="")


def _finish(handle: RunHandle, emit: _Emitter, outcome: Any, status: str, message: str,
            test: dict[str, Any] | None, started: float) -> RunResult:
    """The closing events and summary, whatever the ending."""
    handle.release_reserve()  # room to write this even when the disk filled up
    duration = round(time.time() - started, 3)
    emit("status", status=status, message=message)
    emit("run_finished", status=status, best_epoch=outcome.best_epoch, best=outcome.best_val,
         test=test, duration=duration, message=message)
    handle.update_summary(
        status=status, message=message, best_epoch=outcome.best_epoch,
        best=_lite(outcome.best_val), test=_lite(test), epochs_done=outcome.epochs_done,
        duration=duration, finished=time.time(),
    )
    handle.events.sync()
    return RunResult(handle.run_id, status, outcome.best_epoch, outcome.best_val, test,
                     duration, message, handle.dir)


def _finish_unstarted(handle: RunHandle, status: str, message: str,
                      on_event: EventCallback | None, capture: LibraryCapture,
                      started: float) -> RunResult:
    """Close a run that never reached training (its model or data could not be built)."""
    from densexp_tui.engine.callbacks import Outcome

    try:
        return _finish(handle, _Emitter(handle, on_event, capture), Outcome(), status,
                       message, None, started)
    finally:
        handle.close()


def _lite(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """The summary's short form of METRICS: loss, accuracy, f1."""
    if not metrics:
        return {}
    return {key: metrics.get(key) for key in ("loss", "accuracy", "f1")}


def _describe(exc: BaseException) -> str:
    """One line for the status: the exception type and its first line."""
    lines = str(exc).strip().splitlines()
    first = lines[0][:300] if lines else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
