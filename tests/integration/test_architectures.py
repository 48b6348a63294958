"""Fine-tuning modes on every supported family beyond BERT, and the up-front model checks.

Each family is a tiny random-init folder (tests/integration/tiny_archs.py) loaded the way a
user's folder is: ``model.name`` = its path, through ``build_model``. Expected counts and
layer names come from the configs and from transformers' own variable names, not from
engine/archspec.py. Training is one eager epoch on 8 rows per mode (tracing a graph per
mode would cost seconds each); one real trainer run covers ALBERT's shared layers end to end.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

import densexp_tui  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from densexp_tui.core.config import RunConfig
from densexp_tui.core.errors import ModelError
from densexp_tui.engine.data import Dataset, Splits
from densexp_tui.engine.models import build_model, check_model_input, resolve_model_source
from tests.integration.tiny_archs import (
    FAMILIES,
    HIDDEN,
    INTERMEDIATE,
    LAYERS,
    POSITIONS,
    build_tiny,
    save_tiny_folder,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("offline_hf")]

TEXTS = ["great sound and a solid build", "awful battery, it broke in a week",
         "it is okay, nothing special", "not bad at all for the price"] * 2
LABELS = ["negative", "positive"]
TARGETS = ["query", "value", "ffn_output"]
RANK = 2
# Where each target's kernel lives, in transformers' own variable names (one block).
_BERT_LIKE = {"query": r"attention/self/query", "value": r"attention/self/value",
              "ffn_output": r"layer_\._\d+/output/dense"}
LORA_KERNELS = {
    "electra": _BERT_LIKE, "xlm-roberta": _BERT_LIKE, "camembert": _BERT_LIKE,
    "albert": {"query": r"attention/query", "value": r"attention/value",
               "ffn_output": r"albert_layers_\._\d+/ffn_output"},
    "deberta-v2": {"query": r"attention/self/query_proj", "value": r"attention/self/value_proj",
                   "ffn_output": r"layer_\._\d+/output/dense"},
    "mpnet": {"query": r"attention/attn/q", "value": r"attention/attn/v",
              "ffn_output": r"layer_\._\d+/output/dense"},
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {name: save_tiny_folder(root / name, family, TEXTS, num_labels=3)
            for name, family in FAMILIES.items()}


def run_config(name: str, finetune: str = "full", max_length: int = 16) -> RunConfig:
    cfg = RunConfig()
    cfg.model.name, cfg.model.finetune = name, finetune
    cfg.model.lora_rank, cfg.model.lora_alpha, cfg.model.lora_targets = RANK, 4.0, TARGETS
    cfg.data.max_length = max_length
    return cfg


def splits() -> Splits:
    ds = Dataset("text", list(TEXTS), None, np.arange(len(TEXTS)) % 2, LABELS, "t")
    return Splits(ds, ds, ds, LABELS)


def checksums(variables) -> dict[int, str]:
    return {id(v): hashlib.sha256(v.numpy().tobytes()).hexdigest() for v in variables}


def train_one_epoch(built) -> float:
    """One eager epoch (2 steps) over the 8 rows; the frozen weights must not move."""
    import tf_keras

    model = built.model
    x = dict(built.tokenizer(TEXTS, padding="max_length", truncation=True, max_length=16,
                             return_tensors="np", return_token_type_ids=False))
    trainable = {id(v) for v in model.trainable_weights}
    frozen = [v for v in model.weights if id(v) not in trainable]
    before = checksums(frozen)
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-2), run_eagerly=True,
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, np.arange(len(TEXTS)) % 2, batch_size=4, epochs=1, verbose=0)
    assert checksums(frozen) == before, "a frozen weight moved"
    return float(history.history["loss"][-1])


def head_params(family: str, classes: int = 2) -> int:
    """What the classification class adds to its base model, from the config sizes."""
    h = HIDDEN
    dense, out = h * h + h, h * classes + classes
    return {"albert": out, "deberta-v2": dense + out}.get(family, dense + out)


def lora_params(family: str) -> int:
    """rank * (in + out) per adapted Dense, for TARGETS in every block (ALBERT: one shared)."""
    blocks = 1 if family == "albert" else LAYERS
    shapes = {"query": (HIDDEN, HIDDEN), "value": (HIDDEN, HIDDEN),
              "ffn_output": (INTERMEDIATE, HIDDEN)}
    return blocks * sum(RANK * sum(shapes[target]) for target in TARGETS)


# --- every family, every mode -------------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_trains_one_epoch_in_every_mode(family: str, folders: dict[str, Path]) -> None:
    counts = {}
    for mode in ("full", "head", "bitfit", "lora"):
        built = build_model(run_config(str(folders[family]), mode), splits(), None)
        assert built.arch == FAMILIES[family].tf_class and built.finetune == mode
        counts[mode] = (built.trainable_params, built.total_params)
        if mode == "lora":
            check_adapters(family, built.model)
        assert np.isfinite(train_one_epoch(built))
    full, head, bitfit, lora = (counts[m][0] for m in ("full", "head", "bitfit", "lora"))
    assert head == head_params(family)
    assert head < bitfit < full == counts["full"][1]
    assert lora == head + lora_params(family)
    assert counts["lora"][1] == full + lora_params(family)  # adapters add to the base


def check_adapters(family: str, model) -> None:
    """Adapters sit exactly on the targeted Dense layers; nothing else outside the head trains."""
    from densexp_tui.engine.lora import lora_layers

    layers = lora_layers(model)
    blocks = 1 if family == "albert" else LAYERS
    assert len(layers) == blocks * len(TARGETS)
    for layer, target in zip(layers, TARGETS * blocks, strict=True):
        assert re.search(LORA_KERNELS[family][target] + "/kernel:0$", layer.base.kernel.name), (
            target, layer.base.kernel.name)
    adapters = {id(v) for layer in layers for v in layer.adapter_variables()}
    others = [v.name for v in model.trainable_weights if id(v) not in adapters]
    assert sum(int(np.prod(v.shape)) for v in model.trainable_weights
               if id(v) not in adapters) == head_params(family), others


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_lora_target_starts_at_identity_and_merges(family: str) -> None:
    """All six targets resolve on the family; B = 0 keeps the logits; a merge keeps them too."""
    from densexp_tui.core.config import LORA_TARGETS
    from densexp_tui.engine.finetune import apply_finetune
    from densexp_tui.engine.lora import lora_layers, merge_lora
    from densexp_tui.engine.models import model_logits

    model = build_tiny(FAMILIES[family], 60)
    x = {"input_ids": np.arange(5, 29, dtype="int32").reshape(2, 12),
         "attention_mask": np.ones((2, 12), dtype="int32")}
    before = model_logits(model, x).numpy()
    cfg = run_config(family, "lora").model
    cfg.lora_targets = list(LORA_TARGETS)
    apply_finetune(model, cfg)
    layers = lora_layers(model)
    assert len(layers) == (1 if family == "albert" else LAYERS) * len(LORA_TARGETS)
    np.testing.assert_array_equal(model_logits(model, x).numpy(), before)
    rng = np.random.default_rng(0)
    for layer in layers:  # stand-in for training: adapters that change the output
        layer.lora_b.kernel.assign(rng.normal(0, 0.2, layer.lora_b.kernel.shape))
    adapted = model_logits(model, x).numpy()
    assert not np.allclose(adapted, before)
    assert merge_lora(model) == len(layers)
    np.testing.assert_allclose(model_logits(model, x).numpy(), adapted, atol=1e-5)


def test_bitfit_trains_biases_and_the_head_only(folders: dict[str, Path]) -> None:
    built = build_model(run_config(str(folders["deberta-v2"]), "bitfit"), splits(), None)
    names = [v.name for v in built.model.trainable_weights]
    outside_head = [n for n in names if not re.search(r"/(pooler|classifier)/", n)]
    assert outside_head and all(n.endswith(("bias:0", "beta:0")) for n in outside_head)
    assert any("/pooler/dense/kernel" in n for n in names)  # DeBERTa's pooler is head


# --- ALBERT: one set of block weights per group -------------------------------------------------


@pytest.mark.parametrize("groups", [1, 2])
def test_albert_lora_wraps_each_shared_group_once(groups: int) -> None:
    from densexp_tui.engine.finetune import apply_finetune
    from densexp_tui.engine.lora import LoRADense, lora_layers
    from densexp_tui.engine.models import model_logits

    model = build_tiny(FAMILIES["albert"], 60, num_hidden_layers=4, num_hidden_groups=groups)
    x = {"input_ids": np.arange(5, 29, dtype="int32").reshape(2, 12),
         "attention_mask": np.ones((2, 12), dtype="int32")}
    before = model_logits(model, x).numpy()
    info = apply_finetune(model, run_config("albert", "lora").model)
    assert len(lora_layers(model)) == groups * len(TARGETS)  # not 4 layers' worth
    first = "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query"
    assert info.lora_layers[0] == first
    for layer in lora_layers(model):
        assert not isinstance(layer.base, LoRADense)
    np.testing.assert_array_equal(model_logits(model, x).numpy(), before)  # B starts at zero


@pytest.mark.timeout(180)
def test_albert_lora_run_completes_and_reloads(folders: dict[str, Path], runs_dir: Path) -> None:
    """A real trainer run; its checkpoint and its adapters alone give the same model back."""
    from densexp_tui.core.config import parse_config
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.engine.models import load_trained_model, model_logits
    from densexp_tui.engine.trainer import train

    cfg = parse_config({
        "run": {"name": "albert-lora", "seed": 3},
        "data": {"source": "builtin", "name": "reviews", "max_samples": 40, "max_length": 16,
                 "batching": "random", "pad_to_multiple_of": 16},
        "model": {"name": str(folders["albert"]), "finetune": "lora", "lora_rank": RANK,
                  "lora_targets": TARGETS},
        "train": {"epochs": 1, "batch_size": 16, "log_every_steps": 1},
        "device": {"device": "cpu"},
    }, source="test")
    result = train(cfg, RunStore(runs_dir))
    assert result.status == "completed", result.message
    run_dir = result.run_dir
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["params"]["trainable"] == head_params("albert", 3) + lora_params("albert")
    from_checkpoint = load_trained_model(run_dir)
    x = dict(from_checkpoint.tokenizer(TEXTS[:4], padding=True, return_tensors="tf",
                                       return_token_type_ids=False))
    expected = model_logits(from_checkpoint.model, x).numpy()
    for checkpoint in (run_dir / "checkpoints").glob("*.weights.h5"):
        checkpoint.unlink()
    from_adapters = load_trained_model(run_dir)  # the folder + adapters.npz
    np.testing.assert_allclose(model_logits(from_adapters.model, x).numpy(), expected, atol=1e-5)


# --- up-front checks: one line, before anything is built ----------------------------------------


def _fake_folder(folder: Path, config: dict, weights: str = "tf_model.h5") -> Path:
    """config.json + a weight file that is never read: the checks must not need it."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / weights).write_bytes(b"not read")
    return folder


