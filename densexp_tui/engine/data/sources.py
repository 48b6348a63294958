"""The six ``[data] source`` loaders and :func:`load_dataset`, which picks one.

Each loader turns its source into one :class:`Dataset`; anything wrong with the user's data
raises :class:`~densexp_tui.core.errors.DataError` with one line naming the file, the key and
what is allowed, before a run directory exists. scikit-learn, pyarrow and datasets are
imported where used, so importing this module stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from densexp_tui.core.catalog import (
    IMDB_FETCH_COMMAND,
    IMDB_FILE,
    IMDB_WORD_INDEX_FILE,
    keras_datasets_dir,
)
from densexp_tui.core.config import (
    BUILTIN_DATASETS,
    DATA_SOURCES,
    KERAS_DATASETS,
    NAMED_SOURCES,
    DataSection,
)
from densexp_tui.core.errors import DataError
from densexp_tui.engine.data.dataset import Dataset, first_line
from densexp_tui.engine.data.labels import class_label_dataset, text_dataset
from densexp_tui.engine.data.readers import (
    check_distinct_columns,
    column_index,
    read_csv_rows,
    read_jsonl_objects,
    sniff_columns,
)
from densexp_tui.engine.data.splitting import subsample


def load_dataset(data: DataSection, base_dir: Path | None = None, *, seed: int = 0) -> Dataset:
    """The dataset ``data`` describes, checked, and subsampled to ``data.max_samples``.

    ``base_dir`` is the TOML's folder (relative ``data.path`` values are resolved against it);
    ``seed`` (the run's seed) picks the stratified subsample when ``max_samples`` is set.
    """
    loaders: dict[str, Callable[[DataSection, Path | None], Dataset]] = {
        "builtin": _load_builtin,
        "csv": _load_csv,
        "jsonl": _load_jsonl,
        "parquet": _load_parquet,
        "hf_disk": _load_hf_disk,
        "keras": _load_keras,
    }
    if data.source not in loaders:
        raise DataError(
            f"unknown source {data.source!r}; allowed: " + ", ".join(DATA_SOURCES),
            key="data.source",
        )
    dataset = loaders[data.source](data, base_dir)
    _check_classifiable(dataset, _describe_file(data, base_dir))
    return subsample(dataset, data.max_samples, seed)


FILE_SOURCES = ("csv", "jsonl", "parquet", "hf_disk")  # the sources read from data.path


def check_data_quickly(data: DataSection, base_dir: Path | None = None) -> None:
    """The DataErrors :func:`load_dataset` would raise first, found without reading the rows:
    a data file that is not there or has not the text and label columns named.

    For a sweep, which must refuse such a base before its study and first trial exist; a
    problem inside the rows is found when the first trial loads them.
    """
    if data.source not in FILE_SOURCES:
        return
    path = _existing_file(data, base_dir, want_dir=data.source == "hf_disk")
    columns = sniff_columns(data.source, path)
    if not columns:  # unreadable header: load_dataset names the exact problem
        return
    column_index(columns, data.text_column, "data.text_column", path)
    column_index(columns, data.label_column, "data.label_column", path)
    check_distinct_columns(data, path)


def _describe_file(data: DataSection, base_dir: Path | None) -> str | None:
    """The file to name in errors: the data file, or None for built-in and Keras sets."""
    has_file = data.path and data.source not in NAMED_SOURCES
    return str(_resolve_path(data, base_dir)) if has_file else None


def _resolve_path(data: DataSection, base_dir: Path | None) -> Path:
    path = Path(data.path).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def _existing_file(data: DataSection, base_dir: Path | None, want_dir: bool = False) -> Path:
    """The resolved ``data.path``, or a DataError saying it is missing or the wrong kind."""
    if not data.path:
        raise DataError(
            f"source {data.source!r} needs a path; allowed: a file relative to the TOML's folder",
            key="data.path",
        )
    path = _resolve_path(data, base_dir)
    what = "folder saved with save_to_disk" if want_dir else f"{data.source} file"
    if not path.exists():
        raise DataError(f"not found; allowed: an existing {what}", file=path, key="data.path")
    if want_dir != path.is_dir():
        raise DataError(f"not a {what}; allowed: an existing {what}", file=path, key="data.path")
    return path


def _check_classifiable(dataset: Dataset, file: str | None) -> None:
    """At least one row and two classes, or a DataError."""
    if len(dataset) == 0:
        raise DataError(
            "the dataset has no rows; allowed: rows with at least 2 different labels",
            file=file,
        )
    present = np.unique(dataset.labels)
    if len(present) < 2:
        only = dataset.label_names[int(present[0])]
        raise DataError(
            f"every row has the label {only!r}; allowed: at least 2 different labels",
            file=file,
            key="data.label_column",
        )


# --- built-in sets ---------------------------------------------------------------------


def _load_builtin(data: DataSection, base_dir: Path | None) -> Dataset:
    if data.name == "reviews":
        return _load_reviews()
    if data.name in BUILTIN_DATASETS:
        return _load_sklearn_set(data.name)
    raise DataError(
        f"unknown builtin dataset {data.name!r}; allowed: " + ", ".join(BUILTIN_DATASETS),
        key="data.name",
    )


def _load_reviews() -> Dataset:
    from densexp_tui.engine.reviews import generate_reviews

    reviews = generate_reviews()
    return Dataset(
        kind="text",
        texts=reviews.texts,
        features=None,
        labels=np.asarray(reviews.labels, dtype=np.int64),
        label_names=list(reviews.label_names),
        source_desc="builtin:reviews",
    )


def _load_sklearn_set(name: str) -> Dataset:
    """One of scikit-learn's bundled tabular sets (shipped with the package: no download)."""
    from sklearn import datasets as sk

    loaders = {
        "iris": sk.load_iris,
        "wine": sk.load_wine,
        "breast_cancer": sk.load_breast_cancer,
        "digits": sk.load_digits,
    }
    bunch = loaders[name]()
    n_features = bunch.data.shape[1]
    feature_names = getattr(bunch, "feature_names", None)
    if feature_names is None or len(feature_names) != n_features:
        feature_names = [f"f{i}" for i in range(n_features)]
    return Dataset(
        kind="tabular",
        texts=None,
        features=np.asarray(bunch.data, dtype=np.float32),
        labels=np.asarray(bunch.target, dtype=np.int64),
        label_names=[str(label) for label in bunch.target_names],
        source_desc=f"builtin:{name}",
        feature_names=[str(feature) for feature in feature_names],
    )


# --- text files: CSV and JSONL ---------------------------------------------------------


def _load_csv(data: DataSection, base_dir: Path | None) -> Dataset:
    path = _existing_file(data, base_dir)
    header, records = read_csv_rows(path)
    text_index = column_index(header, data.text_column, "data.text_column", path)
    label_index = column_index(header, data.label_column, "data.label_column", path)
    check_distinct_columns(data, path)
    lines = [line for line, _ in records]
    texts = [row[text_index] for _, row in records]
    raw_labels = [row[label_index] for _, row in records]
    return text_dataset(texts, raw_labels, lambda i: f"line {lines[i]}", "csv", path)


def _load_jsonl(data: DataSection, base_dir: Path | None) -> Dataset:
    path = _existing_file(data, base_dir)
    records = read_jsonl_objects(path)
    columns = list(dict.fromkeys(key for _, record in records for key in record))
    column_index(columns, data.text_column, "data.text_column", path)
    column_index(columns, data.label_column, "data.label_column", path)
    check_distinct_columns(data, path)
    lines = [line for line, _ in records]
    texts = [record.get(data.text_column) for _, record in records]
    raw_labels = [record.get(data.label_column) for _, record in records]
    return text_dataset(texts, raw_labels, lambda i: f"line {lines[i]}", "jsonl", path)


# --- columnar files: Parquet and Hugging Face datasets ---------------------------------


def _load_parquet(data: DataSection, base_dir: Path | None) -> Dataset:
    path = _existing_file(data, base_dir)
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            "reading Parquet needs pyarrow; allowed: pip install 'densexp_tui[parquet]'",
            file=path,
            key="data.source",
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as err:  # noqa: BLE001 -- pyarrow raises several types for a damaged or foreign file
        raise DataError(
            f"not a readable Parquet file ({first_line(err)}); allowed: a .parquet file",
            file=path,
            key="data.path",
        ) from None
    column_index(table.column_names, data.text_column, "data.text_column", path)
    column_index(table.column_names, data.label_column, "data.label_column", path)
    check_distinct_columns(data, path)
    texts = table.column(data.text_column).to_pylist()
    raw_labels = table.column(data.label_column).to_pylist()
    return text_dataset(texts, raw_labels, lambda i: f"row {i + 1}", "parquet", path)


def _load_hf_disk(data: DataSection, base_dir: Path | None) -> Dataset:
    """A dataset saved with ``save_to_disk``; the splits of a DatasetDict are concatenated."""
    path = _existing_file(data, base_dir, want_dir=True)
    parts = _hf_parts(path)
    columns = parts[0][1].column_names
    column_index(columns, data.text_column, "data.text_column", path)
    column_index(columns, data.label_column, "data.label_column", path)
    check_distinct_columns(data, path)
    texts: list[Any] = []
    raw_labels: list[Any] = []
    places: list[str] = []
    for split_name, part in parts:
        values = part.select_columns([data.text_column, data.label_column]).to_dict()
        texts += values[data.text_column]
        raw_labels += values[data.label_column]
        prefix = f"split {split_name!r} " if split_name else ""
        places += [f"{prefix}row {i + 1}" for i in range(len(part))]
    class_names = _hf_class_names(parts[0][1], data.label_column)
    if class_names is None:
        return text_dataset(texts, raw_labels, places.__getitem__, "hf_disk", path)
    return class_label_dataset(texts, raw_labels, class_names, places.__getitem__, path)


def _hf_parts(path: Path) -> list[tuple[str, Any]]:
    """[(split name or "", datasets.Dataset)] from a save_to_disk folder."""
    try:
        from datasets import DatasetDict, load_from_disk
    except ImportError:
        raise DataError(
            "reading save_to_disk folders needs the datasets package; "
            "allowed: pip install 'densexp_tui[hf]'",
            file=path,
            key="data.source",
        ) from None
    try:
        loaded = load_from_disk(str(path))
    except Exception as err:  # noqa: BLE001 -- datasets raises several types for a foreign folder
        raise DataError(
            f"not a dataset saved with save_to_disk ({first_line(err)}); "
            "allowed: a folder written by Dataset.save_to_disk or DatasetDict.save_to_disk",
            file=path,
            key="data.path",
        ) from None
    if isinstance(loaded, DatasetDict):
        return list(loaded.items())
    return [("", loaded)]


def _hf_class_names(part: Any, label_column: str) -> list[str] | None:
    """The ClassLabel names of the label column, or None when it is a plain column."""
    from datasets import ClassLabel

    feature = part.features.get(label_column)
    return [str(name) for name in feature.names] if isinstance(feature, ClassLabel) else None


# --- Keras IMDB ------------------------------------------------------------------------


def _load_keras(data: DataSection, base_dir: Path | None) -> Dataset:
    if data.name not in KERAS_DATASETS:
        raise DataError(
            f"unknown keras dataset {data.name!r}; allowed: " + ", ".join(KERAS_DATASETS),
            key="data.name",
        )
    return _load_imdb()


def _load_imdb() -> Dataset:
    """IMDB from the local Keras cache, decoded back to text; never downloads.

    The cached files are read directly rather than through ``tf_keras.datasets.imdb``:
    its ``get_file`` downloads again when a cached file's hash does not match, and importing
    TensorFlow just to read an ``.npz`` would slow every preview.
    """
    cache = keras_datasets_dir()
    missing = [name for name in (IMDB_FILE, IMDB_WORD_INDEX_FILE) if not (cache / name).is_file()]
    if missing:
        raise DataError(
            f"IMDB is not in the local Keras cache (missing {', '.join(missing)}) and runs never "
            f"download; allowed: fetch it once online with {IMDB_FETCH_COMMAND}",
            file=cache,
            key="data.name",
        )
    with np.load(cache / IMDB_FILE, allow_pickle=True) as arrays:
        sequences = [*arrays["x_train"], *arrays["x_test"]]
        labels = np.concatenate([arrays["y_train"], arrays["y_test"]]).astype(np.int64)
    word_index = json.loads((cache / IMDB_WORD_INDEX_FILE).read_text(encoding="utf-8"))
    return Dataset(
        kind="text",
        texts=_decode_word_ids(sequences, word_index),
        features=None,
        labels=labels,
        label_names=["negative", "positive"],
        source_desc="keras:imdb",
    )


def _decode_word_ids(sequences: list[Any], word_index: dict[str, int]) -> list[str]:
    """Word-id sequences back to text; ids without a word (rare) become [UNK].

    Keras numbers words from 1, so slot 0 of the lookup table is free for [UNK].
    """
    vocabulary = np.full(max(word_index.values()) + 1, "[UNK]", dtype=object)
    for word, word_id in word_index.items():
        vocabulary[word_id] = word
    texts = []
    for ids in sequences:
        ids = np.asarray(ids, dtype=np.int64)
        texts.append(" ".join(vocabulary[np.where(ids < len(vocabulary), ids, 0)]))
    return texts
