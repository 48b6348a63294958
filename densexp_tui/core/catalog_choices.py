"""The catalog as the New experiment form offers it: one labelled choice per dataset or model.

Textual-free (the form's catalog worker calls ``catalog_models``; labels are plain text), so
what a choice says is tested without an app. The catalog itself is core/catalog.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from densexp_tui.core.catalog import DatasetInfo, ModelInfo, list_datasets, list_models


def dataset_label(info: DatasetInfo) -> str:
    """``reviews · text, 3 classes, 1,200 rows``, and whether it still needs downloading."""
    label = f"{info.name} · {info.kind}, {info.n_classes} classes, {info.n_rows:,} rows"
    return label + ("" if info.available else " (not downloaded)")


def dataset_options(source: str) -> list[tuple[str, str]]:
    """(label, name) of the catalog datasets of a builtin/keras ``source``."""
    options = [(dataset_label(info), info.name) for info in list_datasets()
               if info.source == source]
    return options or [("reviews", "reviews")]


@dataclass
class CatalogModel:
    """One model the catalog offers: the picker's label, the name to use, what it is."""

    label: str
    name: str
    description: str


def catalog_model(info: ModelInfo) -> CatalogModel:
    """``name · kind, arch, size``, and why it cannot be used yet when it cannot."""
    details = [info.kind]
    if info.arch:
        details.append(info.arch)
    if info.size_bytes:
        details.append(f"{info.size_bytes / 1e6:.0f} MB")
    label = f"{info.name} · {', '.join(details)}"
    label += "" if info.available else f" ({info.note})"
    return CatalogModel(label, info.name, info.note or info.description)


def catalog_models() -> list[CatalogModel]:
    """Catalog models (builtins, ./models, Hugging Face cache), labelled with what they are."""
    return [catalog_model(info) for info in list_models()]
