"""engine/data/ and the datasets part of core/catalog.py: what a user feeding data notices.

Every bad file must give one DataError line naming the file, the key and what is allowed;
good files of every supported source must load the same way. Nothing here downloads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from densexp_tui.core.catalog import list_datasets
from densexp_tui.core.config import DataSection
from densexp_tui.core.errors import BadInput, DataError
from densexp_tui.engine.data import (
    Dataset,
    epoch_order,
    load_dataset,
    make_tabular_pipeline,
    make_text_pipeline,
    preview_dataset,
    split_dataset,
    steps_per_epoch,
    tokenize_texts,
)

FIXTURES = Path(__file__).resolve().parents[1] / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load_file(path: Path, source: str = "csv", **fields) -> Dataset:
    return load_dataset(DataSection(source=source, path=str(path), **fields))


def error_of(path: Path, source: str = "csv", **fields) -> str:
    with pytest.raises(DataError) as caught:
        load_file(path, source, **fields)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- built-in sets -----------------------------------------------------------------------


def test_builtin_reviews_is_a_three_class_text_set():
    dataset = load_dataset(DataSection(source="builtin", name="reviews"))
    assert dataset.kind == "text"
    assert len(dataset) >= 3000
    assert dataset.label_names == ["negative", "neutral", "positive"]
    assert all(isinstance(text, str) and text for text in dataset.texts[:50])


@pytest.mark.parametrize("info", [i for i in list_datasets() if i.source == "builtin"], ids=str)
def test_catalog_facts_match_what_loads(info):
    dataset = load_dataset(DataSection(source="builtin", name=info.name))
    facts = (info.kind, info.n_rows, info.n_classes)
    assert (dataset.kind, len(dataset), dataset.n_classes) == facts
    if dataset.kind == "tabular":
        assert dataset.features.dtype == np.float32
        assert dataset.features.shape[0] == len(dataset)
        assert len(dataset.feature_names) == dataset.features.shape[1]


def test_unknown_builtin_name_lists_the_allowed_ones():
    with pytest.raises(DataError) as caught:
        load_dataset(DataSection(source="builtin", name="reveiws"))
    assert "data.name" in str(caught.value)
    for name in ("reviews", "iris", "wine", "breast_cancer", "digits"):
        assert name in str(caught.value)


def test_data_errors_are_bad_input_so_the_cli_exits_2():
    assert issubclass(DataError, BadInput)


# --- CSV -----------------------------------------------------------------------------------


def test_csv_with_bom_quoted_commas_quotes_and_newlines_loads():
    dataset = load_file(FIXTURES / "quoted.csv")
    assert dataset.texts[0] == "Great blender, works well"
    assert dataset.texts[1] == 'He said "never again", and meant it'
    assert dataset.texts[2] == "First line\nsecond line of the same review"
    assert dataset.label_names == ["neg", "neutral", "pos"]
    assert [dataset.label_names[i] for i in dataset.labels] == [
        "pos", "neg", "pos", "neg", "neutral", "neutral"
    ]


def test_path_is_relative_to_the_toml_folder():
    section = DataSection(source="csv", path="data/quoted.csv")
    dataset = load_dataset(section, base_dir=FIXTURES.parent)
    assert len(dataset) == 6


def test_example_csv_loads_with_about_300_rows():
    dataset = load_file(EXAMPLES / "reviews_sample.csv")
    assert 250 <= len(dataset) <= 400
    assert dataset.n_classes == 3


def test_string_labels_sort_naturally(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\na,class10\nb,class2\nc,Class1\nd,class2\n")
    assert load_file(path).label_names == ["Class1", "class2", "class10"]


def test_integer_labels_keep_numeric_order_and_whole_floats_are_fine(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\na,10\nb,2\nc,1.0\nd,2\n")
    dataset = load_file(path)
    assert dataset.label_names == ["1", "2", "10"]
    assert dataset.labels.tolist() == [2, 1, 0, 1]


def test_fractional_labels_are_refused(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\na,0.0\nb,0.5\nc,1.0\n")
    message = error_of(path)
    assert "line 3" in message and "0.5" in message and "data.label_column" in message


def test_missing_file_names_the_file_and_key(tmp_path):
    message = error_of(tmp_path / "nope.csv")
    assert "nope.csv" in message and "data.path" in message and "not found" in message


def test_missing_text_column_lists_the_columns_that_exist():
    message = error_of(FIXTURES / "quoted.csv", text_column="review")
    assert "data.text_column" in message and "'review'" in message
    assert "'id'" in message and "'text'" in message and "'label'" in message


def test_missing_label_column_names_its_key():
    assert "data.label_column" in error_of(FIXTURES / "quoted.csv", label_column="stars")


def test_header_only_file_is_an_empty_dataset(tmp_path):
    assert "no rows" in error_of(write(tmp_path / "d.csv", "text,label\n"))


def test_single_class_is_refused(tmp_path):
    message = error_of(write(tmp_path / "d.csv", "text,label\na,yes\nb,yes\n"))
    assert "'yes'" in message and "at least 2" in message


def test_non_utf8_file_says_where(tmp_path):
    # offset counts from the start of the file, BOM included: 3 + 11 + 5 + 3
    path = write(tmp_path / "d.csv", b"\xef\xbb\xbftext,label\nok,a\ncaf\xe9,b\n")
    message = error_of(path)
    assert "UTF-8" in message and "byte offset 22" in message and "line 3" in message


def test_ragged_row_names_its_line(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\na,x\nb,y,extra\n")
    message = error_of(path)
    assert "line 3" in message and "3 fields" in message


def test_missing_labels_name_the_first_line(tmp_path):
    path = write(tmp_path / "d.csv", 'text,label\na,x\n"two\nlines",\nc,\n')
    message = error_of(path)
    assert "line 3" in message and "no label" in message


def test_blank_lines_between_rows_are_skipped(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\na,x\n\nb,y\n\n")
    assert len(load_file(path)) == 2


# --- JSONL ---------------------------------------------------------------------------------


def test_jsonl_skips_blank_lines_and_keeps_integer_label_order():
    dataset = load_file(FIXTURES / "small.jsonl", "jsonl")
    assert dataset.texts[0] == "café was lovely"
    assert dataset.label_names == ["1", "2", "10"]
    assert dataset.labels.tolist() == [1, 2, 0, 1]


def test_jsonl_invalid_line_is_named(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"text": "a", "label": 1}\n{"text": "b", label: 2}\n')
    assert "line 2" in error_of(path, "jsonl")


def test_jsonl_null_label_names_its_line(tmp_path):
    content = '{"text": "a", "label": 1}\n\n{"text": "b", "label": null}\n'
    path = write(tmp_path / "d.jsonl", content)
    assert "line 3" in error_of(path, "jsonl")


def test_jsonl_missing_column_lists_keys(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"body": "a", "label": 1}\n{"body": "b", "label": 2}\n')
    message = error_of(path, "jsonl")
    assert "data.text_column" in message and "'body'" in message


# --- Parquet, Hugging Face save_to_disk, Keras IMDB ----------------------------------------


def test_parquet_loads(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["a", "b", "c"], "label": [1, 0, 1]}), path)
    dataset = load_file(path, "parquet")
    assert dataset.label_names == ["0", "1"] and dataset.labels.tolist() == [1, 0, 1]


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    path = write(tmp_path / "d.parquet", b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert "densexp_tui[parquet]" in error_of(path, "parquet")


def test_hf_disk_uses_class_label_names_and_joins_splits(tmp_path):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["spam", "ham"])}
    )
    train = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "label": [0, 1, 1]}, features)
    test = datasets.Dataset.from_dict({"text": ["d"], "label": [0]}, features)
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(tmp_path / "hf"))
    dataset = load_file(tmp_path / "hf", "hf_disk")
    assert dataset.label_names == ["spam", "ham"]
    assert dataset.texts == ["a", "b", "c", "d"]
    assert dataset.labels.tolist() == [0, 1, 1, 0]


def test_hf_disk_path_that_is_a_file_is_refused():
    assert "save_to_disk" in error_of(FIXTURES / "quoted.csv", "hf_disk")


def test_imdb_not_cached_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DataError) as caught:
        load_dataset(DataSection(source="keras", name="imdb"))
    message = str(caught.value)
    assert "imdb.load_data()" in message and "not in the local Keras cache" in message
    imdb = next(info for info in list_datasets() if info.name == "imdb")
    assert not imdb.available and "load_data" in imdb.note


def test_imdb_from_the_cache_is_decoded_to_text(tmp_path, monkeypatch):
    cache = tmp_path / "datasets"
    cache.mkdir()
    sequences = np.empty(2, dtype=object)
    sequences[:] = [[1, 2], [2, 3, 99]]
    np.savez(
        cache / "imdb.npz",
        x_train=sequences,
        y_train=np.array([0, 1]),
        x_test=sequences[:1],
        y_test=np.array([1]),
    )
    write(cache / "imdb_word_index.json", json.dumps({"the": 1, "movie": 2, "rocks": 3}))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    dataset = load_dataset(DataSection(source="keras", name="imdb"))
    assert dataset.texts == ["the movie", "movie rocks [UNK]", "the movie"]
    assert dataset.label_names == ["negative", "positive"]
    assert next(info for info in list_datasets() if info.name == "imdb").available


# --- max_samples and splitting -------------------------------------------------------------


def test_max_samples_is_a_stratified_subsample_chosen_by_the_seed():
    section = DataSection(source="builtin", name="reviews", max_samples=300)
    first, again, other = (load_dataset(section, seed=s) for s in (1, 1, 2))
    assert len(first) == 300
    assert first.class_counts() == {"negative": 100, "neutral": 100, "positive": 100}
    assert first.texts == again.texts
    assert first.texts != other.texts


def test_split_is_stratified_deterministic_and_disjoint():
    dataset = load_dataset(DataSection(source="builtin", name="iris"))
    splits = split_dataset(dataset, 0.1, 0.2, seed=3)
    assert splits.sizes == {"train": 105, "val": 15, "test": 30}
    assert splits.stratified and splits.note == ""
    assert set(splits.test.class_counts().values()) == {10}
    again = split_dataset(dataset, 0.1, 0.2, seed=3)
    assert np.array_equal(splits.test.features, again.test.features)
    other = split_dataset(dataset, 0.1, 0.2, seed=4)
    assert not np.array_equal(splits.test.features, other.test.features)
    rows = [tuple(row) for part in (splits.train, splits.val, splits.test) for row in part.features]
    assert len(rows) == len(dataset)


def test_zero_fraction_gives_an_empty_split():
    dataset = load_dataset(DataSection(source="builtin", name="wine"))
    splits = split_dataset(dataset, 0.0, 0.0, seed=0)
    assert splits.sizes == {"train": 178, "val": 0, "test": 0}
    assert splits.val.label_names == dataset.label_names


def test_split_falls_back_with_a_reason_when_a_class_is_too_small(tmp_path):
    rows = "".join(f"t{i},{'rare' if i == 0 else ('a' if i % 2 else 'b')}\n" for i in range(20))
    dataset = load_file(write(tmp_path / "d.csv", "text,label\n" + rows))
    splits = split_dataset(dataset, 0.2, 0.2, seed=0)
    assert not splits.stratified
    assert "least populated class" in splits.note
    assert sum(splits.sizes.values()) == 20


def test_impossible_fractions_are_refused():
    dataset = load_dataset(DataSection(source="builtin", name="iris"))
    with pytest.raises(DataError, match="data.val_fraction"):
        split_dataset(dataset, 0.6, 0.5, seed=0)


# --- preview -------------------------------------------------------------------------------


def test_preview_of_reviews_is_fast_and_shows_balance_and_lengths():
    started = time.perf_counter()
    preview = preview_dataset(DataSection(source="builtin", name="reviews"), None, n_rows=5)
    assert time.perf_counter() - started < 1.0
    assert preview.kind == "text" and preview.columns == ["text", "label"]
    assert len(preview.rows) == 5 and set(preview.rows[0]) == {"text", "label"}
    assert sum(preview.class_counts.values()) == preview.n_rows
    lengths = preview.length_percentiles
    assert 0 < lengths["p50"] <= lengths["p90"] <= lengths["p99"] <= lengths["max"]


def test_preview_of_a_tabular_set_shows_features():
    preview = preview_dataset(DataSection(source="builtin", name="iris"), None, n_rows=3)
    assert preview.kind == "tabular" and preview.length_percentiles == {}
    assert preview.columns[-1] == "label" and len(preview.columns) == 5
    assert preview.rows[0]["label"] == "setosa"


def test_preview_raises_the_same_error_a_run_would(tmp_path):
    with pytest.raises(DataError, match="data.path"):
        preview_dataset(DataSection(source="csv", path="missing.csv"), tmp_path)


# --- import hygiene ------------------------------------------------------------------------


def test_importing_data_catalog_and_metrics_loads_no_tensorflow_or_textual():
    code = (
        "import sys, densexp_tui.engine.data, densexp_tui.core.catalog, densexp_tui.core.metrics\n"
        "heavy = ('tensorflow', 'tf_keras', 'transformers', 'textual')\n"
        "print([name for name in heavy if name in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- tokenizing and tf.data ----------------------------------------------------------------


@pytest.fixture(scope="module")
def word_tokenizer():
    """A fast tokenizer over a fixed vocabulary: no training, no download."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "good", "bad", "not", "very", "movie"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]")


