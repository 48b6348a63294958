"""Shared test setup: offline, quiet, and every test with its own runs directory.

The environment is set at import time, before any test module imports TensorFlow or
transformers: both read these variables once, when they load.
"""

from __future__ import annotations

import os
import shutil

# No code path may download at test time (DESIGN.md): models come from configs or folders.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from densexp_tui.core.config import RunConfig, parse_config  # noqa: E402

# Small enough to train in seconds on 2 shared cores, big enough to learn something.
TINY_BERT_RUN = {
    "run": {"name": "tiny", "seed": 7},
    "data": {"source": "builtin", "name": "reviews", "max_samples": 600, "max_length": 32},
    "model": {"name": "tiny-bert"},
    "train": {"epochs": 2, "batch_size": 32, "learning_rate": 2e-3, "log_every_steps": 2},
    "device": {"device": "cpu"},
}
TINY_MLP_RUN = {
    "run": {"name": "tiny-mlp", "seed": 7},
    "data": {"source": "builtin", "name": "wine"},
    "model": {"name": "mlp"},
    "train": {"epochs": 15, "batch_size": 16, "learning_rate": 1e-2, "log_every_steps": 2},
    "device": {"device": "cpu"},
}


@pytest.fixture(autouse=True)
def _runs_dir_per_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$DENSEXP_RUNS_DIR in the test's tmp dir: no test writes ./runs or sees another's runs."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("DENSEXP_RUNS_DIR", str(runs))
    return runs


@pytest.fixture
def runs_dir(_runs_dir_per_test: Path) -> Path:
    return _runs_dir_per_test


@pytest.fixture
def tiny_run_config() -> RunConfig:
    """tiny-bert on 600 built-in reviews, 2 epochs on the CPU: a few seconds of training."""
    return parse_config(TINY_BERT_RUN, source="tiny_run_config")


@pytest.fixture
def tiny_mlp_config() -> RunConfig:
    """An mlp on the wine set (178 rows): trains in about a second."""
    return parse_config(TINY_MLP_RUN, source="tiny_mlp_config")


@pytest.fixture(scope="session")
def _small_text_run_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-bert on 300 reviews for 1 epoch, trained once for the session (several tests
    only read a finished run: they get copies, see ``small_text_run``)."""
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.engine.trainer import train

    cfg = parse_config(TINY_BERT_RUN, source="small_text_run")
    cfg.data.max_samples, cfg.train.epochs = 300, 1
    result = train(cfg, RunStore(tmp_path_factory.mktemp("small-text-run") / "runs"))
    assert result.status == "completed" and result.run_dir is not None, result.message
    return result.run_dir


@pytest.fixture
def small_text_run(_small_text_run_once: Path, runs_dir: Path) -> Path:
    """A copy of the session's finished tiny-bert run in this test's runs directory: the
    test may change it (delete predictions, re-evaluate) without touching another's."""
    copy = runs_dir / _small_text_run_once.name
    shutil.copytree(_small_text_run_once, copy)
    return copy


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest first: the cpu:2 group (one ~200 s process), then the tests that train
    (marked slow), each in collected order, then the rest.

    pytest-xdist hands tests out in this order, so the long ones start early on every worker
    and the many short ones fill in at the end, instead of one worker finishing a 60 s
    training test while the other has nothing left (longest first is the usual schedule).
    """
    items.sort(key=_longest_first)


def _longest_first(item: pytest.Item) -> int:
    if item.get_closest_marker("xdist_group") is not None:
        return 0
    return 1 if item.get_closest_marker("slow") is not None else 2
