"""How fast a run trains, and what makes it faster: the XLA train step and token counts.

``train.jit_compile`` (auto | on | off) compiles the train step with XLA. ``auto`` turns it
on for a GPU. On the CPU ``auto`` leaves it off: bench/input_pipeline.py measured XLA at
0.70x the plain train step's speed there (a 2-layer x 128 BERT, batch 32x32, on the shared
2-core machine; the MiniLM-shaped run could not finish in time), and every new batch shape
is a new XLA compile (89 s for the first step vs 62 s without, under that load). XLA never
makes a run fail: when it cannot compile the train step, the run says so in its log and in
a status message and trains without it.

Only the train step is compiled: validation and test predictions keep the plain graph, so
an XLA problem shows up on the first train step, where the fallback catches it. (XLA does
not exist on some platforms, e.g. Apple silicon: there the first step fails the same way
and the run falls back.)

The epoch events' ``tokens: {real, padded}`` come from the data package's TokenLedger,
filled as the train pipeline builds each epoch's batches.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from densexp_tui.engine.data import TokenLedger

Emit = Callable[..., Any]


@dataclass(frozen=True)
class XlaChoice:
    """Whether the train step is compiled with XLA, and why (for the run's log)."""

    enabled: bool
    reason: str


def choose_xla(mode: str, device: str) -> XlaChoice:
    """``train.jit_compile`` resolved for ``device`` (what run_started reports: cpu, gpu:N)."""
    if mode == "on":
        return XlaChoice(True, "train.jit_compile = on")
    if mode == "off":
        return XlaChoice(False, "train.jit_compile = off")
    if device.startswith("gpu"):
        return XlaChoice(True, "train.jit_compile = auto: on for a GPU")
    return XlaChoice(False, "train.jit_compile = auto: off on the CPU, measured slower there")


@dataclass
class XlaFit:
    """What :func:`fit_with_xla` needs from the trainer.

    ``fit`` runs Keras fit (seeding first, so a retry repeats the same run); ``steps_done``
    is the global step counter the event callback keeps; ``log`` writes to the run's
    log.txt; ``emit`` writes an event.
    """

    fit: Callable[[], None]
    steps_done: Callable[[], int]
    log: Callable[[str], None]
    emit: Emit


def fit_with_xla(model: Any, choice: XlaChoice, run: XlaFit) -> bool:
    """Run ``run.fit`` with the train step compiled by XLA when ``choice`` says so.

    If the XLA step fails before the first step completes (XLA could not compile it),
    the train step goes back to the plain one, the run's log and a status event say why,
    and fit runs again from the same starting point. Returns whether XLA stayed on.
    """
    if not choice.enabled:
        run.log(f"XLA: off for the train step ({choice.reason})\n")
        run.fit()
        return False
    plain_step = _use_xla_train_step(model)
    run.log(f"XLA: on for the train step ({choice.reason})\n")
    first_step = run.steps_done()
    try:
        run.fit()
        return True
    except Exception as err:  # XLA reports a failed compile as several types
        if run.steps_done() != first_step:
            raise  # trained with XLA already: this is not a compile problem
        run.log(traceback.format_exc())
        _say(run, f"XLA could not compile the train step ({_first_line(err)}); "
                  "training without it")
    model.train_step = plain_step
    model.train_function = None  # traced around the XLA step: fit builds a plain one
    run.fit()
    return False


def xla_outcome(choice: XlaChoice, stayed_on: bool) -> str:
    """What the run's summary says of XLA (``densexp show``): on or off, and why."""
    if stayed_on:
        return f"on ({choice.reason})"
    if choice.enabled:
        return f"off: could not compile the train step, trained without it ({choice.reason})"
    return f"off ({choice.reason})"


def _use_xla_train_step(model: Any) -> Callable[..., Any]:
    """Compile the model's train step (forward, gradients, optimizer update) with XLA;
    returns the plain step, to go back to.

    Wrapping ``train_step`` is what Keras' own ``jit_compile`` does inside its train
    function, without also compiling ``predict`` and ``evaluate`` (Keras would), so the
    validation and test passes keep the plain graph. A custom ``train_step`` (set before
    this is called) is compiled the same way.
    """
    import tensorflow as tf

    plain_step: Callable[..., Any] = model.train_step
    model.train_step = tf.function(plain_step, jit_compile=True, reduce_retracing=True)
    model.train_function = None  # a train function traced before would not see the change
    return plain_step


def _say(run: XlaFit, message: str) -> None:
    run.log(message + "\n")
    run.emit("status", status="running", message=message)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    text = lines[0][:200] if lines else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def with_epoch_tokens(emit: Emit, ledger: TokenLedger) -> Emit:
    """``emit`` that adds the train split's ``tokens: {real, padded}`` to epoch events."""

    def emit_with_tokens(kind: str, **fields: Any) -> Any:
        if kind == "epoch" and isinstance(fields.get("epoch"), int):
            counts = ledger.get(fields["epoch"] - 1)  # events count epochs from 1
            if counts is not None:
                fields["tokens"] = counts.as_event()
        return emit(kind, **fields)

    return emit_with_tokens
