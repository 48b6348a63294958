"""The engine/data package: column sniffing for the New experiment form, and its layout.

``sniff_columns`` is what the form's column hints show; the loaders read the same files
through the same readers, so a column the hint offers is one a run can use.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from densexp_tui.core.config import DataSection
from densexp_tui.engine.data import load_dataset, sniff_columns

pytestmark = pytest.mark.timeout(60)

FIXTURES = Path(__file__).resolve().parents[1] / "data"
PACKAGE = Path(__file__).resolve().parents[2] / "densexp_tui" / "engine" / "data"


def test_csv_columns_come_from_the_header_without_its_bom_or_spaces(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(b'\xef\xbb\xbfid, text ,label\n1,"a, quoted comma",pos\n')
    assert sniff_columns("csv", path) == ["id", "text", "label"]


def test_csv_columns_match_what_the_loader_accepts():
    columns = sniff_columns("csv", FIXTURES / "quoted.csv")
    assert columns == ["id", "text", "label"]
    data = DataSection(source="csv", path=str(FIXTURES / "quoted.csv"),
                       text_column=columns[1], label_column=columns[2])
    assert len(load_dataset(data)) > 0


def test_jsonl_columns_are_the_keys_of_the_first_object_after_blank_lines(tmp_path):
    path = tmp_path / "tickets.jsonl"
    path.write_text("\n\n" + json.dumps({"body": "x", "queue": "billing"}) + "\n",
                    encoding="utf-8")
    assert sniff_columns("jsonl", path) == ["body", "queue"]
    assert sniff_columns("jsonl", FIXTURES / "small.jsonl") == ["text", "label", "extra"]


def test_a_large_csv_is_sniffed_from_its_first_line_only(tmp_path):
    # Bytes that are not UTF-8 after the header: reading the whole file would fail.
    path = tmp_path / "big.csv"
    path.write_bytes(b"text,label\n" + b"ok,1\n" * 100_000 + b"\xff\xfe broken,0\n")
    assert sniff_columns("csv", path) == ["text", "label"]


@pytest.mark.parametrize(
    ("source", "name", "content"),
    [
        ("csv", "empty.csv", b""),
        ("csv", "latin1.csv", b"caf\xe9,label\n"),
        ("jsonl", "list.jsonl", b"[1, 2]\n"),
        ("jsonl", "broken.jsonl", b"{not json\n"),
        ("parquet", "fake.parquet", b"not parquet"),
    ],
)
def test_an_unreadable_file_gives_no_columns_rather_than_an_error(tmp_path, source, name,
                                                                   content):
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff_columns(source, path) == []


def test_a_missing_file_or_a_named_source_gives_no_columns(tmp_path):
    assert sniff_columns("csv", tmp_path / "missing.csv") == []
    assert sniff_columns("builtin", tmp_path) == []


def test_parquet_columns_come_from_the_schema(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "news.parquet"
    pq.write_table(pa.table({"headline": ["a"], "topic": ["b"]}), path)
    assert sniff_columns("parquet", path) == ["headline", "topic"]


def test_hf_disk_columns_come_from_dataset_info_of_a_split_folder(tmp_path):
    split = tmp_path / "train"
    split.mkdir()
    info = {"features": {"sentence": {"dtype": "string"}, "label": {"dtype": "int64"}}}
    (split / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    assert sniff_columns("hf_disk", tmp_path) == ["sentence", "label"]


def test_only_the_pipelines_module_imports_tensorflow():
    """The TensorFlow boundary is a file boundary: everything else loads without it."""
    importers = sorted(
        module.name for module in PACKAGE.glob("*.py") if "tensorflow" in _imported(module)
    )
    assert importers == ["pipelines.py"]


def _imported(module: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names