def test_unsupported_family_names_model_mode_and_families(tmp_path: Path) -> None:
    folder = _fake_folder(tmp_path / "convbert", {"model_type": "convbert"})
    with pytest.raises(ModelError) as err:
        check_model_input(run_config(str(folder), "bitfit"))
    message = str(err.value)
    assert message.startswith("model.finetune: finetune 'bitfit' does not support ")
    assert str(folder) in message and "convbert" in message
    assert "albert, deberta-v2, mpnet" in message and "full" in message
    assert check_model_input(run_config(str(folder), "full")).kind == "local"


@pytest.mark.parametrize("family, limit, positions", [
    ("electra", POSITIONS, POSITIONS), ("xlm-roberta", POSITIONS, POSITIONS + 2),
])
def test_max_length_beyond_the_position_embeddings(family: str, limit: int, positions: int,
                                                   folders: dict[str, Path]) -> None:
    folder = str(folders[family])
    assert check_model_input(run_config(folder, max_length=limit)).kind == "local"
    with pytest.raises(ModelError) as err:
        check_model_input(run_config(folder, max_length=limit + 1))
    message = str(err.value)
    assert message.startswith(f"data.max_length: {limit + 1} is more than")
    assert f"max_position_embeddings {positions}" in message and f"<= {limit}" in message


