"""The models part of core/catalog.py: builtins, ./models folders and the HF hub cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from densexp_tui.core import catalog
from densexp_tui.core.catalog import (
    ModelInfo,
    hf_hub_cache_dir,
    hub_cache_snapshot,
    hub_offline,
    list_models,
    read_model_arch,
)


@pytest.fixture(autouse=True)
def _clean_hf_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME",
                "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _model_dir(folder: Path, arch: str | None = "BertForSequenceClassification",
               weights: str | None = "tf_model.h5", size: int = 100) -> Path:
    folder.mkdir(parents=True)
    config = {"model_type": "bert"}
    if arch:
        config["architectures"] = [arch]
    (folder / "config.json").write_text(json.dumps(config))
    if weights:
        (folder / weights).write_bytes(b"\0" * size)
    return folder


def _cached_repo(cache: Path, repo_id: str, files: dict[str, bytes], revision: str = "abc123",
                 with_ref: bool = True) -> Path:
    """A hub cache entry laid out like huggingface_hub's: blobs, refs/main, snapshot links."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for i, (name, content) in enumerate(files.items()):
        blob = repo / "blobs" / f"blob{i}"
        blob.write_bytes(content)
        (snapshot / name).symlink_to(blob)
    if with_ref:
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(revision)
    return snapshot


def test_builtins_come_first_and_need_no_files(tmp_path: Path) -> None:
    models = list_models(search_dirs=[tmp_path / "nothing"], hub_cache=tmp_path / "no-cache")
    assert [(m.name, m.kind) for m in models] == [("tiny-bert", "builtin"), ("mlp", "builtin")]
    assert all(m.available and m.path is None and m.size_bytes == 0 for m in models)


def test_local_folders_need_a_config_json(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    _model_dir(models_dir / "good", size=1234)
    (models_dir / "not-a-model").mkdir()
    (models_dir / "not-a-model" / "readme.txt").write_text("hi")
    local = [m for m in list_models([models_dir], hub_cache=tmp_path / "c") if m.kind == "local"]
    assert [m.path.name for m in local] == ["good"]
    good = local[0]
    assert good.arch == "BertForSequenceClassification"
    assert good.size_bytes >= 1234
    assert good.available and good.note == ""
    assert good.name == str(models_dir / "good")  # absolute search dir -> absolute name


def test_relative_search_dir_gives_dot_slash_names(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _model_dir(tmp_path / "models" / "mine")
    names = [m.name for m in list_models(hub_cache=tmp_path / "c") if m.kind == "local"]
    assert names == ["./models/mine"]  # what [model] name accepts as a path


def test_folder_without_weights_is_listed_as_unavailable(tmp_path: Path) -> None:
    _model_dir(tmp_path / "models" / "empty", weights=None)
    _model_dir(tmp_path / "models" / "torch", weights="pytorch_model.bin")
    by_name = {m.path.name: m for m in list_models([tmp_path / "models"], hub_cache=tmp_path / "c")
               if m.kind == "local"}
    assert not by_name["empty"].available
    assert "tf_model.h5" in by_name["empty"].note and "model.safetensors" in by_name["empty"].note
    assert not by_name["torch"].available and "PyTorch" in by_name["torch"].note


def test_arch_falls_back_to_model_type_and_tolerates_bad_json(tmp_path: Path) -> None:
    no_arch = _model_dir(tmp_path / "a", arch=None)
    assert read_model_arch(no_arch) == "bert"
    broken = tmp_path / "b"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    assert read_model_arch(broken) is None


def test_hub_cache_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    cache = tmp_path / "hf" / "hub"
    config = json.dumps({"architectures": ["DistilBertForSequenceClassification"]}).encode()
    snapshot = _cached_repo(cache, "org/tiny-distil", {"config.json": config,
                                                       "model.safetensors": b"x" * 500})
    _cached_repo(cache, "org/config-only", {"config.json": config})
    hub = {m.name: m for m in list_models([tmp_path / "none"]) if m.kind == "hf-cache"}
    assert set(hub) == {"org/tiny-distil", "org/config-only"}
    distil = hub["org/tiny-distil"]
    assert distil.path == snapshot
    assert distil.arch == "DistilBertForSequenceClassification"
    assert distil.size_bytes == len(config) + 500
    assert distil.available
    assert not hub["org/config-only"].available


def test_hub_snapshot_prefers_refs_main_else_newest(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    pinned = _cached_repo(cache, "org/m", {"config.json": b"{}"}, revision="aaa")
    newer = cache / "models--org--m" / "snapshots" / "zzz"
    newer.mkdir()
    assert hub_cache_snapshot("org/m", cache) == pinned
    (cache / "models--org--m" / "refs" / "main").unlink()
    assert hub_cache_snapshot("org/m", cache) in {pinned, newer}
    assert hub_cache_snapshot("org/absent", cache) is None


def test_hub_cache_dir_follows_the_environment(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert hf_hub_cache_dir() == tmp_path / "home" / ".cache" / "huggingface" / "hub"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hf_hub_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert hf_hub_cache_dir() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(tmp_path / "old"))
    assert hf_hub_cache_dir() == tmp_path / "old"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "new"))
    assert hf_hub_cache_dir() == tmp_path / "new"


def test_hub_offline_reads_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not hub_offline()
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    assert hub_offline()
    monkeypatch.delenv("TRANSFORMERS_OFFLINE")
    monkeypatch.setenv("HF_HUB_OFFLINE", "true")
    assert hub_offline()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert not hub_offline()


def test_model_info_is_a_plain_record() -> None:
    info = ModelInfo("x", "local", Path("/x"), "Bert", 1)
    assert info.available and info.note == ""
    assert catalog.MODEL_WEIGHT_FILES[0] == "tf_model.h5"


def test_listing_models_loads_no_tensorflow_or_transformers(tmp_path: Path) -> None:
    code = (
        "import sys; from densexp_tui.core.catalog import list_models; list_models(); "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'transformers', 'tf_keras', 'textual')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]"
