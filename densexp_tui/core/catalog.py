"""What datasets and models exist, found offline and without loading TensorFlow or Textual.

The datasets part describes the built-in sets (generated or shipped with scikit-learn) and
the Keras IMDB set when it is already in the local Keras cache. Row and class counts of the
built-in sets are facts written down here rather than found by loading them, so that
``densexp datasets`` and the TUI's picker answer instantly; a unit test checks them
against the real loaders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------

# The generated `reviews` set (engine/reviews.py). The seed is fixed, not the run's seed, so
# every run sees the same reviews; the run's seed only decides the split.
REVIEWS_SIZE = 4000
REVIEWS_SEED = 20240611
REVIEWS_LABELS = ("negative", "neutral", "positive")

IMDB_FILE = "imdb.npz"
IMDB_WORD_INDEX_FILE = "imdb_word_index.json"
IMDB_FETCH_COMMAND = (
    'python -c "import tf_keras as k; k.datasets.imdb.load_data(); '
    'k.datasets.imdb.get_word_index()"'
)


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset a run can use: ``[data] source = <source>``, ``name = <name>``."""

    name: str
    source: str  # builtin | keras
    kind: str  # text | tabular
    n_classes: int
    n_rows: int
    description: str
    available: bool = True  # False: known but needs a one-time step (see ``note``)
    note: str = ""


_BUILTIN = (
    DatasetInfo(
        "reviews", "builtin", "text", len(REVIEWS_LABELS), REVIEWS_SIZE,
        "Generated product reviews: negative / neutral / positive, with negation, mixed "
        "opinions and a few percent label noise",
    ),
    DatasetInfo("iris", "builtin", "tabular", 3, 150,
                "Iris flowers (scikit-learn): 4 measurements, 3 species"),
    DatasetInfo("wine", "builtin", "tabular", 3, 178,
                "Wine recognition (scikit-learn): 13 chemical measurements, 3 cultivars"),
    DatasetInfo("breast_cancer", "builtin", "tabular", 2, 569,
                "Breast cancer Wisconsin (scikit-learn): 30 features, malignant / benign"),
    DatasetInfo("digits", "builtin", "tabular", 10, 1797,
                "Handwritten digits (scikit-learn): 8x8 images as 64 features, 10 classes"),
)


def keras_datasets_dir() -> Path:
    """Where tf_keras caches downloaded datasets ($KERAS_HOME/datasets or ~/.keras/datasets)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def imdb_is_cached() -> bool:
    """True when both IMDB files are already local, so loading it downloads nothing."""
    cache = keras_datasets_dir()
    return (cache / IMDB_FILE).is_file() and (cache / IMDB_WORD_INDEX_FILE).is_file()


def _imdb_info() -> DatasetInfo:
    cached = imdb_is_cached()
    hint = f"not in {keras_datasets_dir()}; fetch once online: {IMDB_FETCH_COMMAND}"
    return DatasetInfo(
        "imdb", "keras", "text", 2, 50000,
        "IMDB movie reviews (Keras): negative / positive",
        available=cached,
        note="" if cached else hint,
    )


def list_datasets() -> list[DatasetInfo]:
    """Every dataset a run can name, built-in first; offline and instant."""
    return [*_BUILTIN, _imdb_info()]


# ---------------------------------------------------------------------------------------
# Models (written separately; keep the datasets part above self-contained)
# ---------------------------------------------------------------------------------------

# Builtin model names: tiny-bert is built in code (engine/models.py), mlp is for tabular sets.
BUILTIN_MODELS = (
    ("tiny-bert", "text", "Small BERT (64 hidden, 2 layers, 2 heads) with a WordPiece "
                          "tokenizer trained on the run's training texts; random init"),
    ("mlp", "tabular", "Dense network on normalised features (model.hidden_units)"),
)
# Weight files a Hugging Face model directory may hold, each with whether loading it into a
# TF model needs PyTorch. transformers < 4.55 reads TF h5 and safetensors (saved by PyTorch
# or by TF, single or sharded) on its own; pytorch_model.bin only through torch (from_pt).
WEIGHT_FILES: tuple[tuple[str, bool], ...] = (
    ("tf_model.h5", False),
    ("tf_model.h5.index.json", False),
    ("model.safetensors", False),
    ("model.safetensors.index.json", False),
    ("pytorch_model.bin", True),
    ("pytorch_model.bin.index.json", True),
)
MODEL_WEIGHT_FILES = tuple(name for name, needs_torch in WEIGHT_FILES if not needs_torch)
PYTORCH_WEIGHT_FILES = tuple(name for name, needs_torch in WEIGHT_FILES if needs_torch)
HUB_CACHE_PREFIX = "models--"  # huggingface_hub's folder name: models--org--name
DEFAULT_MODEL_DIRS = (Path("models"),)


@dataclass(frozen=True)
class ModelInfo:
    """One model a run can name: ``[model] name = <name>``."""

    name: str
    kind: str  # builtin | local | hf-cache
    path: Path | None
    arch: str | None  # config.json "architectures"[0] (or model_type); None for builtins
    size_bytes: int
    description: str = ""
    available: bool = True  # False: found, but no usable weights (see ``note``)
    note: str = ""


def hf_hub_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment on every call.

    Order as in huggingface_hub: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, $HF_HOME/hub,
    $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub. (huggingface_hub reads these
    once at import; reading them here lets tests and users change them at any time.)
    """
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "huggingface" / "hub"