def test_deberta_relative_positions_take_longer_inputs(folders: dict[str, Path]) -> None:
    from densexp_tui.engine.models import model_logits

    cfg = run_config(str(folders["deberta-v2"]), max_length=POSITIONS + 16)
    built = build_model(cfg, splits(), None)
    long_ids = np.tile(np.arange(5, 45, dtype="int32"), 2)[None, :POSITIONS + 16]
    logits = model_logits(built.model, {"input_ids": long_ids,
                                        "attention_mask": np.ones_like(long_ids)})
    assert logits.shape == (1, 2)


def test_pytorch_bin_only_needs_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.core import catalog

    folder = _fake_folder(tmp_path / "pt", {"model_type": "bert"}, weights="pytorch_model.bin")
    monkeypatch.setattr(catalog, "torch_installed", lambda: False)
    with pytest.raises(ModelError) as err:
        resolve_model_source(str(folder))
    message = str(err.value)
    assert "only PyTorch weights (pytorch_model.bin)" in message and "not installed" in message
    assert "model.safetensors" in message and "\n" not in message
    monkeypatch.setattr(catalog, "torch_installed", lambda: True)
    assert resolve_model_source(str(folder)).kind == "local"  # loads with from_pt then


def test_pytorch_safetensors_only_is_accepted(tmp_path: Path) -> None:
    folder = _fake_folder(tmp_path / "st", {"model_type": "bert"}, weights="model.safetensors")
    assert resolve_model_source(str(folder)).kind == "local"


