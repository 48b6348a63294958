"""New experiment: Data / Model / Training / Review, then Launch or Save as TOML.

Every field comes from ``core.config.FIELD_SPECS`` and is checked as you type with
``validate_field``; the Review step shows the exact TOML that will run (and, for a re-run,
what changed against the parent run). Data previews load in a thread worker so typing stays
smooth; the catalog of models is scanned in one too (the Hugging Face cache can be large).

The steps' keys and widgets are tui/widgets/experiment_form.py's, the preview and review
renderables tui/widgets/config_review.py's, the catalog's choices core/catalog_choices.py's
and what the preview worker finds engine/data/preview.py's: this screen wires them together.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Select,
    Static,
    TabbedContent,
    TabPane,
    Tabs,
)
from textual.worker import Worker, WorkerState

from densexp_tui.core.augment import augment_preview_lines, augment_preview_texts
from densexp_tui.core.catalog_choices import CatalogModel, catalog_models, dataset_options
from densexp_tui.core.config import (
    NAMED_SOURCES,
    DataSection,
    RunConfig,
    config_to_dict,
    dumps_config,
    load_config,
    parse_config,
    resolve_paths,
    save_config,
)
from densexp_tui.core.errors import BadInput, ConfigError
from densexp_tui.core.seeds import seed_configs
from densexp_tui.tui.dialogs import ConfirmDialog, PathPrompt
from densexp_tui.tui.services import UsesWorkbench
from densexp_tui.tui.widgets.config_review import (
    parent_diff,
    preview_cell,
    preview_summary,
    review_problems,
    toml_syntax,
)
from densexp_tui.tui.widgets.experiment_form import (
    CARRIED_KEYS,
    DATA_KEYS,
    FORM_KEYS,
    MODEL_HINT,
    STEPS,
    data_step,
    model_step,
    refused_on_tabular,
    review_step,
    training_step,
    visible_fields,
)
from densexp_tui.tui.widgets.form import ConfigField, field_id
from densexp_tui.tui.widgets.palette import theme_variables
from densexp_tui.tui.widgets.seeds_field import SeedsField

if TYPE_CHECKING:
    from densexp_tui.engine.data import PreviewOutcome

PREVIEW_DEBOUNCE_SECONDS = 0.4
# Keys whose change redraws the augmented examples under the data preview.
AUGMENT_PREVIEW_KEYS = ("data.augment", "data.augment_prob", "run.seed")
# Data keys whose change means a different dataset to preview.
PREVIEW_KEYS = ("data.source", "data.name", "data.path", "data.text_column",
                "data.label_column", "data.max_samples")


class NewExperimentScreen(UsesWorkbench, Screen[None]):
    """Set up a run step by step; ``config`` fills the form, ``parent`` marks a re-run."""

    AUTO_FOCUS = f"#{field_id('data.source')}"
    BINDINGS = [
        Binding("ctrl+l", "launch", "Launch", id="new.launch",
                tooltip="Start training this config (queued if a run is training)"),
        Binding("ctrl+s", "save", "Save", id="new.save",
                tooltip="Save the settings as a run TOML (asks before overwriting)"),
        Binding("ctrl+o", "load", "Load", id="new.load",
                tooltip="Fill every field from a run TOML"),
        Binding("ctrl+n", "next_step", "Next", id="new.next",
                tooltip="Go to the next step: Data, Model, Training, Review"),
        Binding("ctrl+r", "review", "Review", id="new.review",
                tooltip="Show the TOML that will run and what changed"),
        Binding("escape", "back", "Back", id="new.back",
                tooltip="Back to the runs (asks first if you changed something)"),
    ]

    def __init__(self, config: RunConfig | None = None, parent: str | None = None) -> None:
        super().__init__(id="new-experiment")
        self.parent_id = parent or ""
        self.parent_config = config if parent else None
        self.base = self._starting_config(config)
        self._initial_values = self._mapping_of(self.base)
        self._preview_timer: Timer | None = None
        # The data the preview shows or is loading (None after a problem): the same
        # settings are not loaded twice, so the preview does not flicker.
        self._preview_asked: DataSection | None = None
        self._preview_texts: list[str] = []  # the preview's texts, for the augment preview
        self._problems: list[tuple[str, str]] = []
        self._catalog: dict[str, CatalogModel] = {}
        self._status_text = ""
        self._columns_hint = ""

    def _starting_config(self, config: RunConfig | None) -> RunConfig:
        base = parse_config(config_to_dict(config)) if config else RunConfig()
        base.source_path = config.source_path if config else None
        if self.parent_id:  # a re-run is a new run of its own, not a sweep trial
            base.run.parent, base.run.sweep, base.run.trial = self.parent_id, "", -1
        return base

    @property
    def base_dir(self) -> Path:
        """Relative data and model paths are read from here (the loaded TOML's folder)."""
        return self.base.base_dir

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="steps", initial="tab-data"):
            with TabPane("1 Data", id="tab-data"):
                with VerticalScroll(classes="form-step"):
                    yield from data_step(self.base)
            with TabPane("2 Model", id="tab-model"):
                with VerticalScroll(classes="form-step"):
                    yield from model_step(self.base)
            with TabPane("3 Training", id="tab-training"):
                with VerticalScroll(classes="form-step"):
                    yield from training_step(self.base)
            with TabPane("4 Review", id="tab-review"):
                with VerticalScroll(classes="form-step", id="review-scroll"):
                    yield from review_step()
        yield Static(id="form-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # The parent's name: its id rarely fits the header at 80 columns (Review shows it).
        parent_name = self.parent_config.run.name if self.parent_config else self.parent_id
        self.sub_title = f"New experiment (re-run of {parent_name})" if self.parent_id \
            else "New experiment"
        self._scan_models()
        self._apply_visibility()
        self._revalidate()
        self._schedule_preview(0.0)

    # -- fields -----------------------------------------------------------------------------
    def config_field(self, key: str) -> ConfigField:
        return self.query_one(f"#row-{key.replace('.', '-')}", ConfigField)

    def fields(self) -> list[ConfigField]:
        return list(self.query(ConfigField))

    def _mapping_of(self, cfg: RunConfig) -> dict[str, Any]:
        return {key: cfg.get(key) for key in FORM_KEYS}

    def collect(self) -> tuple[RunConfig | None, list[tuple[str, str]]]:
        """The config the form describes, or the problems that stop it (key, message)."""
        mapping = config_to_dict(self.base)
        problems: list[tuple[str, str]] = []
        for config_field in self.fields():
            value, problem = config_field.check()
            if problem:
                problems.append((config_field.key_path, problem))
            else:
                section, key = config_field.key_path.split(".", 1)
                mapping[section][key] = value
        if problems:
            return None, problems
        try:
            cfg = parse_config(mapping, source="form")
        except ConfigError as err:
            return None, [(err.key or "config", err.message)]
        cfg.source_path = self.base.source_path
        return cfg, []

    def fill(self, cfg: RunConfig) -> None:
        """Show every value of ``cfg`` (Load TOML); options first, so values are offered."""
        self.config_field("data.source").set_value(cfg.data.source)
        self._update_dataset_options(cfg.data.source, keep=cfg.data.name)
        for config_field in self.fields():
            config_field.set_value(cfg.get(config_field.key_path))
        self._apply_visibility()
        self._revalidate()
        self._schedule_preview(0.0)

    @on(ConfigField.Changed)
    def _field_changed(self, event: ConfigField.Changed) -> None:
        key = event.key_path
        if key == "data.source":
            self._update_dataset_options(self.config_field("data.source").raw_text())
        if key == "model.name":
            self._sync_catalog(self.config_field("model.name").raw_text())
        if key in ("data.source", "data.name", "model.name", "model.finetune"):
            self._apply_visibility()
        if key in PREVIEW_KEYS:
            self._schedule_preview()
        if key in AUGMENT_PREVIEW_KEYS:
            self._show_augment_preview()
        self._revalidate()

    def _update_dataset_options(self, source: str, keep: str | None = None) -> None:
        if source not in NAMED_SOURCES:
            return
        name_field = self.config_field("data.name")
        options = dataset_options(source)
        name_field.set_options(options)
        if keep is not None and keep in [value for _label, value in options]:
            name_field.set_value(keep)

    def _apply_visibility(self) -> None:
        """Show only the fields that matter for the chosen source, model and mode."""
        source = self.config_field("data.source").raw_text()
        model = self.config_field("model.name").raw_text().strip()
        finetune = self.config_field("model.finetune").raw_text()
        shown = visible_fields(source, model, finetune,
                               self.config_field("data.name").raw_text().strip())
        for key, visible in shown.items():
            config_field = self.config_field(key)
            config_field.display = visible or refused_on_tabular(key, config_field.check()[0])
        self.query_one("#columns-hint").display = shown["data.label_column"] and bool(
            self._columns_hint)

    def _revalidate(self) -> None:
        """Recheck every field (cheap) and say whether the config can launch."""
        cfg, self._problems = self.collect()
        status = self.query_one("#form-status", Static)
        status.set_class(bool(self._problems), "-invalid")
        if self._problems:
            key, message = self._problems[0]
            more = f" (+{len(self._problems) - 1} more)" if len(self._problems) > 1 else ""
            text = f"✗ {key}: {message}{more}"
        else:
            text = "✓ ready: ^l launch · ^s save · ^r review the TOML"
        if text != self._status_text:  # an update re-lays out the screen: only on change
            self._status_text = text
            status.update(Text(text))
        self.query_one("#launch-button", Button).disabled = bool(self._problems)
        if self.query_one("#steps", TabbedContent).active == "tab-review":
            self._render_review(cfg)

    # -- model catalog ----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="catalog", exit_on_error=False,
          name="scanning the model catalog")
    def _scan_models(self) -> list[CatalogModel]:
        return catalog_models()

    def _show_catalog(self, models: list[CatalogModel]) -> None:
        catalog = self.query_one("#model-catalog", Select)
        self._catalog = {model.name: model for model in models}
        catalog.set_options([(model.label, model.name) for model in models])
        catalog.prompt = "pick a model…"
        self._sync_catalog(self.config_field("model.name").raw_text())

    def _sync_catalog(self, name: str) -> None:
        """Show the typed model in the picker (or nothing), and say what it is."""
        catalog = self.query_one("#model-catalog", Select)
        model = self._catalog.get(name.strip())
        wanted = model.name if model else Select.NULL
        if catalog.value != wanted:
            with catalog.prevent(Select.Changed):
                catalog.value = wanted
        note = model.description if model else MODEL_HINT
        self.query_one("#model-note", Static).update(Text(note))

    @on(Select.Changed, "#model-catalog")
    def _catalog_picked(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.config_field("model.name").set_value(str(event.value))
            self._apply_visibility()
            self._revalidate()

    # -- data preview -----------------------------------------------------------------------
    def _schedule_preview(self, delay: float = PREVIEW_DEBOUNCE_SECONDS) -> None:
        """Preview after typing pauses, so each keystroke does not load the dataset."""
        if self._preview_timer is not None:
            self._preview_timer.stop()
            self._preview_timer = None
        if delay <= 0:
            self.call_later(self._start_preview)
        else:
            self._preview_timer = self.set_timer(delay, self._start_preview)

    def _start_preview(self) -> None:
        data = self._data_section()
        if data is None:
            self._show_preview_problem("fix the data fields above to see a preview")
            return
        if data == self._preview_asked:  # a field re-set to its value (a Select's Changed)
            return
        self._preview_asked = data
        self.query_one("#preview-summary", Static).update(Text("loading the preview…"))
        self._load_preview(data, self.base_dir)

    def _data_section(self) -> DataSection | None:
        values = {}
        for key in DATA_KEYS:
            value, problem = self.config_field(key).check()
            if problem:
                return None
            values[key.split(".", 1)[1]] = value
        return DataSection(**values)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _load_preview(self, data: DataSection, base_dir: Path) -> PreviewOutcome:
        from densexp_tui.engine.data import preview_for_form  # no TensorFlow

        return preview_for_form(data, base_dir)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.group == "catalog":
            # The app shows the error; the picker must not promise a scan that ended.
            self.query_one("#model-catalog", Select).prompt = "no catalog (the scan failed)"
        if event.state != WorkerState.SUCCESS:
            return
        result = event.worker.result
        if event.worker.group == "preview":
            # Loaded by the worker that just ended (kept out of the screen's own import).
            from densexp_tui.engine.data import PreviewOutcome

            if isinstance(result, PreviewOutcome):
                self._show_preview(result)
        elif event.worker.group == "catalog" and isinstance(result, list):
            self._show_catalog(result)

    def _show_preview(self, outcome: PreviewOutcome) -> None:
        self.config_field("data.text_column").set_suggestions(outcome.columns)
        self.config_field("data.label_column").set_suggestions(outcome.columns)
        hint = "Columns: " + ", ".join(outcome.columns) if outcome.columns else ""
        self._columns_hint = hint
        self.query_one("#columns-hint", Static).update(Text(hint))
        self._apply_visibility()
        if outcome.preview is None:
            self._show_preview_problem(outcome.problem or "no preview")
            return
        preview = outcome.preview
        summary = self.query_one("#preview-summary", Static)
        summary.remove_class("-invalid")
        summary.update(preview_summary(preview))
        table = self.query_one("#preview-table", DataTable)
        table.clear(columns=True)
        table.display = True
        for column in preview.columns:
            table.add_column(column, key=column)
        for row in preview.rows:
            table.add_row(*(preview_cell(row.get(c, "")) for c in preview.columns))
        text_column = self.config_field("data.text_column").raw_text().strip()
        self._preview_texts = augment_preview_texts(preview, text_column)
        self._show_augment_preview()

    def _show_augment_preview(self) -> None:
        """A few preview rows next to their augmented form (3 short rows: cheap enough for
        the UI thread); hidden when augmentation is off or a field is invalid."""
        widget = self.query_one("#augment-preview", Static)
        ops, ops_problem = self.config_field("data.augment").check()
        prob, prob_problem = self.config_field("data.augment_prob").check()
        seed, seed_problem = self.config_field("run.seed").check()
        texts = self._preview_texts
        widget.display = bool(ops and texts and not (ops_problem or prob_problem or seed_problem))
        if widget.display:
            widget.update(Text("\n".join(augment_preview_lines(texts, ops, prob, seed))))

    def _show_preview_problem(self, problem: str) -> None:
        self._preview_asked = None  # the same settings may load once the cause is fixed
        summary = self.query_one("#preview-summary", Static)
        summary.add_class("-invalid")
        summary.update(Text(f"✗ {problem}"))
        self.query_one("#preview-table", DataTable).display = False

    # -- steps ------------------------------------------------------------------------------
    def action_next_step(self) -> None:
        tabs = self.query_one("#steps", TabbedContent)
        self._show_step(STEPS[(STEPS.index(tabs.active) + 1) % len(STEPS)])

    def action_review(self) -> None:
        self._show_step("tab-review")

    def _show_step(self, step: str) -> None:
        # Drop focus first: a focused widget in the step being hidden would otherwise pull
        # its step back into view (TabbedContent follows focus).
        self.set_focus(None)
        self.query_one("#steps", TabbedContent).active = step

    @on(TabbedContent.TabActivated, "#steps")
    def _step_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-review":
            self._render_review(self.collect()[0])
        self.call_after_refresh(self._focus_in_step, event.pane)

    def _focus_in_step(self, pane: Widget) -> None:
        """Came by key (^n, ^r): start at the step's first field. Focus on the tab bar or
        already inside the step (a refusal pointing at a field) stays where it is."""
        focused = self.focused
        if isinstance(focused, Tabs) or (focused is not None and pane in focused.ancestors):
            return
        for widget in pane.query("Input, Select, Checkbox, Button"):
            if widget.focusable:
                widget.focus()
                return

    def _render_review(self, cfg: RunConfig | None) -> None:
        problems = self.query_one("#review-problems", Static)
        problems.update(review_problems(self._problems))
        problems.set_class(bool(self._problems), "-invalid")
        diff = self.query_one("#review-diff", Static)
        diff.display = self.parent_config is not None
        diff.update(parent_diff(self.parent_config, self.parent_id, cfg, CARRIED_KEYS)
                    if self.parent_config is not None and cfg is not None else Text(""))
        toml = dumps_config(cfg) if cfg is not None else ""
        self.query_one("#review-toml", Static).update(
            toml_syntax(toml, theme_variables(self.app)))

    # -- launch, save, load, back -----------------------------------------------------------
    @on(Button.Pressed, "#launch-button")
    def action_launch(self) -> None:
        cfg, problems = self.collect()
        if cfg is None:
            self._refuse("Cannot launch", problems)
            return
        seeds = self.query_one(SeedsField)
        if seeds.problem():
            self._refuse("Cannot launch", [("Seeds", seeds.problem() or "")])
            return
        for index, one in enumerate(seed_configs(cfg, seeds.seeds()) if seeds.text else [cfg]):
            self.densexp.launch_run(one, watch=index == 0)  # a group: watch the first seed
        self.densexp.remember_experiment_config(cfg)  # a new sweep starts from these settings
        self.dismiss(None)

    def _refuse(self, title: str, problems: list[tuple[str, str]]) -> None:
        """Say what is wrong and take the user to the first bad field."""
        key, message = problems[0]
        count = f"{len(problems)} problems; first: " if len(problems) > 1 else ""
        self.notify(f"{count}{key}: {message}", title=title, severity="error", timeout=8)
        if key in FORM_KEYS:
            self.config_field(key).display = True
            # Focusing a field in a hidden step makes TabbedContent show that step.
            self.config_field(key).editor.focus()

    @on(Button.Pressed, "#save-button")
    def action_save(self) -> None:
        cfg, problems = self.collect()
        if cfg is None:
            self._refuse("Cannot save", problems)
            return
        default = str(self.base.source_path) if self.base.source_path and not self.parent_id \
            else f"{cfg.run.name}.toml"
        self.app.push_screen(
            PathPrompt("Save the settings as a run TOML", default=_relative(default),
                       confirm_overwrite=True),
            lambda path: self._save_to(cfg, path) if path else None,
        )

    def _save_to(self, cfg: RunConfig, path: Path) -> None:
        if cfg.base_dir.resolve() != path.resolve().parent:
            cfg = resolve_paths(cfg)  # relative paths would mean something else over there
        try:
            save_config(cfg, path)
        except OSError as exc:
            self.notify(f"{path}: cannot save ({exc.strerror or exc})", severity="error")
            return
        self.densexp.remember_experiment_config(cfg)
        self.notify(f"Saved {path}", title="Saved")

    @on(Button.Pressed, "#load-button")
    def action_load(self) -> None:
        self.app.push_screen(PathPrompt("Load a run TOML", must_exist=True),
                             lambda path: self._load_from(path) if path else None)

    def _load_from(self, path: Path) -> None:
        try:
            cfg = load_config(path)
        except BadInput as err:
            self.notify(str(err), title="Not loaded", severity="error", timeout=10)
            return
        carried = {key: self.base.get(key) for key in CARRIED_KEYS}
        self.base = cfg
        for key, value in carried.items():  # a re-run stays a re-run of its parent
            section, name = key.split(".")
            setattr(getattr(self.base, section), name, value)
        self.fill(cfg)
        self.notify(f"Loaded {path}", title="Loaded")

    def is_dirty(self) -> bool:
        cfg, problems = self.collect()
        return bool(problems) or cfg is None or self._mapping_of(cfg) != self._initial_values

    def action_back(self) -> None:
        if not self.is_dirty():
            self.dismiss(None)
            return
        self.app.push_screen(
            ConfirmDialog("Leave this experiment? The settings you changed are not saved.",
                          title="Discard changes?", yes="Discard"),
            self._discard_answered,
        )

    def _discard_answered(self, yes: bool | None) -> None:
        # A callback's return value is awaited: dismiss() must not be returned from here.
        if yes:
            self.dismiss(None)


def _relative(path: str) -> str:
    """Paths under the working directory are shorter to read and edit."""
    try:
        return os.path.relpath(path) if os.path.isabs(path) else path
    except ValueError:
        return path