def hub_offline() -> bool:
    """True when the user switched Hugging Face downloads off.

    That is HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE set to a true value.
    """
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_cache_snapshot(repo_id: str, cache_dir: Path | None = None) -> Path | None:
    """The cached snapshot folder of a hub model (refs/main first, else the newest), or None."""
    repo = (cache_dir or hf_hub_cache_dir()) / (HUB_CACHE_PREFIX + repo_id.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file():
        pinned = snapshots / ref.read_text().strip()
        if pinned.is_dir():
            return pinned
    candidates = [p for p in snapshots.iterdir() if p.is_dir()]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def hub_id_of_cache_folder(folder: Path) -> str | None:
    """``org/name`` for a hub cache folder ``.../models--org--name``, else None."""
    if not folder.name.startswith(HUB_CACHE_PREFIX):
        return None
    return folder.name[len(HUB_CACHE_PREFIX):].replace("--", "/") or None


def read_model_config(model_dir: Path) -> dict[str, object] | None:
    """config.json of a model folder as a dict, or None if missing or unreadable."""
    import json  # here, not at the top: the datasets part above owns the module imports

    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def read_model_arch(model_dir: Path) -> str | None:
    """config.json's first architecture (else its model_type), or None if unreadable."""
    config = read_model_config(model_dir)
    if config is None:
        return None
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        return architectures[0]
    model_type = config.get("model_type")
    return model_type if isinstance(model_type, str) else None


def torch_installed() -> bool:
    """True when PyTorch can be imported (looked up, not imported: that takes seconds)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def weight_files_in(model_dir: Path) -> list[str]:
    """The weight files in a model directory that this install can load into TF: those of
    MODEL_WEIGHT_FILES, plus PYTORCH_WEIGHT_FILES when PyTorch is installed."""
    usable = [name for name, needs_torch in WEIGHT_FILES
              if not needs_torch or torch_installed()]
    return [name for name in usable if (model_dir / name).is_file()]


def pytorch_weights_only(model_dir: Path) -> list[str]:
    """The PyTorch-only weight files of a folder that has no TF-loadable ones, else []:
    such a folder loads into TF only with PyTorch installed (``from_pt=True``)."""
    if any((model_dir / name).is_file() for name in MODEL_WEIGHT_FILES):
        return []
    return [name for name in PYTORCH_WEIGHT_FILES if (model_dir / name).is_file()]


def _tree_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size  # follows HF cache symlinks
            except OSError:
                continue
    return total


def _weights_note(model_dir: Path) -> str:
    if weight_files_in(model_dir):
        return ""
    if pytorch_weights_only(model_dir):
        return "only pytorch_model.bin (needs PyTorch); convert to model.safetensors"
    return "no weights; expected " + " or ".join(MODEL_WEIGHT_FILES[::2])


def _display_path(path: Path) -> str:
    """A name ``[model] name`` accepts as a path: absolute, or starting with ./"""
    return str(path) if path.is_absolute() else "./" + path.as_posix()


def _local_models(search_dirs: tuple[Path, ...] | list[Path]) -> list[ModelInfo]:
    found = []
    for folder in search_dirs:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            continue
        for model_dir in sorted(p for p in folder.iterdir() if (p / "config.json").is_file()):
            note = _weights_note(model_dir)
            found.append(ModelInfo(
                name=_display_path(model_dir), kind="local", path=model_dir,
                arch=read_model_arch(model_dir), size_bytes=_tree_size(model_dir),
                description="local model directory", available=not note, note=note,
            ))
    return found


def _hub_cache_models(cache_dir: Path) -> list[ModelInfo]:
    if not cache_dir.is_dir():
        return []
    found = []
    for repo in sorted(cache_dir.glob(HUB_CACHE_PREFIX + "*")):
        repo_id = hub_id_of_cache_folder(repo) or repo.name
        snapshot = hub_cache_snapshot(repo_id, cache_dir)
        note = _weights_note(snapshot) if snapshot else "no snapshot in the cache"
        blobs = repo / "blobs"
        found.append(ModelInfo(
            name=repo_id, kind="hf-cache", path=snapshot,
            arch=read_model_arch(snapshot) if snapshot else None,
            size_bytes=_tree_size(blobs if blobs.is_dir() else repo),
            description="Hugging Face hub cache", available=not note, note=note,
        ))
    return found


def list_models(search_dirs: tuple[Path, ...] | list[Path] = DEFAULT_MODEL_DIRS,
                hub_cache: Path | None = None) -> list[ModelInfo]:
    """Every model a run can name: builtins, local model folders, then the HF hub cache.

    Local folders are the subfolders of ``search_dirs`` (default ``./models``) that hold a
    config.json. Offline and quick: reads config.json with json, loads no TF/transformers.
    """
    builtins = [
        ModelInfo(name, "builtin", None, None, 0, f"{description} ({data_kind} data)")
        for name, data_kind, description in BUILTIN_MODELS
    ]
    cache = hub_cache if hub_cache is not None else hf_hub_cache_dir()
    return [*builtins, *_local_models(search_dirs), *_hub_cache_models(cache)]
