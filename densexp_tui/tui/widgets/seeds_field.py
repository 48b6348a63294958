"""The New experiment form's "Seeds" field: run the config once per seed, as one group."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from densexp_tui.core.errors import BadInput
from densexp_tui.core.seeds import parse_seeds

HINT = "e.g. 1,2,3: one run per seed, as one group (empty: one run with run.seed)"


class SeedsField(Vertical):
    """A comma-separated list of distinct integer seeds, checked as you type."""

    DEFAULT_CSS = "SeedsField { height: auto; }"

    def __init__(self) -> None:
        super().__init__(classes="config-field", id="row-seeds")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-line"):
            yield Label("Seeds", classes="field-label")
            yield Input("", id="field-seeds", compact=True, placeholder="1,2,3",
                        tooltip=HINT)
        yield Static(HINT, classes="field-message", markup=False)

    @property
    def text(self) -> str:
        return self.query_one(Input).value.strip()

    def seeds(self) -> list[int]:
        """The seeds typed (empty: none); BadInput when they do not parse."""
        return parse_seeds(self.text, key="Seeds") if self.text else []

    def problem(self) -> str | None:
        try:
            self.seeds()
        except BadInput as err:
            return err.message
        return None

    @on(Input.Changed, "#field-seeds")
    def _check(self) -> None:
        problem = self.problem()
        self.set_class(problem is not None, "-invalid")
        self.query_one(Static).update(problem or HINT)
