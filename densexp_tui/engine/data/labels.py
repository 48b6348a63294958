"""Labels and texts from raw column values: class names, class ids, missing values.

Every file loader hands its raw columns to :func:`text_dataset` (or
:func:`class_label_dataset` when the labels are already Hugging Face ClassLabel ids), so the
rules for what counts as a class are the same for every source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from densexp_tui.core.errors import DataError
from densexp_tui.engine.data.dataset import Dataset

# More distinct labels than this almost always means the wrong column was chosen.
MAX_CLASSES = 1000
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def text_dataset(
    texts: list[Any],
    raw_labels: list[Any],
    where: Callable[[int], str],
    source: str,
    path: Path,
) -> Dataset:
    """A text dataset from raw column values; ``where(i)`` names row i in errors."""
    labels, label_names = encode_labels(raw_labels, where, path)
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


def encode_labels(
    raw_labels: Sequence[Any], where: Callable[[int], str], path: Path | str | None = None
) -> tuple[np.ndarray, list[str]]:
    """Class indices and names from raw label values (strings, numbers, booleans).

    Integer labels (``3``, ``"3"``, ``3.0``) keep numeric order; other labels are sorted
    naturally (``class2`` before ``class10``). A missing label or a fractional number like
    0.5 (a regression target, not a class) is a DataError naming the first offending row.
    """
    tokens = [_label_token(value, index, where, path) for index, value in enumerate(raw_labels)]
    numbers = [number for number in map(_as_number, tokens) if number is not None]
    if tokens and len(numbers) == len(tokens):
        _check_whole_numbers(numbers, tokens, where, path)
        class_ids = [int(number) for number in numbers]
        classes = sorted(set(class_ids))
        names = [str(value) for value in classes]
        position = {value: i for i, value in enumerate(classes)}
        labels = [position[class_id] for class_id in class_ids]
    else:
        names = sorted(set(tokens), key=_natural_key)
        index_of = {name: i for i, name in enumerate(names)}
        labels = [index_of[token] for token in tokens]
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
    numbers: list[float], tokens: list[str], where: Callable[[int], str], path: Any
) -> None:
    for index, number in enumerate(numbers):
        if not number.is_integer():
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


def class_label_dataset(
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