def test_tokenize_texts_truncates_and_does_not_pad(word_tokenizer):
    ids = tokenize_texts(word_tokenizer, ["good movie", "not very very very good", "zebra"], 3)
    assert ids == [[2, 6], [4, 5, 5], [1]]


def test_text_pipeline_pads_each_batch_to_its_own_longest_sequence():
    token_ids = [[5], [5, 6], [5, 6, 7, 8], [9]]
    batches = list(make_text_pipeline(token_ids, [0, 1, 0, 1], 2, shuffle=False, seed=0, pad_id=0))
    (first, first_y), (second, second_y) = batches
    assert first["input_ids"].numpy().tolist() == [[5, 0], [5, 6]]
    assert first["attention_mask"].numpy().tolist() == [[1, 0], [1, 1]]
    assert second["input_ids"].shape == (2, 4)
    assert second["attention_mask"].numpy().tolist() == [[1, 1, 1, 1], [1, 0, 0, 0]]
    assert first_y.numpy().tolist() == [0, 1] and second_y.numpy().tolist() == [0, 1]


def _label_order(dataset) -> list[int]:
    return [int(label) for _, labels in dataset for label in labels.numpy()]


def test_epoch_order_is_a_pure_function_of_seed_and_epoch():
    token_ids = [[i + 1] for i in range(50)]
    labels = list(range(50))
    epochs_1_to_3 = _label_order(
        make_text_pipeline(token_ids, labels, 8, True, 7, epoch=1, num_epochs=3)
    )
    epoch_2 = _label_order(make_text_pipeline(token_ids, labels, 8, True, 7, epoch=2))
    assert epochs_1_to_3[50:100] == epoch_2 == epoch_order(50, 7, 2, True).tolist()
    assert epochs_1_to_3[:50] != epoch_2
    assert sorted(epoch_2) == labels
    assert _label_order(make_text_pipeline(token_ids, labels, 8, True, 8, epoch=2)) != epoch_2
    three_epochs = make_text_pipeline(token_ids, labels, 8, True, 7, num_epochs=3)
    assert len(list(three_epochs)) == 3 * steps_per_epoch(50, 8) == 21


