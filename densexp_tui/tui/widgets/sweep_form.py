"""The Sweeps screen's New sweep form: its fields, and reading them into a SweepForm.

The screen mounts these fields when the New sweep tab is first shown and starts the sweep;
this module only knows what the form holds (sweep.launch turns it into a sweep file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.dom import DOMNode
from textual.widgets import Button, Checkbox, Input, Select, Static

from densexp_tui.core.config import FIELD_SPECS
from densexp_tui.core.sweepconfig import OBJECTIVES, PRUNERS, SAMPLERS

if TYPE_CHECKING:  # sweep.launch is imported when the form is read, as the screen did
    from densexp_tui.sweep.launch import SweepForm

SPACE_ROWS = 3
# Keys a sweep can search: numbers and choices (strings like data.path make no sense).
SEARCHABLE_KEYS = tuple(
    key for key, spec in FIELD_SPECS.items()
    if not key.startswith("run.") or key in ("run.seed", "run.deterministic")
    if spec.kind in ("int", "float", "bool", "list[int]") or spec.choices
)
# The first search-space rows, filled in: (key, low, high, log scale).
DEFAULT_SPACE = [("train.learning_rate", "1e-4", "3e-3", True),
                 ("train.batch_size", "", "", False), ("model.dropout", "0.0", "0.3", False)]


class FormScroll(VerticalScroll, can_focus=False):
    """The form's scrolling column. Not a focus stop of its own: focused, it showed nothing,
    so one Tab seemed dropped, and the screen's letter keys (s stops a study) were live
    under a form that looked focused. A focused field scrolls itself into view."""


class LogScaleBox(Checkbox):
    """A row's "log" box that shows its X only when on. Textual's box keeps a dim X when
    off, which reads as ticked in a terminal without colours (three rows, one on, all X)."""

    def __init__(self, label: str, value: bool, *, id: str) -> None:  # noqa: A002 (Textual's name)
        super().__init__(label, value, id=id)
        self._show_mark()

    def watch_value(self) -> None:
        super().watch_value()
        self._show_mark()
        self.refresh()

    def _show_mark(self) -> None:
        self.BUTTON_INNER = "X" if self.value else " "


def compose_sweep_form() -> ComposeResult:
    """The form's fields (ids new-* and space-*-N), in one scrolling column."""
    with FormScroll():
        yield Static("", id="new-base", classes="hint")
        with Horizontal(classes="form-row"):
            yield Input(placeholder="name (default: <run name>-sweep)", id="new-name")
            yield Input(placeholder="base TOML (blank: settings above)", id="new-base-path")
        yield Static("Objective, sampler, pruner and how many finished trials",
                     classes="hint")
        with Horizontal(classes="form-row"):
            yield Select([(o, o) for o in OBJECTIVES], value="val.f1", allow_blank=False,
                         id="new-objective")
            yield Select([(s, s) for s in SAMPLERS], value="tpe", allow_blank=False,
                         id="new-sampler")
            yield Select([(p, p) for p in PRUNERS], value="median", allow_blank=False,
                         id="new-pruner")
            yield Input("12", placeholder="n_trials", id="new-n-trials")
        # The inputs start filled in, so their grey hints never show: this line names them.
        yield Static("Worker processes at once; or the GPUs to give one worker each",
                     classes="hint")
        with Horizontal(classes="form-row"):
            yield Input("1", placeholder="workers", id="new-workers",
                        tooltip="Local worker processes training trials at once")
            yield Input("", placeholder="GPUs, e.g. 0,1 (one worker each)", id="new-gpus",
                        tooltip="One worker per GPU, each seeing only its own GPU")
        yield Static("Search space: low and high (log for a log scale), or choices "
                     "separated by commas", classes="hint")
        for index in range(SPACE_ROWS):
            yield from _space_row(index)
        with Horizontal(classes="form-row"):
            yield Button("Start sweep", id="new-start", variant="primary")
        yield Static("", id="new-problem")


def _space_row(index: int) -> ComposeResult:
    key, low, high, log = DEFAULT_SPACE[index] if index < len(DEFAULT_SPACE) else (
        "", "", "", False)
    # A grid, not a row: on a narrow screen the key takes a line of its own (with the log
    # box), so "train.learning_rate" is read whole instead of cut to "train.le".
    with Grid(classes="space-row"):
        yield Select([(k, k) for k in SEARCHABLE_KEYS], value=key or Select.NULL,
                     prompt="key", id=f"space-key-{index}", classes="space-key")
        yield LogScaleBox("log", log, id=f"space-log-{index}")
        yield Input(low, placeholder="low", id=f"space-low-{index}")
        yield Input(high, placeholder="high", id=f"space-high-{index}")
        yield Input("16, 32" if key == "train.batch_size" else "",
                    placeholder="choices", id=f"space-choices-{index}")


def read_sweep_form(root: DOMNode) -> SweepForm:
    """What the form's fields under ``root`` hold (the screen that mounted them)."""
    from densexp_tui.sweep.launch import SpaceRow, SweepForm

    def value(selector: str) -> str:
        return root.query_one(selector, Input).value

    rows = []
    for index in range(SPACE_ROWS):
        select = root.query_one(f"#space-key-{index}", Select)
        rows.append(SpaceRow(key="" if select.is_blank() else str(select.value),
                             low=value(f"#space-low-{index}"),
                             high=value(f"#space-high-{index}"),
                             log=root.query_one(f"#space-log-{index}", Checkbox).value,
                             choices=value(f"#space-choices-{index}")))
    return SweepForm(
        name=value("#new-name"), objective=str(root.query_one("#new-objective", Select).value),
        sampler=str(root.query_one("#new-sampler", Select).value),
        pruner=str(root.query_one("#new-pruner", Select).value),
        n_trials=value("#new-n-trials"), rows=rows,
        workers=value("#new-workers"), gpus=value("#new-gpus"))
