"""Padding efficiency from epoch events: the number, RunView's copy of it, and show's line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from densexp_tui.core.events import Event
from densexp_tui.core.runstore import RunStore, RunSummary
from densexp_tui.core.runview import RunView
from densexp_tui.core.tokens import format_padding_efficiency, padding_efficiency
from densexp_tui.report import run_detail, tokens_text

pytestmark = pytest.mark.timeout(30)


def epoch_event(seq: int, epoch: int, tokens: dict[str, int] | None) -> Event:
    data = {"epoch": epoch, "train": {"loss": 0.5}, "val": {"accuracy": 0.8}}
    if tokens is not None:
        data["tokens"] = tokens
    return Event(seq=seq, time=100.0 + seq, kind="epoch", data=data)


def test_efficiency_is_real_over_padded_and_malformed_counts_give_none():
    assert padding_efficiency({"real": 940, "padded": 1000}) == pytest.approx(0.94)
    for broken in (None, {}, {"real": 5}, {"real": 5, "padded": 0}, {"real": 9, "padded": 4},
                   {"real": "9", "padded": 10}, [1, 2]):
        assert padding_efficiency(broken) is None
    assert format_padding_efficiency(0.943) == "94% real tokens"


def test_run_view_holds_the_last_epochs_efficiency_for_the_progress_panel():
    view = RunView()
    assert view.progress().padding_efficiency is None
    view.apply(epoch_event(1, 1, {"real": 300, "padded": 1000}))
    view.apply(epoch_event(2, 2, {"real": 950, "padded": 1000}))
    assert view.progress().padding_efficiency == pytest.approx(0.95)
    view.apply(epoch_event(3, 3, None))  # a tabular run, or an older writer: keeps the last
    assert view.progress().padding_efficiency == pytest.approx(0.95)


def test_show_prints_the_padding_efficiency_of_text_runs_only():
    epochs = [epoch_event(1, 1, {"real": 123_400, "padded": 131_200}).data]
    assert tokens_text(epochs) == "94% real tokens (123.4k real of 131.2k processed per " \
                                  "epoch, train split)"
    assert tokens_text([epoch_event(1, 1, None).data]) == ""

    summary = RunSummary(run_id="r1", name="n", status="completed",
                         xla="off (train.jit_compile = auto: off on the CPU)")
    console = Console(record=True, width=120)
    for part in run_detail(summary, "", epochs, None):
        console.print(part)
    shown = console.export_text()
    assert "94% real tokens" in shown
    assert "XLA          off (train.jit_compile = auto: off on the CPU)" in shown


def _run_progress_output(terminal: bool, tokens: dict[str, int] | None) -> str:
    """What `densexp run` prints for a one-epoch run (a live terminal or piped output)."""
    from io import StringIO

    from densexp_tui.report import RunProgress

    console = Console(file=StringIO(), record=True, width=160, force_terminal=terminal,
                      force_interactive=terminal)
    started = {"run_id": "r1", "epochs": 2, "steps_per_epoch": 4, "model": "tiny-bert"}
    with RunProgress(console) as progress:
        progress.on_event(Event(seq=1, time=1.0, kind="run_started", data=started))
        progress.on_event(Event(seq=2, time=2.0, kind="step",
                                data={"step": 4, "epoch": 1, "samples_per_sec": 58.0}))
        progress.on_event(epoch_event(3, 1, tokens))
    return console.export_text()


def test_densexp_runs_live_progress_line_shows_the_token_share_like_the_dashboard():
    live = _run_progress_output(True, {"real": 940, "padded": 1000})
    assert "58 samples/s · 94% real tokens" in live
    piped = _run_progress_output(False, {"real": 940, "padded": 1000})
    assert "94% real tokens" in [line for line in piped.splitlines()
                                 if line.startswith("epoch 1/2")][0]
    # A run without token counts (the MLP) shows samples/s alone.
    tabular = _run_progress_output(True, None)
    assert "58 samples/s" in tabular and "real tokens" not in tabular


def _run_with_epochs(runs: Path, name: str, tokens: list[dict[str, int] | None]) -> str:
    """A finished run in ``runs`` whose epoch events carry ``tokens`` (None: no counts)."""
    from densexp_tui.core.config import RunConfig, apply_overrides

    store = RunStore(runs)
    handle = store.create_run(apply_overrides(RunConfig(), [f"run.name={name}"]))
    for epoch, counts in enumerate(tokens, start=1):
        data = epoch_event(epoch, epoch, counts).data
        handle.events.append("epoch", **data)
    handle.update_summary(status="completed", epochs_done=len(tokens))
    handle.close()
    return handle.run_id


def test_show_json_gives_the_padding_efficiency_show_prints(
        runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from densexp_tui.cli import main

    text_run = _run_with_epochs(runs_dir, "texty", [{"real": 300, "padded": 1000},
                                                    {"real": 123_400, "padded": 131_200}])
    mlp_run = _run_with_epochs(runs_dir, "tabular", [None, None])
    assert main(["show", text_run, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["padding_efficiency"] == pytest.approx(123_400 / 131_200)
    assert main(["show", text_run]) == 0  # the plain line says the same number
    assert "94% real tokens (123.4k real of 131.2k" in capsys.readouterr().out
    assert main(["show", mlp_run, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["padding_efficiency"] is None
