"""The compare screen's verdict in words: is B better than A on the test split?

The first chosen run is A; every other run is a B compared with it on test F1 and test
accuracy (paired bootstrap / exact McNemar over the same test examples, core.comparing).
A run's seed group is named. The statistics run in a thread worker; the result is posted.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widget import Widget

from densexp_tui.core.comparing import load_predictions_of
from densexp_tui.core.errors import BadInput
from densexp_tui.core.predictions import Predictions
from densexp_tui.core.runstore import RunStore
from densexp_tui.core.significance import metric_name, paired_comparison
from densexp_tui.tui.widgets.palette import fg, muted_color

METRICS = ("test.f1", "test.accuracy")
MAX_PAIRS = 3


@dataclass(frozen=True)
class PairLine:
    b_id: str
    text: str
    ok: bool  # False: the test could not be done (text says why)


def verdict_lines(store: RunStore, run_ids: list[str]) -> list[PairLine]:
    """One line per (A, B) pair and metric; a refused test is a line saying why. The runs
    are ids (folders): each one's predictions are read once, not per pair and metric."""
    if len(run_ids) < 2:
        return []
    try:
        a_side: Predictions | BadInput = load_predictions_of(store, run_ids[0])
    except BadInput as err:
        a_side = err
    lines: list[PairLine] = []
    for b_id in run_ids[1:1 + MAX_PAIRS]:
        try:
            if isinstance(a_side, BadInput):
                raise a_side
            b_side = load_predictions_of(store, b_id)
        except BadInput as err:
            lines.append(PairLine(b_id, err.message, False))
            continue
        for metric in METRICS:
            try:
                result = paired_comparison(a_side, b_side, metric_name(metric))
            except BadInput as err:
                lines.append(PairLine(b_id, err.message, False))
                break  # the other metric would fail for the same reason
            lines.append(PairLine(b_id, f"{result.sentence} ({result.test.split(';')[0]}, "
                                        f"n = {result.n})", True))
    return lines


def group_note(store: RunStore, run_ids: list[str]) -> str:
    """"A in group g (3 seeds) · B in group h (3 seeds)" for the runs that have a group."""
    notes = []
    for letter, run_id in zip("AB", run_ids[:2], strict=False):
        run = store.read_summary(run_id)
        if run.group:
            seeds = len(store.runs_with("group", run.group))
            notes.append(f"{letter} in group {run.group} ({seeds} seeds; "
                         f"`densexp compare {run.group} OTHER` for seeds as samples)")
    return " · ".join(notes)


class PairedComparison(Widget):
    """A few lines: "B is better by 2.1 F1 points, 95% CI 0.4 to 3.8; p = 0.01"."""

    DEFAULT_CSS = "PairedComparison { height: auto; padding: 0 1; }"

    class Computed(Message):
        def __init__(self, lines: list[PairLine], note: str) -> None:
            super().__init__()
            self.lines = lines
            self.note = note

    def __init__(self, run_ids: list[str], store: RunStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_ids = list(run_ids)
        self.store = store
        self.lines: list[PairLine] | None = None
        self.note = ""

    def on_mount(self) -> None:
        if len(self.run_ids) >= 2:
            self._compute()
        else:
            self.lines = []

    @work(thread=True, exclusive=True, group="paired-comparison", exit_on_error=False)
    def _compute(self) -> None:
        self.post_message(self.Computed(verdict_lines(self.store, self.run_ids),
                                        group_note(self.store, self.run_ids)))

    def on_paired_comparison_computed(self, message: Computed) -> None:
        message.stop()
        self.lines, self.note = message.lines, message.note
        self.refresh(layout=True)

    def render(self) -> Text:
        muted = fg(muted_color(self.app))
        if self.lines is None:
            return Text("Test split: comparing A with B…", style=muted)
        if not self.lines:
            return Text("Test split: pick two runs for a paired test", style=muted)
        text = Text()
        text.append(f"A = {self.run_ids[0]} (the first run)", style=muted)
        if self.note:
            text.append(f" · {self.note}", style=muted)
        for line in self.lines:
            text.append(f"\nB = {line.b_id}: ", style=muted)
            text.append(line.text, style="" if line.ok else muted)
        return text
