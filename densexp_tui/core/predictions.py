"""A run's test predictions: ``predictions/test.jsonl``, one JSON object per test example.

Each line is ``{"row": int, "label": str, "pred": str, "probs": [float, ...], "text": str?}``:
``row`` is the example's position in the test split, ``label``/``pred`` are label names and
``probs`` follow the label order of the run's ``run_started`` event. The order is not in
the file, so the reader takes it from the caller or from the run directory the file sits in.

Unlike the event log, this file is read strictly: statistics on a damaged file would be
wrong without anyone noticing, so any bad line is a ``BadInput`` naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from densexp_tui.core.atomicfile import write_text_atomic
from densexp_tui.core.errors import BadInput

PREDICTIONS_FILE = Path("predictions") / "test.jsonl"


@dataclass(frozen=True, eq=False)
class Predictions:
    """One run's test predictions as arrays (index ``i`` is the ``i``-th line of the file)."""

    rows: np.ndarray  # int64 row ids
    label_names: tuple[str, ...]
    true: np.ndarray  # int64 indices into label_names
    pred: np.ndarray  # int64 indices into label_names
    probs: np.ndarray  # float64, shape (n, len(label_names))
    texts: list[str] | None = None
    source: str = ""  # the file it came from, for messages

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def confidence(self) -> np.ndarray:
        """The probability of the predicted label (top-label confidence)."""
        return np.asarray(self.probs[np.arange(len(self.pred)), self.pred])

    @property
    def correct(self) -> np.ndarray:
        return np.asarray(self.true == self.pred)

    def to_rows(self) -> list[dict[str, Any]]:
        """The file's lines as dicts (what :func:`write_predictions` takes)."""
        names = self.label_names
        # tolist() once: per-element NumPy indexing costs seconds at 25,000 rows
        columns = zip(self.rows.tolist(), self.true.tolist(), self.pred.tolist(),
                      self.probs.tolist(), strict=True)
        rows = [{"row": row, "label": names[true], "pred": names[pred], "probs": probs}
                for row, true, pred, probs in columns]
        if self.texts is not None:
            for row_dict, text in zip(rows, self.texts, strict=True):
                row_dict["text"] = text
        return rows


def predictions_from_arrays(label_names: Sequence[str], true: Sequence[int] | np.ndarray,
                            probs: np.ndarray, texts: Sequence[str] | None = None,
                            rows: Sequence[int] | np.ndarray | None = None) -> Predictions:
    """Predictions from a model's outputs: ``pred`` is the arg-max of ``probs``."""
    probs = np.asarray(probs, dtype=np.float64)
    true_idx = np.asarray(true, dtype=np.int64).reshape(-1)
    if probs.ndim != 2 or probs.shape != (len(true_idx), len(label_names)):
        raise ValueError(f"probs has shape {probs.shape}, expected "
                         f"({len(true_idx)}, {len(label_names)})")
    row_ids = np.arange(len(true_idx)) if rows is None else np.asarray(rows, dtype=np.int64)
    return Predictions(rows=row_ids, label_names=tuple(str(n) for n in label_names),
                       true=true_idx, pred=probs.argmax(axis=1).astype(np.int64), probs=probs,
                       texts=list(texts) if texts is not None else None)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (models emit logits; the file holds probabilities)."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def write_predictions(path: str | Path,
                      rows: Predictions | Iterable[Mapping[str, Any]]) -> Path:
    """Write the file atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    lines = rows.to_rows() if isinstance(rows, Predictions) else rows
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    write_text_atomic(path, "".join(encode(dict(row)) + "\n" for row in lines))
    return path


def read_predictions(path: str | Path,
                     label_names: Sequence[str] | None = None) -> Predictions:
    """Read and check the file. ``label_names``: the probs' order; by default the labels of
    the ``run_started`` event of the run directory holding ``path``. Any problem: BadInput."""
    path = Path(path)
    if not path.is_file():
        raise BadInput("no predictions file; allowed: a finished run's "
                       "predictions/test.jsonl (`densexp evaluate RUN` makes it)", file=path)
    names = tuple(label_names) if label_names is not None else run_label_names(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(f"cannot read: {err}", file=path) from None
    return _parse(text, names, path)


def run_label_names(predictions_path: Path) -> tuple[str, ...]:
    """The label order of the run that holds ``predictions/test.jsonl``: run_started's
    labels (the first few events), else the test event's."""
    events = predictions_path.parent.parent / "events.jsonl"
    try:
        with events.open(encoding="utf-8") as lines:
            for line in lines:
                labels = _labels_of(line)
                if labels:
                    return labels
    except OSError:
        pass
    raise BadInput("the label order of these probabilities is unknown (no run_started "
                   "event with labels in the run's events.jsonl)", file=predictions_path)


def _labels_of(line: str) -> tuple[str, ...] | None:
    if '"run_started"' not in line and '"test"' not in line:
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    labels = event.get("labels") if isinstance(event, dict) else None
    if event.get("kind") in ("run_started", "test") and isinstance(labels, list) and labels:
        return tuple(str(label) for label in labels)
    return None


def _parse(text: str, names: tuple[str, ...], path: Path) -> Predictions:
    index = {name: i for i, name in enumerate(names)}
    lines = text.splitlines()
    n = len(lines)
    rows = np.empty(n, dtype=np.int64)
    true = np.empty(n, dtype=np.int64)
    pred = np.empty(n, dtype=np.int64)
    probs = np.empty((n, len(names)), dtype=np.float64)
    texts: list[str] = []
    for i, line in enumerate(lines):
        item = _parse_line(line, path, i + 1)
        rows[i] = _row_id(item, path, i + 1)
        true[i] = _label_index(item, "label", index, path, i + 1)
        pred[i] = _label_index(item, "pred", index, path, i + 1)
        probs[i] = _probs(item, len(names), path, i + 1)
        if isinstance(item.get("text"), str):
            texts.append(item["text"])
    if not n:
        raise BadInput("the predictions file is empty", file=path)
    if texts and len(texts) != n:
        raise BadInput("some lines have a text and others not", file=path)
    return Predictions(rows, names, true, pred, probs, texts or None, str(path))


def _parse_line(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except ValueError:
        raise BadInput(f"line {number} is not JSON; allowed: one object per line",
                       file=path) from None
    if not isinstance(item, dict):
        raise BadInput(f"line {number} is not a JSON object", file=path)
    return item


def _row_id(item: dict[str, Any], path: Path, number: int) -> int:
    row = item.get("row")
    if not isinstance(row, int) or isinstance(row, bool):
        raise BadInput(f"line {number}: row must be an integer", file=path)
    return row


def _label_index(item: dict[str, Any], key: str, index: dict[str, int], path: Path,
                 number: int) -> int:
    value = item.get(key)
    if value not in index:
        allowed = ", ".join(index) if len(index) <= 10 else f"{len(index)} run labels"
        raise BadInput(f"line {number}: {key} {value!r} is not one of the run's labels; "
                       f"allowed: {allowed}", file=path)
    return index[value]


def _probs(item: dict[str, Any], n_labels: int, path: Path, number: int) -> list[float]:
    probs = item.get("probs")
    if (not isinstance(probs, list) or len(probs) != n_labels
            or not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in probs)):
        raise BadInput(f"line {number}: probs must be a list of {n_labels} numbers", file=path)
    if any(not 0.0 <= p <= 1.0 for p in probs) or abs(sum(probs) - 1.0) > 1e-3:
        raise BadInput(f"line {number}: probs must be probabilities summing to 1", file=path)
    return [float(p) for p in probs]