def test_tabular_pipeline_batches_float_features():
    features = np.arange(20, dtype=np.float64).reshape(10, 2)
    batches = list(make_tabular_pipeline(features, np.arange(10) % 2, 4, shuffle=False, seed=0))
    assert [x.shape[0] for x, _ in batches] == [4, 4, 2]
    assert batches[0][0].dtype.name == "float32"
    assert batches[2][0].numpy().tolist() == [[16.0, 17.0], [18.0, 19.0]]


# --- the form's preview (preview_for_form) ----------------------------------------------------


def test_the_form_preview_offers_the_file_columns_and_the_rows(tmp_path):
    from densexp_tui.engine.data import preview_for_form

    write(tmp_path / "d.csv", "body,stars,extra\ngood,5,x\nbad,1,y\nok,3,z\n")
    data = DataSection(source="csv", path="d.csv", text_column="body", label_column="stars")
    outcome = preview_for_form(data, tmp_path)
    assert outcome.columns == ["body", "stars", "extra"] and outcome.problem is None
    assert outcome.preview is not None and outcome.preview.n_rows == 3


def test_the_form_preview_gives_the_reason_instead_of_raising(tmp_path):
    from densexp_tui.engine.data import preview_for_form

    write(tmp_path / "d.csv", "body,stars\ngood,5\n")
    data = DataSection(source="csv", path="d.csv", text_column="text", label_column="stars")
    outcome = preview_for_form(data, tmp_path)
    assert outcome.columns == ["body", "stars"] and outcome.preview is None
    assert outcome.problem is not None and "text" in outcome.problem
