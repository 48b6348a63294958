"""Form fields generated from ``core.config.FIELD_SPECS``, validated as you type.

One :class:`ConfigField` per config key: a label, an editor chosen from the spec (Select for
choices, Checkbox for booleans, Input otherwise) and a message line under it that shows the
key's help and default, or the exact message ``validate_field`` gives (the same text the
engine and the CLI print for the same mistake).
"""

from __future__ import annotations

from typing import Any, Iterable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from densexp_tui.core.config import FIELD_SPECS, FieldSpec, validate_field

SelectOptions = list[tuple[str, str]]


def field_id(key_path: str) -> str:
    """The editor's DOM id: ``train.learning_rate`` -> ``field-train-learning_rate``."""
    return "field-" + key_path.replace(".", "-")


# Labels that the key name alone would spell badly.
LABELS = {
    "run.name": "Run name",
    "data.source": "Source",
    "data.name": "Dataset",
    "model.name": "Model",
    "model.finetune": "Fine-tuning mode",
    "train.lr_schedule": "LR schedule",
    "device.device": "Device",
}
_WORDS = {"lr": "LR", "lora": "LoRA"}


def field_label(key_path: str) -> str:
    """``train.early_stopping_patience`` -> ``Early stopping patience``."""
    if key_path in LABELS:
        return LABELS[key_path]
    words = [_WORDS.get(w, w) for w in key_path.split(".", 1)[1].split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def value_to_text(value: Any) -> str:
    """A config value as a person would type it; ``validate_field`` reads it back unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that round-trips exactly (5e-05, 0.001)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


class SpecValidator(Validator):
    """Input validation through ``validate_field``, so messages match the engine's."""

    def __init__(self, key_path: str) -> None:
        super().__init__()
        self.key_path = key_path

    def validate(self, value: str) -> ValidationResult:
        _, problem = validate_field(self.key_path, value)
        return self.failure(problem) if problem else self.success()


class OptionsSuggester(Suggester):
    """Inline completion from a list that can change (a file's columns, catalog models)."""

    def __init__(self, options: Iterable[str] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.options = list(options)

    async def get_suggestion(self, value: str) -> str | None:
        for option in self.options:
            if option.startswith(value) and option != value:
                return option
        return None


class OnOffCheckbox(Checkbox):
    """A checkbox that says its state: X and "on", or a blank and "off". Textual's own draws
    the same X either way and only colour tells them apart, which is lost on a monochrome
    terminal (a false ``deterministic`` read as "X enabled")."""

    def __init__(self, value: bool, **kwargs: Any) -> None:
        super().__init__(_on_off(value), value=value, **kwargs)

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "

    def watch_value(self) -> None:
        super().watch_value()
        if hasattr(self, "_label"):  # the first set happens before the label exists
            self.label = _on_off(self.value)


def _on_off(value: bool) -> str:
    return "on" if value else "off"


class ConfigField(Vertical):
    """One config key: label and editor on a line, its message line under them."""

    class Changed(Message):
        """The field's text changed; ``problem`` is None when it is valid."""

        def __init__(self, config_field: ConfigField, problem: str | None) -> None:
            super().__init__()
            self.config_field = config_field
            self.problem = problem

        @property
        def key_path(self) -> str:
            return self.config_field.key_path

        @property
        def control(self) -> ConfigField:
            return self.config_field

    def __init__(self, key_path: str, value: Any, *, options: SelectOptions | None = None,
                 suggestions: Iterable[str] | None = None, label: str | None = None,
                 suggester: Suggester | None = None) -> None:
        super().__init__(classes="config-field", id=f"row-{key_path.replace('.', '-')}")
        self.key_path = key_path
        self.spec: FieldSpec = FIELD_SPECS[key_path]
        self.label_text = label or field_label(key_path)
        self._initial = value
        self._options = options
        self.suggester = suggester or OptionsSuggester(suggestions or ())
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-line"):
            yield Label(self.label_text, classes="field-label")
            yield self._make_editor(self._initial)
        self._message_text = self._hint(self._initial)
        yield Static(self._message_text, classes="field-message", markup=False)

    def _make_editor(self, value: Any) -> Widget:
        editor_id = field_id(self.key_path)
        tooltip = f"{self.key_path}: {self.spec.help}"
        options = self._options or (
            [(choice, choice) for choice in self.spec.choices] if self.spec.choices else None
        )
        editor: Widget
        if options is not None:
            editor = Select(options, value=value, allow_blank=False, compact=True, id=editor_id)
        elif self.spec.kind == "bool":
            editor = OnOffCheckbox(bool(value), compact=True, id=editor_id)
        else:
            editor = Input(value_to_text(value), id=editor_id, compact=True,
                           validators=[SpecValidator(self.key_path)],
                           suggester=self.suggester, valid_empty=False)
        editor.tooltip = tooltip
        return editor

    def _hint(self, value: Any) -> str:
        """The key's help, plus its default when the value differs from it."""
        if value == self.spec.default:
            return self.spec.help
        return f"{self.spec.help} · default {value_to_text(self.spec.default) or '(empty)'}"

    # -- reading and writing ----------------------------------------------------------------
    @property
    def editor(self) -> Widget:
        return self.query_one(f"#{field_id(self.key_path)}")

    def raw_text(self) -> str:
        """What the editor holds, as text for ``validate_field``."""
        editor = self.editor
        if isinstance(editor, Input):
            return editor.value
        if isinstance(editor, Checkbox):
            return "true" if editor.value else "false"
        value = editor.value if isinstance(editor, Select) else ""
        return "" if value is Select.NULL else str(value)

    def check(self) -> tuple[Any, str | None]:
        """(value, None) when valid, else (None, the message)."""
        return validate_field(self.key_path, self.raw_text())

    def set_value(self, value: Any) -> None:
        """Show ``value`` (a config value of the spec's type)."""
        editor = self.editor
        if isinstance(editor, Input):
            editor.value = value_to_text(value)
        elif isinstance(editor, Checkbox):
            editor.value = bool(value)
        elif isinstance(editor, Select):
            editor.value = value
        self._show_problem(self.check()[1])

    def set_options(self, options: SelectOptions) -> None:
        """Replace a Select's options, keeping the value when it is still offered."""
        editor = self.editor
        if not isinstance(editor, Select) or options == self._options:
            return
        current = editor.value
        self._options = options
        editor.set_options(options)
        values = [value for _label, value in options]
        if current in values:
            editor.value = current

    def set_suggestions(self, suggestions: Iterable[str]) -> None:
        if isinstance(self.suggester, OptionsSuggester):
            self.suggester.options = list(suggestions)

    # -- reacting to edits ------------------------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self, event: Message) -> None:
        event.stop()
        problem = self.check()[1]
        self._show_problem(problem)
        self.post_message(self.Changed(self, problem))

    def _show_problem(self, problem: str | None) -> None:
        self.problem = problem
        self.set_class(problem is not None, "-invalid")
        text = f"✗ {problem}" if problem else self._hint(self.check()[0])
        if text != self._message_text:  # an update re-lays out the screen: only on change
            self._message_text = text
            self.query_one(".field-message", Static).update(text)
