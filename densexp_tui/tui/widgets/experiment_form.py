"""The New experiment form's layout: which keys each step holds, the widgets of each step,
and which fields a chosen source, model and mode leave visible.

The screen (tui/screens/new_experiment.py) composes these steps and reacts to their fields;
every field is a :class:`ConfigField` built from ``core.config.FIELD_SPECS``.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Label, Select, Static

from densexp_tui.core.catalog_choices import dataset_options
from densexp_tui.core.config import (
    FIELD_SPECS,
    FILE_SOURCES,
    NAMED_SOURCES,
    RunConfig,
    is_known_tabular,
)
from densexp_tui.tui.dialogs.path_prompt import PathSuggester
from densexp_tui.tui.widgets.form import ConfigField
from densexp_tui.tui.widgets.seeds_field import SeedsField

# Keys the form does not show: lineage, set by re-run and sweeps, carried through unchanged.
CARRIED_KEYS = ("run.parent", "run.sweep", "run.trial")
DATA_KEYS = tuple(k for k in FIELD_SPECS if k.startswith("data."))
MODEL_KEYS = tuple(k for k in FIELD_SPECS if k.startswith("model."))
TRAINING_KEYS = (
    *(k for k in FIELD_SPECS if k.startswith("run.") and k not in CARRIED_KEYS),
    *(k for k in FIELD_SPECS if k.startswith(("train.", "device."))),
)
FORM_KEYS = (*DATA_KEYS, *MODEL_KEYS, *TRAINING_KEYS)
STEPS = ("tab-data", "tab-model", "tab-training", "tab-review")
MODEL_HINT = "Pick a model here, or type a model directory or a hub id below"
# Keys about words and tokens: on tabular data they do nothing (or are refused), so a user
# re-running an MLP should not be asked about max_length, bucketing or augmentation.
TEXT_ONLY_KEYS = ("data.max_length", "data.batching", "data.pad_to_multiple_of",
                  "data.augment", "data.augment_prob", "train.adversarial",
                  "train.adversarial_epsilon")


def visible_fields(source: str, model: str, finetune: str,
                   dataset: str = "") -> dict[str, bool]:
    """The fields that show or hide with the source, dataset, model and fine-tuning mode
    (the others always show): file settings for file sources, LoRA settings for LoRA, text
    settings for text data, and so on."""
    text = not is_known_tabular(source, dataset, model)
    return {
        **{key: text for key in TEXT_ONLY_KEYS},
        "data.name": source in NAMED_SOURCES,
        "data.path": source in FILE_SOURCES,
        "data.text_column": source in FILE_SOURCES,
        "data.label_column": source in FILE_SOURCES,
        "model.hidden_units": model == "mlp",
        "model.dropout": model in ("mlp", "tiny-bert"),
        "model.finetune": model != "mlp",
        **{key: finetune == "lora" and model != "mlp"
           for key in MODEL_KEYS if key.startswith("model.lora_")},
    }


def refused_on_tabular(key: str, value: Any) -> bool:
    """Augmentation and FGM set on tabular data stop the launch (core.config refuses
    them): such a field stays shown, so the user can fix what the status line names."""
    return key in ("data.augment", "train.adversarial") and value != FIELD_SPECS[key].default


def config_field(base: RunConfig, key: str, **kwargs: Any) -> ConfigField:
    """The field of ``key``, showing its value in ``base``."""
    return ConfigField(key, base.get(key), **kwargs)


def data_step(base: RunConfig) -> ComposeResult:
    """Source and dataset fields, then the preview (summary, first rows, augmented rows)."""
    source = base.data.source
    for key in DATA_KEYS:
        if key == "data.name":
            options = dataset_options(source if source in NAMED_SOURCES else "builtin")
            if base.data.name not in [value for _label, value in options]:
                options.append((base.data.name, base.data.name))
            yield config_field(base, key, options=options, label="Dataset")
        elif key == "data.path":
            yield config_field(base, key, suggester=PathSuggester())
        else:
            yield config_field(base, key)
        if key == "data.label_column":
            yield Static("", id="columns-hint", classes="form-note")
    yield Label("Preview", classes="form-heading")
    yield Static("", id="preview-summary", classes="form-note")
    yield DataTable(id="preview-table", show_cursor=False, zebra_stripes=True)
    yield Static("", id="augment-preview", classes="form-note")


def model_step(base: RunConfig) -> ComposeResult:
    """The catalog picker (filled when its scan ends), what the model is, the model fields."""
    with Horizontal(classes="field-line", id="catalog-line"):
        yield Label("Catalog", classes="field-label")
        yield Select([], prompt="scanning models…", id="model-catalog", compact=True,
                     allow_blank=True)
    yield Static(MODEL_HINT, id="model-note", classes="form-note")
    for key in MODEL_KEYS:
        yield config_field(base, key)


def training_step(base: RunConfig) -> ComposeResult:
    for key in TRAINING_KEYS:
        yield config_field(base, key)
    yield SeedsField()


def review_step() -> ComposeResult:
    """What stops a launch, the buttons, the changes against the parent, the TOML."""
    yield Static(id="review-problems")
    with Horizontal(id="review-buttons"):
        yield Button("Launch ^l", id="launch-button", variant="primary", compact=True)
        yield Button("Save TOML ^s", id="save-button", compact=True)
        yield Button("Load TOML ^o", id="load-button", compact=True)
    yield Static(id="review-diff")
    yield Static(id="review-toml")
