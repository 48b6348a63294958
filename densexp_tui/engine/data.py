"""Datasets for training: loading, checking, subsampling, splitting, previewing, tf.data.

Loading turns every ``[data] source`` into one :class:`Dataset` (texts or float features,
integer labels, label names). Anything wrong with the user's data raises
:class:`~densexp_tui.core.errors.DataError` with one line naming the file, the key and what is
allowed, before a run directory exists.

TensorFlow is imported only inside the tf.data functions at the bottom, so the TUI can load and
preview data without paying for (or stalling on) a TensorFlow import; scikit-learn pieces are
imported where used for the same reason.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from densexp_tui.core.catalog import (
    IMDB_FETCH_COMMAND,
    IMDB_FILE,
    IMDB_WORD_INDEX_FILE,
    keras_datasets_dir,
)
from densexp_tui.core.config import BUILTIN_DATASETS, DATA_SOURCES, KERAS_DATASETS, DataSection
from densexp_tui.core.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

# More distinct labels than this almost always means the wrong column was chosen.
MAX_CLASSES = 1000
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_UTF8_BOM = b"\xef\xbb\xbf"


# ---------------------------------------------------------------------------------------
# Data types
# ---------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """A labelled dataset: ``texts`` for kind "text", ``features`` (float32) for "tabular".

    ``labels[i]`` is an index into ``label_names``. Tabular features are raw; the model
    standardizes them (fitted on the training split only).
    """

    kind: str
    texts: list[str] | None
    features: np.ndarray | None
    labels: np.ndarray
    label_names: list[str]
    source_desc: str
    feature_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """The rows at ``indices``, in that order, with the same label names."""
        indices = np.asarray(indices, dtype=np.int64)
        return Dataset(
            kind=self.kind,
            texts=[self.texts[i] for i in indices] if self.texts is not None else None,
            features=self.features[indices] if self.features is not None else None,
            labels=self.labels[indices],
            label_names=self.label_names,
            source_desc=self.source_desc,
            feature_names=self.feature_names,
        )

    def class_counts(self) -> dict[str, int]:
        """{label name: number of rows} for every class, in label order."""
        counts = np.bincount(self.labels, minlength=self.n_classes)
        return {name: int(counts[i]) for i, name in enumerate(self.label_names)}


@dataclass
class Splits:
    """Train/val/test parts of one dataset; ``note`` says why a split is not stratified."""

    train: Dataset
    val: Dataset
    test: Dataset
    label_names: list[str]
    stratified: bool = True
    note: str = ""

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


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


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


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
    return _subsample(dataset, data.max_samples, seed)


def _describe_file(data: DataSection, base_dir: Path | None) -> str | None:
    """The file to name in errors: the data file, or None for built-in and Keras sets."""
    has_file = data.path and data.source not in ("builtin", "keras")
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


def _subsample(dataset: Dataset, max_samples: int, seed: int) -> Dataset:
    """At most ``max_samples`` rows, keeping class proportions; file order is kept."""
    if not max_samples or max_samples >= len(dataset):
        return dataset
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(dataset))
    try:
        picked, _ = train_test_split(
            indices,
            train_size=max_samples,
            stratify=dataset.labels,
            random_state=seed % (2**32),
        )
    except ValueError:  # a class too small to stratify: a plain random subset is the best we can do
        picked = np.random.default_rng(_seed_entropy(seed)).permutation(indices)[:max_samples]
    subset = dataset.subset(np.sort(picked))
    if len(np.unique(subset.labels)) < 2:
        raise DataError(
            f"max_samples = {max_samples} leaves a single class; "
            f"allowed: 0 (all rows) or at least {dataset.n_classes}",
            key="data.max_samples",
        )
    return subset


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


def _read_utf8(path: Path) -> str:
    """The file's text; a leading BOM is dropped, anything not UTF-8 is a DataError."""
    raw = path.read_bytes()
    skipped = len(_UTF8_BOM) if raw.startswith(_UTF8_BOM) else 0
    try:
        return raw[skipped:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = err.start + skipped
        line = raw[:offset].count(b"\n") + 1
        raise DataError(
            f"not UTF-8: byte 0x{raw[offset]:02x} at byte offset {offset} (line {line}); "
            "allowed: UTF-8 text (re-save the file as UTF-8)",
            file=path,
            key="data.path",
        ) from None


def _load_csv(data: DataSection, base_dir: Path | None) -> Dataset:
    path = _existing_file(data, base_dir)
    header, records = _read_csv_rows(path)
    text_index = _column_index(header, data.text_column, "data.text_column", path)
    label_index = _column_index(header, data.label_column, "data.label_column", path)
    _check_distinct_columns(data, path)
    lines = [line for line, _ in records]
    texts = [row[text_index] for _, row in records]
    raw_labels = [row[label_index] for _, row in records]
    return _text_dataset(texts, raw_labels, lambda i: f"line {lines[i]}", "csv", path)


def _read_csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and (first line number, fields) of every non-blank row.

    The csv module handles quoted fields holding commas, quotes and newlines; a row whose
    field count differs from the header is an error rather than a silent shift of columns.
    """
    reader = csv.reader(io.StringIO(_read_utf8(path), newline=""))
    header = [name.strip() for name in _next_csv_row(reader, path) or []]
    if not header:
        raise DataError(
            "the file is empty; allowed: a header row, then data rows", file=path, key="data.path"
        )
    records: list[tuple[int, list[str]]] = []
    while True:
        line = reader.line_num + 1
        row = _next_csv_row(reader, path)
        if row is None:
            return header, records
        if not row:  # a blank line
            continue
        if len(row) != len(header):
            raise DataError(
                f"line {line} has {len(row)} fields but the header has {len(header)}; "
                "allowed: the same number of fields on every row (quote fields with commas)",
                file=path,
            )
        records.append((line, row))


def _next_csv_row(reader: Any, path: Path) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as err:
        raise DataError(
            f"line {reader.line_num}: malformed CSV ({err}); allowed: RFC 4180 CSV",
            file=path,
        ) from None


def _column_index(columns: list[str], name: str, key: str, path: Path) -> int:
    if name not in columns:
        raise DataError(
            f"no column {name!r}; allowed: one of the columns " + ", ".join(map(repr, columns)),
            file=path,
            key=key,
        )
    return columns.index(name)


def _check_distinct_columns(data: DataSection, path: Path) -> None:
    if data.text_column == data.label_column:
        raise DataError(
            f"{data.label_column!r} is also data.text_column; allowed: a different column",
            file=path,
            key="data.label_column",
        )


def _load_jsonl(data: DataSection, base_dir: Path | None) -> Dataset:
    path = _existing_file(data, base_dir)
    records = _read_jsonl_objects(path)
    columns = list(dict.fromkeys(key for _, record in records for key in record))
    _column_index(columns, data.text_column, "data.text_column", path)
    _column_index(columns, data.label_column, "data.label_column", path)
    _check_distinct_columns(data, path)
    lines = [line for line, _ in records]
    texts = [record.get(data.text_column) for _, record in records]
    raw_labels = [record.get(data.label_column) for _, record in records]
    return _text_dataset(texts, raw_labels, lambda i: f"line {lines[i]}", "jsonl", path)


def _read_jsonl_objects(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; blank lines are skipped."""
    records = []
    # Split on "\n" only: str.splitlines would also split on U+2028 inside JSON strings.
    for number, line in enumerate(_read_utf8(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"line {number} is not valid JSON ({err.msg}); allowed: one JSON object per line",
                file=path,
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"line {number} is a JSON {type(record).__name__}, not an object; "
                'allowed: one object per line like {"text": "...", "label": "..."}',
                file=path,
            )
        records.append((number, record))
    return records


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
    except Exception as err:  # pyarrow raises several types for a damaged or foreign file
        raise DataError(
            f"not a readable Parquet file ({_first_line(err)}); allowed: a .parquet file",
            file=path,
            key="data.path",
        ) from None
    _column_index(table.column_names, data.text_column, "data.text_column", path)
    _column_index(table.column_names, data.label_column, "data.label_column", path)
    _check_distinct_columns(data, path)
    texts = table.column(data.text_column).to_pylist()
    raw_labels = table.column(data.label_column).to_pylist()
    return _text_dataset(texts, raw_labels, lambda i: f"row {i + 1}", "parquet", path)


def _load_hf_disk(data: DataSection, base_dir: Path | None) -> Dataset:
    """A dataset saved with ``save_to_disk``; the splits of a DatasetDict are concatenated."""
    path = _existing_file(data, base_dir, want_dir=True)
    parts = _hf_parts(path)
    columns = parts[0][1].column_names
    _column_index(columns, data.text_column, "data.text_column", path)
    _column_index(columns, data.label_column, "data.label_column", path)
    _check_distinct_columns(data, path)
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
        return _text_dataset(texts, raw_labels, places.__getitem__, "hf_disk", path)
    return _class_label_dataset(texts, raw_labels, class_names, places.__getitem__, path)


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
    except Exception as err:  # datasets raises several types for a foreign folder
        raise DataError(
            f"not a dataset saved with save_to_disk ({_first_line(err)}); "
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


def _class_label_dataset(
    texts: list[Any],
    class_ids: list[Any],
    class_names: list[str],
    where: Callable[[int], str],
    path: Path,
) -> Dataset:
    """A dataset whose labels are already ClassLabel ids (-1 means "no label")."""
    for index, class_id in enumerate(class_ids):
        if class_id is None or not 0 <= class_id < len(class_names):
            raise DataError(
                f"{where(index)} has no label; allowed: a label on every row",
                file=path,
                key="data.label_column",
            )
    return Dataset(
        kind="text",
        texts=_checked_texts(texts, where, path),
        features=None,
        labels=np.asarray(class_ids, dtype=np.int64),
        label_names=class_names,
        source_desc=f"hf_disk:{path}",
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


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


# --- labels and texts shared by the file loaders ---------------------------------------


def _text_dataset(
    texts: list[Any],
    raw_labels: list[Any],
    where: Callable[[int], str],
    source: str,
    path: Path,
) -> Dataset:
    """A text dataset from raw column values; ``where(i)`` names row i in errors."""
    labels, label_names = _encode_labels(raw_labels, where, path)
    return Dataset(
        kind="text",
        texts=_checked_texts(texts, where, path),
        features=None,
        labels=labels,
        label_names=label_names,
        source_desc=f"{source}:{path}",
    )


def _checked_texts(texts: list[Any], where: Callable[[int], str], path: Path) -> list[str]:
    """Texts as strings; a missing (null) text or a nested value is a DataError."""
    checked = []
    for index, text in enumerate(texts):
        if text is None or isinstance(text, (dict, list)):
            problem = "has no text" if text is None else "has a nested value as text"
            raise DataError(
                f"{where(index)} {problem}; allowed: a string on every row",
                file=path,
                key="data.text_column",
            )
        checked.append(text if isinstance(text, str) else str(text))
    return checked


def _encode_labels(
    raw_labels: Sequence[Any], where: Callable[[int], str], path: Path | str | None = None
) -> tuple[np.ndarray, list[str]]:
    """Class indices and names from raw label values (strings, numbers, booleans).

    Integer labels (``3``, ``"3"``, ``3.0``) keep numeric order; other labels are sorted
    naturally (``class2`` before ``class10``). A missing label or a fractional number like
    0.5 (a regression target, not a class) is a DataError naming the first offending row.
    """
    tokens = [_label_token(value, index, where, path) for index, value in enumerate(raw_labels)]
    numbers = [_as_number(token) for token in tokens]
    if tokens and all(number is not None for number in numbers):
        _check_whole_numbers(numbers, tokens, where, path)
        classes = sorted({int(number) for number in numbers})
        names = [str(value) for value in classes]
        position = {value: i for i, value in enumerate(classes)}
        labels = [position[int(number)] for number in numbers]
    else:
        names = sorted(set(tokens), key=_natural_key)
        position = {name: i for i, name in enumerate(names)}
        labels = [position[token] for token in tokens]
    if len(names) > MAX_CLASSES:
        raise DataError(
            f"the label column has {len(names)} different values; allowed: at most "
            f"{MAX_CLASSES} classes (is data.label_column the right column?)",
            file=path,
            key="data.label_column",
        )
    return np.asarray(labels, dtype=np.int64), names


def _label_token(value: Any, index: int, where: Callable[[int], str], path: Any) -> str:
    """The label as trimmed text; None, NaN and blank strings are missing labels."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    token = "" if missing else str(value).strip()
    if isinstance(value, bool):
        token = token.lower()  # JSON true/false read back as written
    if not token:
        raise DataError(
            f"{where(index)} has no label; allowed: a label on every row",
            file=path,
            key="data.label_column",
        )
    return token


def _as_number(token: str) -> float | None:
    return float(token) if _NUMBER.match(token) else None


def _check_whole_numbers(
    numbers: list[float | None], tokens: list[str], where: Callable[[int], str], path: Any
) -> None:
    for index, number in enumerate(numbers):
        if number is not None and not float(number).is_integer():
            raise DataError(
                f"{where(index)} has the label {tokens[index]}, a fraction; allowed: class "
                "names or whole-number class ids (1.0 is fine, 0.5 is not)",
                file=path,
                key="data.label_column",
            )


def _natural_key(name: str) -> tuple[list[Any], str]:
    """Sort key putting "class2" before "class10" and ignoring case first."""
    parts = re.split(r"(\d+)", name)
    return [int(part) if part.isdigit() else part.casefold() for part in parts], name


def _seed_entropy(seed: int) -> int:
    """A non-negative seed for NumPy's SeedSequence (which rejects negatives)."""
    return seed % (2**63)


# ---------------------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------------------


def split_dataset(
    dataset: Dataset, val_fraction: float, test_fraction: float, seed: int
) -> Splits:
    """Stratified train/val/test split, deterministic from ``seed``.

    The test part is taken first, then the validation part from the rest; both are their
    fraction of *all* rows. A fraction of 0 gives an empty part. When a
    class has too few rows to stratify, the split falls back to a plain random one and
    ``Splits.note`` says why.
    """
    _check_fractions(val_fraction, test_fraction)
    labels = dataset.labels
    try:
        parts = _split_indices(labels, val_fraction, test_fraction, seed, stratify=True)
        stratified, note = True, ""
    except ValueError as err:  # scikit-learn's reason, e.g. "the least populated class ..."
        parts = _plain_split(labels, val_fraction, test_fraction, seed)
        stratified, note = False, f"split not stratified: {_first_line(err)}"
    train, val, test = (dataset.subset(indices) for indices in parts)
    return Splits(train, val, test, list(dataset.label_names), stratified, note)


def _plain_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-stratified fallback; too few rows for any split is a DataError."""
    try:
        return _split_indices(labels, val_fraction, test_fraction, seed, stratify=False)
    except ValueError as err:
        raise DataError(
            f"{len(labels)} rows are too few to split ({_first_line(err)}); allowed: more "
            "rows or smaller val_fraction/test_fraction",
            key="data.val_fraction",
        ) from None


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for key, value in (("data.val_fraction", val_fraction), ("data.test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise DataError(f"{value} is out of range; allowed: 0 <= fraction < 1", key=key)
    if val_fraction + test_fraction >= 1:
        raise DataError(
            f"val_fraction + test_fraction = {val_fraction + test_fraction:g} leaves no "
            "training rows; allowed: a sum below 1",
            key="data.val_fraction",
        )


def _split_indices(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) row indices; raises ValueError when stratifying is impossible.

    Part sizes are rounded from fractions of *all* rows (at least 1 row for a non-zero
    fraction), so 150 rows at 0.1/0.1 give exactly 120/15/15.
    """
    n_test = _part_size(len(labels), test_fraction)
    n_val = _part_size(len(labels), val_fraction)
    rest, test = _take(np.arange(len(labels)), labels, n_test, seed, stratify)
    train, val = _take(rest, labels, n_val, seed + 1, stratify)
    return train, val, test


def _part_size(n_rows: int, fraction: float) -> int:
    return max(1, round(n_rows * fraction)) if fraction > 0 else 0


def _take(
    indices: np.ndarray, labels: np.ndarray, count: int, seed: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, taken): ``count`` of ``indices`` taken out, possibly stratified by label."""
    if count == 0:
        return indices, indices[:0]
    from sklearn.model_selection import train_test_split

    kept, taken = train_test_split(
        indices,
        test_size=count,
        random_state=seed % (2**32),
        stratify=labels[indices] if stratify else None,
    )
    return kept, taken


# ---------------------------------------------------------------------------------------
# Preview (the TUI's data tab)
# ---------------------------------------------------------------------------------------


def preview_dataset(data: DataSection, base_dir: Path | None = None, n_rows: int = 8) -> Preview:
    """First rows, class counts and text lengths of the dataset ``data`` describes.

    Loads through :func:`load_dataset` (seed 0 for a ``max_samples`` subset), so the preview
    raises the same DataError a run would.
    """
    dataset = load_dataset(data, base_dir)
    if dataset.kind == "text":
        columns = [data.text_column, data.label_column]
        rows = [
            {data.text_column: dataset.texts[i], data.label_column: _label_of(dataset, i)}
            for i in range(min(n_rows, len(dataset)))
        ]
        lengths = _word_length_percentiles(dataset.texts)
    else:
        columns = [*dataset.feature_names, "label"]
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


def _label_of(dataset: Dataset, index: int) -> str:
    return dataset.label_names[int(dataset.labels[index])]


def _tabular_row(dataset: Dataset, index: int) -> dict[str, str]:
    values = dataset.features[index]
    row = {name: f"{value:.4g}" for name, value in zip(dataset.feature_names, values)}
    row["label"] = _label_of(dataset, index)
    return row


def _word_length_percentiles(texts: list[str]) -> dict[str, int]:
    """p50/p90/p99/max of words per text: what max_length should roughly cover."""
    counts = np.fromiter((len(text.split()) for text in texts), dtype=np.int64, count=len(texts))
    p50, p90, p99 = np.percentile(counts, [50, 90, 99])
    return {"p50": round(p50), "p90": round(p90), "p99": round(p99), "max": int(counts.max())}


# ---------------------------------------------------------------------------------------
# Tokenizing and tf.data pipelines (TensorFlow imported here only)
# ---------------------------------------------------------------------------------------


def tokenize_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of every text, truncated to ``max_length``, unpadded.

    One batch call up front: a fast (Rust) tokenizer does all texts in parallel, and no
    epoch pays for tokenizing again. Padding happens per batch in the pipeline.
    """
    if not texts:
        return []
    encoded = tokenizer(
        list(texts),
        truncation=True,
        max_length=max_length,
        padding=False,
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    return [list(ids) for ids in encoded["input_ids"]]


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    """Batches in one epoch (the last one may be smaller)."""
    return math.ceil(n_examples / batch_size)


def epoch_order(n_examples: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """The order examples are visited in ``epoch`` (0-based): a pure function of (seed, epoch).

    Resuming at epoch k therefore replays exactly the order an uninterrupted run would
    have used, without replaying epochs 0..k-1.
    """
    if not shuffle:
        return np.arange(n_examples)
    rng = np.random.default_rng([_seed_entropy(seed), epoch])
    return rng.permutation(n_examples)


def make_text_pipeline(
    token_ids: Sequence[Sequence[int]],
    labels: Sequence[int] | np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    *,
    epoch: int = 0,
    num_epochs: int = 1,
    pad_id: int = 0,
    pad_to_multiple_of: int = 1,
) -> tf.data.Dataset:
    """Batches of ``({"input_ids", "attention_mask"}, labels)`` for epochs
    ``epoch .. epoch + num_epochs - 1``, padded to each batch's own longest sequence
    (rounded up to ``pad_to_multiple_of``: 8 keeps the number of distinct shapes small,
    which helps kernel caches and GPU tensor cores, for a little extra padding).

    Design: the token ids live in one ragged tensor; the pipeline iterates over batches of
    row indices (one epoch after another, each epoch ordered by :func:`epoch_order`, no batch
    straddling two epochs) and gathers + pads each batch in one vectorized op, then
    prefetches. Shuffling is thus reproducible and resumable: the order of epoch ``e`` is a
    pure function of ``(seed, e)``, independent of how many epochs were iterated before.

    With Keras: ``model.fit(make_text_pipeline(..., epoch=start, num_epochs=epochs - start),
    epochs=epochs, initial_epoch=start, steps_per_epoch=steps_per_epoch(n, batch_size))``.
    When ``num_epochs > 1`` the dataset holds several epochs, so ``steps_per_epoch`` must be
    given; Keras then keeps one iterator across epochs. ``input_ids`` and ``attention_mask``
    are int32; labels int32.
    """
    tf = _tensorflow()
    lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
    flat_ids = np.fromiter(
        itertools.chain.from_iterable(token_ids), dtype=np.int32, count=int(lengths.sum())
    )
    all_ids = tf.RaggedTensor.from_row_lengths(flat_ids, lengths)
    all_labels = tf.constant(np.asarray(labels, dtype=np.int32))

    def gather_batch(indices: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        rows = tf.gather(all_ids, indices)
        longest = tf.reduce_max(rows.row_lengths())
        width = (longest + pad_to_multiple_of - 1) // pad_to_multiple_of * pad_to_multiple_of
        shape = tf.stack([tf.cast(tf.size(indices), tf.int64), width])
        inputs = {
            "input_ids": rows.to_tensor(default_value=pad_id, shape=shape),
            "attention_mask": tf.ones_like(rows).to_tensor(default_value=0, shape=shape),
        }
        return inputs, tf.gather(all_labels, indices)

    batches = _index_batches(len(lengths), batch_size, shuffle, seed, epoch, num_epochs)
    return batches.map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


def make_tabular_pipeline(
    features: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    *,
    epoch: int = 0,
    num_epochs: int = 1,
) -> tf.data.Dataset:
    """Batches of ``(float32 features, int32 labels)``; epochs and order as in
    :func:`make_text_pipeline`."""
    tf = _tensorflow()
    all_features = tf.constant(np.asarray(features, dtype=np.float32))
    all_labels = tf.constant(np.asarray(labels, dtype=np.int32))

    def gather_batch(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.gather(all_features, indices), tf.gather(all_labels, indices)

    batches = _index_batches(len(all_labels), batch_size, shuffle, seed, epoch, num_epochs)
    return batches.map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


def _index_batches(
    n_examples: int, batch_size: int, shuffle: bool, seed: int, epoch: int, num_epochs: int
) -> tf.data.Dataset:
    """A dataset of int32 index vectors: the batches of each epoch in turn."""
    tf = _tensorflow()
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    batches: list[np.ndarray] = []
    for current in range(epoch, epoch + num_epochs):
        order = epoch_order(n_examples, seed, current, shuffle).astype(np.int32)
        batches += [order[start : start + batch_size] for start in range(0, n_examples, batch_size)]
    lengths = np.asarray([len(batch) for batch in batches], dtype=np.int64)
    flat = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int32)
    return tf.data.Dataset.from_tensor_slices(tf.RaggedTensor.from_row_lengths(flat, lengths))


def _tensorflow() -> Any:
    """TensorFlow, imported on first use (densexp_tui/__init__ already chose tf_keras)."""
    import tensorflow as tf

    return tf