def _cached_repo(hub: Path, repo_id: str, weights: str) -> Path:
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    _fake_folder(repo / "snapshots" / "abc123", {"model_type": "bert"}, weights)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    return repo


def test_hub_cache_folder_suggests_its_hub_id(tmp_path: Path) -> None:
    repo = _cached_repo(tmp_path / "hf-home" / "hub", "someorg/tiny-model", "tf_model.h5")
    with pytest.raises(ModelError) as err:
        resolve_model_source(str(repo))
    message = str(err.value)
    assert 'model.name = "someorg/tiny-model"' in message and "HF_HUB_CACHE" not in message
    other = _cached_repo(tmp_path / "elsewhere", "someorg/other", "tf_model.h5")
    with pytest.raises(ModelError, match=f"HF_HUB_CACHE={tmp_path / 'elsewhere'}"):
        resolve_model_source(str(other))
    assert resolve_model_source(str(repo / "snapshots" / "abc123")).kind == "local"


def test_cached_hub_id_with_pytorch_bin_only_offline(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from densexp_tui.core import catalog

    monkeypatch.setattr(catalog, "torch_installed", lambda: False)
    _cached_repo(tmp_path / "hf-home" / "hub", "someorg/pt-only", "pytorch_model.bin")
    with pytest.raises(ModelError, match="only PyTorch weights"):
        resolve_model_source("someorg/pt-only")
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):  # online: tf_model.h5 may download
        monkeypatch.setenv(var, "0")
    assert resolve_model_source("someorg/pt-only").kind == "hub"


@pytest.mark.parametrize("case, fragment", [
    ("unsupported", "does not support"), ("too-long", "data.max_length: 600"),
    ("pytorch-only", "only PyTorch weights"), ("cache-folder", 'model.name = "org/name"'),
])
def test_cli_refuses_before_creating_a_run(case: str, fragment: str, tmp_path: Path,
                                           runs_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from densexp_tui.cli import main
    from densexp_tui.core import catalog

    monkeypatch.setattr(catalog, "torch_installed", lambda: False)
    make, finetune, max_length = {
        "unsupported": (lambda: _fake_folder(tmp_path / "m", {"model_type": "funnel"}), "lora", 32),
        "too-long": (lambda: _fake_folder(tmp_path / "m", {"model_type": "bert",
                                                           "max_position_embeddings": 512}),
                     "full", 600),
        "pytorch-only": (lambda: _fake_folder(tmp_path / "m", {"model_type": "bert"},
                                              "pytorch_model.bin"), "head", 32),
        "cache-folder": (lambda: _cached_repo(tmp_path, "org/name", "tf_model.h5"), "full", 32),
    }[case]
    folder = make()
    (tmp_path / "run.toml").write_text(
        f'[data]\nmax_samples = 40\nmax_length = {max_length}\n'
        f'[model]\nname = "{folder}"\nfinetune = "{finetune}"\n')
    detach = ["--detach"] if case == "unsupported" else []  # checked before a child starts
    code = main(["run", *detach, str(tmp_path / "run.toml")])
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("densexp: ") and fragment in lines[0], err
    assert "Traceback" not in out + err
    assert not runs_dir.exists() or not [p for p in runs_dir.iterdir()
                                         if not p.name.startswith(".")]
