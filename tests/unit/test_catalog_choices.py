"""The catalog as the New experiment form offers it (core/catalog_choices.py): each choice
says what it is, and why it cannot be used yet when it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from densexp_tui.core import catalog_choices
from densexp_tui.core.catalog import DatasetInfo, ModelInfo
from densexp_tui.core.catalog_choices import catalog_model, dataset_label, dataset_options

pytestmark = pytest.mark.timeout(30)


def test_a_dataset_choice_names_kind_classes_and_rows() -> None:
    info = DatasetInfo("imdb", "keras", "text", 2, 50_000, "movie reviews", available=False)
    assert dataset_label(info) == "imdb · text, 2 classes, 50,000 rows (not downloaded)"
    assert dataset_label(DatasetInfo("iris", "builtin", "tabular", 3, 150, "")) == \
        "iris · tabular, 3 classes, 150 rows"


def test_the_options_of_a_source_are_its_datasets_only() -> None:
    builtin = [name for _label, name in dataset_options("builtin")]
    assert "reviews" in builtin and "iris" in builtin and "imdb" not in builtin
    assert [name for _label, name in dataset_options("keras")] == ["imdb"]
    assert dataset_options("csv") == [("reviews", "reviews")]  # none: the default stays


def test_a_model_choice_says_what_it_is_and_why_it_cannot_train() -> None:
    usable = ModelInfo("./models/bert", "local", Path("models/bert"), "BertModel", 17_400_000,
                       description="local model directory")
    assert catalog_model(usable) == catalog_choices.CatalogModel(
        "./models/bert · local, BertModel, 17 MB", "./models/bert", "local model directory")
    broken = ModelInfo("./models/pt", "local", Path("models/pt"), None, 0,
                       description="local model directory", available=False,
                       note="only pytorch_model.bin (needs PyTorch)")
    choice = catalog_model(broken)
    assert choice.label == "./models/pt · local (only pytorch_model.bin (needs PyTorch))"
    assert choice.description == "only pytorch_model.bin (needs PyTorch)"


def test_every_catalog_model_becomes_a_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    infos = [ModelInfo("tiny-bert", "builtin", None, None, 0, "built from a config"),
             ModelInfo("mlp", "builtin", None, None, 0, "dense layers")]
    monkeypatch.setattr(catalog_choices, "list_models", lambda: infos)
    assert [(m.label, m.name) for m in catalog_choices.catalog_models()] == [
        ("tiny-bert · builtin", "tiny-bert"), ("mlp · builtin", "mlp")]
