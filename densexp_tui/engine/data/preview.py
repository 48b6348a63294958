"""What the New experiment form shows before training: first rows, balance, lengths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from densexp_tui.core.config import FILE_SOURCES, DataSection
from densexp_tui.core.errors import BadInput
from densexp_tui.engine.data.dataset import Dataset
from densexp_tui.engine.data.readers import sniff_columns
from densexp_tui.engine.data.sources import load_dataset


@dataclass
class Preview:
    """What the TUI shows before training: first rows, class balance, text lengths."""

    columns: list[str]
    rows: list[dict[str, str]]
    class_counts: dict[str, int]
    length_percentiles: dict[str, int]  # words per text: p50, p90, p99, max; {} for tabular
    n_rows: int
    kind: str
    label_names: list[str]
    source_desc: str


def preview_dataset(data: DataSection, base_dir: Path | None = None, n_rows: int = 8) -> Preview:
    """First rows, class counts and text lengths of the dataset ``data`` describes.

    Loads through :func:`load_dataset` (seed 0 for a ``max_samples`` subset), so the preview
    raises the same DataError a run would.
    """
    dataset = load_dataset(data, base_dir)
    if dataset.texts is not None:
        texts = dataset.texts
        columns = [data.text_column, data.label_column]
        rows = [
            {data.text_column: texts[i], data.label_column: _label_of(dataset, i)}
            for i in range(min(n_rows, len(dataset)))
        ]
        lengths = _word_length_percentiles(texts)
    else:
        columns = [*(dataset.feature_names or []), "label"]
        rows = [_tabular_row(dataset, i) for i in range(min(n_rows, len(dataset)))]
        lengths = {}
    return Preview(
        columns=columns,
        rows=rows,
        class_counts=dataset.class_counts(),
        length_percentiles=lengths,
        n_rows=len(dataset),
        kind=dataset.kind,
        label_names=list(dataset.label_names),
        source_desc=dataset.source_desc,
    )


@dataclass
class PreviewOutcome:
    """What the form's preview found: the file's columns and a Preview, or why not."""

    columns: list[str]
    preview: Preview | None
    problem: str | None


def preview_for_form(data: DataSection, base_dir: Path) -> PreviewOutcome:
    """The data file's columns (the form offers them for text/label_column) and its preview.
    A dataset that cannot be previewed gives the reason, never an exception: the user is
    still typing the settings."""
    path = Path(data.path).expanduser()
    columns = sniff_columns(data.source, path if path.is_absolute() else base_dir / path) \
        if data.source in FILE_SOURCES and data.path else []
    try:
        return PreviewOutcome(columns, preview_dataset(data, base_dir), None)
    except BadInput as err:
        return PreviewOutcome(columns, None, str(err))
    except Exception as exc:  # a library error reading odd data: show it, keep typing
        return PreviewOutcome(columns, None, f"{type(exc).__name__}: {exc}")


def _label_of(dataset: Dataset, index: int) -> str:
    return dataset.label_names[int(dataset.labels[index])]


def _tabular_row(dataset: Dataset, index: int) -> dict[str, str]:
    if dataset.features is None or dataset.feature_names is None:
        raise ValueError(f"{dataset.source_desc} has no features: it is a {dataset.kind} set")
    values = dataset.features[index]
    row = {name: f"{value:.4g}" for name, value in zip(dataset.feature_names, values, strict=True)}
    row["label"] = _label_of(dataset, index)
    return row


def _word_length_percentiles(texts: list[str]) -> dict[str, int]:
    """p50/p90/p99/max of words per text: what max_length should roughly cover."""
    counts = np.fromiter((len(text.split()) for text in texts), dtype=np.int64, count=len(texts))
    p50, p90, p99 = np.percentile(counts, [50, 90, 99])
    return {"p50": round(p50), "p90": round(p90), "p99": round(p99), "max": int(counts.max())}
