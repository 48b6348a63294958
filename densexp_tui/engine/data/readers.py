"""Reading the user's text files (CSV, JSONL) and sniffing any data file's column names.

The loaders in :mod:`.sources` and the New experiment form's column hints read files through
these functions, so a file reads the same way wherever it is opened. A problem with the file
is a :class:`~densexp_tui.core.errors.DataError` naming the file, the line and what is allowed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from densexp_tui.core.config import DataSection
from densexp_tui.core.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from _csv import Reader as CsvReader

_UTF8_BOM = b"\xef\xbb\xbf"


def read_utf8(path: Path) -> str:
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


def read_csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and (first line number, fields) of every non-blank row.

    The csv module handles quoted fields holding commas, quotes and newlines; a row whose
    field count differs from the header is an error rather than a silent shift of columns.
    """
    reader = csv.reader(io.StringIO(read_utf8(path), newline=""))
    header = _csv_header(reader, path)
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


def _csv_header(reader: CsvReader, path: Path) -> list[str]:
    """The column names on the first row, trimmed; an empty file is a DataError."""
    header = [name.strip() for name in _next_csv_row(reader, path) or []]
    if not header:
        raise DataError(
            "the file is empty; allowed: a header row, then data rows", file=path, key="data.path"
        )
    return header


def _next_csv_row(reader: CsvReader, path: Path) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as err:
        raise DataError(
            f"line {reader.line_num}: malformed CSV ({err}); allowed: RFC 4180 CSV",
            file=path,
        ) from None


def column_index(columns: list[str], name: str, key: str, path: Path) -> int:
    if name not in columns:
        raise DataError(
            f"no column {name!r}; allowed: one of the columns " + ", ".join(map(repr, columns)),
            file=path,
            key=key,
        )
    return columns.index(name)


def check_distinct_columns(data: DataSection, path: Path) -> None:
    if data.text_column == data.label_column:
        raise DataError(
            f"{data.label_column!r} is also data.text_column; allowed: a different column",
            file=path,
            key="data.label_column",
        )


def read_jsonl_objects(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; blank lines are skipped."""
    # Split on "\n" only: str.splitlines would also split on U+2028 inside JSON strings.
    lines = enumerate(read_utf8(path).split("\n"), start=1)
    return [(number, _jsonl_object(number, line, path)) for number, line in lines if line.strip()]


def _jsonl_object(number: int, line: str, path: Path) -> dict[str, Any]:
    """The JSON object on line ``number``; anything else is a DataError naming the line."""
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
    return record


# --- column sniffing (the New experiment form's hints) ----------------------------------


def sniff_columns(source: str, path: Path) -> list[str]:
    """The column names of a data file of ``source``, read cheaply; [] when it cannot tell.

    Reads only what names the columns (a CSV header, the first JSONL object, a Parquet
    schema, a save_to_disk folder's dataset_info.json), so it is fast on large files. A
    broken or missing file gives [] rather than an error: the preview, which loads the
    whole file, reports what is wrong with it.
    """
    sniffers: dict[str, Callable[[Path], list[str]]] = {
        "csv": _csv_columns,
        "jsonl": _jsonl_columns,
        "parquet": _parquet_columns,
        "hf_disk": _hf_disk_columns,
    }
    sniff = sniffers.get(source)
    if sniff is None:
        return []
    try:
        return sniff(Path(path))
    except (DataError, OSError, ValueError, ImportError):  # UnicodeDecodeError is a ValueError
        return []


def _csv_columns(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return _csv_header(csv.reader(handle), path)


def _jsonl_columns(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                return list(_jsonl_object(number, line, path))
    return []


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def _hf_disk_columns(folder: Path) -> list[str]:
    """Features of a dataset saved with save_to_disk (a split folder or a DatasetDict)."""
    for info in [folder / "dataset_info.json", *sorted(folder.glob("*/dataset_info.json"))]:
        if info.is_file():
            features = json.loads(info.read_text(encoding="utf-8")).get("features") or {}
            return list(features)
    return []
