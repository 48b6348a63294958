"""LoRA adapters for transformers' TF models: the layer, wrapping, saving, merging, export.

A ``LoRADense`` wraps an existing, built ``tf_keras`` Dense layer ``W x + b`` and adds a
low-rank update::

    y = W x + b + (alpha / r) * B(A(dropout(x)))

with ``A`` (in x r) drawn like PyTorch's kaiming-uniform(a=sqrt(5)) and ``B`` (r x out)
zero, so at initialisation the model computes exactly what it computed before. The
wrapped Dense is set ``trainable=False``; ``apply_finetune`` freezes everything else.

Keras kernels are laid out (in, out), so the merged kernel is ``W' = W + (alpha/r) A B``
(the transpose of the ``W + BA`` of the paper's (out, in) layout).

This module imports TensorFlow at import time; ``engine/finetune.py`` loads it only for
LoRA runs. TF-free names (``allowed_lora_targets``) live in archspec.py; the merged
export, which needs the model factory, is ``engine/export.py``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras

from densexp_tui.core.errors import ModelError
from densexp_tui.engine.archspec import resolve_path, target_paths

ADAPTERS_FORMAT = "densexp-adapters"
ADAPTERS_VERSION = 1


class LoRADense(tf_keras.layers.Layer):
    """A frozen Dense layer plus a trainable low-rank update (see the module docstring)."""

    def __init__(self, base: Any, rank: int, alpha: float, dropout: float = 0.0,
                 lora_path: str = "", **kwargs: Any) -> None:
        if base.activation not in (None, tf_keras.activations.linear):
            # The update must be added before the activation; every target we wrap is linear.
            raise ModelError(f"LoRA can only wrap a linear Dense layer, not {base.name}")
        super().__init__(name=f"{base.name}_lora", dtype=base.dtype_policy, **kwargs)
        self.base = base
        base.trainable = False
        self.rank = int(rank)
        self.alpha = float(alpha)
        self.scaling = self.alpha / self.rank
        self.lora_path = lora_path
        self.lora_dropout = tf_keras.layers.Dropout(dropout, name="lora_dropout")
        self.lora_a = tf_keras.layers.Dense(
            self.rank, use_bias=False, name="lora_A",
            # Uniform(+-1/sqrt(fan_in)): PyTorch's kaiming_uniform(a=sqrt(5)), as in PEFT.
            kernel_initializer=tf_keras.initializers.VarianceScaling(
                scale=1.0 / 3.0, mode="fan_in", distribution="uniform"),
        )
        self.lora_b = tf_keras.layers.Dense(
            int(base.units), use_bias=False, name="lora_B", kernel_initializer="zeros")

    def build(self, input_shape: Any = None) -> None:
        """Create A and B next to the base kernel's name, so h5 weight names stay unique."""
        if self.built:
            return
        in_dim = int(self.base.kernel.shape[0])
        scope = self.base.kernel.name.rsplit("/", 1)[0] + "/"  # absolute: ".../query/"
        with tf.name_scope(scope):
            with tf.name_scope("lora_A"):
                self.lora_a.build((None, in_dim))
            with tf.name_scope("lora_B"):
                self.lora_b.build((None, self.rank))
        super().build(input_shape)

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        update = self.lora_b(self.lora_a(self.lora_dropout(inputs, training=training)))
        return self.base(inputs) + tf.cast(self.scaling, update.dtype) * update

    def adapter_variables(self) -> list[tf.Variable]:
        """The trainable A and B kernels."""
        return [self.lora_a.kernel, self.lora_b.kernel]

    def delta_kernel(self) -> np.ndarray:
        """(alpha/r) A B in the base kernel's (in, out) layout, in float64 for the merge."""
        a = self.lora_a.kernel.numpy().astype(np.float64)
        b = self.lora_b.kernel.numpy().astype(np.float64)
        return self.scaling * (a @ b)

    def merged_kernel(self) -> np.ndarray:
        base = self.base.kernel.numpy()
        return (base.astype(np.float64) + self.delta_kernel()).astype(base.dtype)


def add_lora(model: Any, targets: list[str], rank: int, alpha: float,
             dropout: float = 0.0) -> list[LoRADense]:
    """Wrap every target Dense of every block in a LoRADense, in place; returns the wrappers.

    The model must be built. The wrapper replaces the attribute on the parent layer
    (``layer.attention.self_attention.query = LoRADense(query)``); Keras' attribute
    tracking then drops the old Dense from the parent and tracks the wrapper, which owns
    the old Dense, so no weight is lost or counted twice.
    """
    if rank < 1:
        raise ModelError(f"lora_rank {rank} is too small; allowed: an integer >= 1",
                         key="model.lora_rank")
    wrapped = []
    for _target, path in target_paths(model, targets):
        parent_path, attr = path.rsplit(".", 1)
        parent = resolve_path(model, parent_path)
        base = getattr(parent, attr)
        if isinstance(base, LoRADense):
            raise ModelError(f"{path} already has a LoRA adapter")
        if not base.built:
            raise ModelError(f"{path} is not built yet; build the model before adding LoRA")
        layer = LoRADense(base, rank, alpha, dropout, lora_path=path)
        layer.build(base.kernel.shape[:1])
        setattr(parent, attr, layer)
        wrapped.append(layer)
    return wrapped


def lora_layers(model: Any) -> list[LoRADense]:
    """Every LoRADense in the model, in block order."""
    found = [layer for layer in model._flatten_layers() if isinstance(layer, LoRADense)]
    return sorted(found, key=lambda layer: _path_sort_key(layer.lora_path))


def _path_sort_key(path: str) -> list[Any]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split(".")]


def merge_lora(model: Any) -> int:
    """Fold every adapter into its base kernel and put the plain Dense back; returns the count.

    Afterwards the model is a plain transformers model again (``save_pretrained`` writes
    the usual weight names) that computes the same logits as before, up to float rounding.
    """
    layers = lora_layers(model)
    for layer in layers:
        base = layer.base
        base.kernel.assign(layer.merged_kernel())
        base.trainable = True
        parent_path, attr = layer.lora_path.rsplit(".", 1)
        setattr(resolve_path(model, parent_path), attr, base)
    if layers:
        object.__setattr__(model, "_densexp_finetune", None)
    return len(layers)


# ---------------------------------------------------------------------------------------
# Saving and loading adapters on their own


def variable_key(variable: tf.Variable) -> str:
    """A variable's name without the model's own scope and the ``:0``.

    transformers names variables ``<model name>/bert/.../kernel:0`` and the model name
    gets a ``_1`` suffix for the second model in a process; stripping it makes the key
    the same for every instance of the architecture.
    """
    name = variable.name.split(":", 1)[0]
    return name.split("/", 1)[1] if "/" in name else name


def save_adapters(model: Any, path: str | Path) -> Path:
    """Write the run's small set of trained weights: LoRA A/B by layer path + head weights.

    Writes ``path`` (.npz) and a JSON next to it (same stem) with rank, alpha, dropout,
    targets, architecture and the keys. Every trainable variable that is not an adapter
    (the head; biases in bitfit) is saved under ``weights/<name>``, so the file alone turns
    the same base model back into the trained one. Both files are written atomically.
    """
    path = Path(path)
    info = getattr(model, "_densexp_finetune", None)
    arrays: dict[str, np.ndarray] = {}
    adapter_ids: set[int] = set()
    for layer in lora_layers(model):
        arrays[f"lora/{layer.lora_path}/A"] = layer.lora_a.kernel.numpy()
        arrays[f"lora/{layer.lora_path}/B"] = layer.lora_b.kernel.numpy()
        adapter_ids |= {id(v) for v in layer.adapter_variables()}
    for variable in model.trainable_weights:
        if id(variable) not in adapter_ids:
            arrays[f"weights/{variable_key(variable)}"] = variable.numpy()
    meta = {
        "format": ADAPTERS_FORMAT,
        "version": ADAPTERS_VERSION,
        "arch": type(model).__name__,
        "finetune": info.mode if info else "unknown",
        "rank": info.lora_rank if info else 0,
        "alpha": info.lora_alpha if info else 0.0,
        "dropout": info.lora_dropout if info else 0.0,
        "targets": info.lora_targets if info else [],
        "num_labels": int(getattr(getattr(model, "config", None), "num_labels", 0) or 0),
        "keys": sorted(arrays),
    }
    _atomic_write(path, lambda f: np.savez(f, allow_pickle=False, **arrays))
    _atomic_write(meta_path(path), lambda f: f.write(json.dumps(meta, indent=2).encode()))
    return path


def meta_path(path: str | Path) -> Path:
    """The JSON that describes an adapters file: ``adapters.npz`` -> ``adapters.json``."""
    return Path(path).with_suffix(".json")


def read_adapters_meta(path: str | Path) -> dict[str, Any]:
    """The adapters JSON, or a ModelError saying which file is missing or unreadable."""
    meta_file = meta_path(path)
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read adapter description ({exc.__class__.__name__})",
                         file=meta_file) from None
    if meta.get("format") != ADAPTERS_FORMAT:
        raise ModelError(f"not a densexp adapters file; allowed: format {ADAPTERS_FORMAT!r}",
                         file=meta_file)
    return meta


def load_adapters(model: Any, path: str | Path) -> int:
    """Set the adapter and head weights saved by ``save_adapters``; returns the count set.

    The model must have been built and set up with the same finetune mode, rank and
    targets (``build_model`` with the run's config does that). Any missing key, extra key
    or shape difference is a ModelError, never a silent partial load.
    """
    path = Path(path)
    meta = read_adapters_meta(path)
    _check_meta_matches(model, meta, path)
    expected = _expected_arrays(model)
    with np.load(path) as data:
        saved = set(data.files)
        missing = sorted(set(expected) - saved)
        extra = sorted(saved - set(expected))
        if missing or extra:
            first = (missing or extra)[0]
            what = "missing" if missing else "unexpected"
            raise ModelError(
                f"{what} weight {first} ({len(missing)} missing, {len(extra)} unexpected); "
                "allowed: adapters saved from the same model, mode and targets",
                file=path,
            )
        for key, variable in expected.items():
            value = data[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise ModelError(
                    f"{key} has shape {tuple(value.shape)}, the model has {tuple(variable.shape)}",
                    file=path,
                )
            variable.assign(value)
    return len(expected)


def _expected_arrays(model: Any) -> dict[str, tf.Variable]:
    """Key -> variable for everything save_adapters would write for this model."""
    expected: dict[str, tf.Variable] = {}
    adapter_ids: set[int] = set()
    for layer in lora_layers(model):
        expected[f"lora/{layer.lora_path}/A"] = layer.lora_a.kernel
        expected[f"lora/{layer.lora_path}/B"] = layer.lora_b.kernel
        adapter_ids |= {id(v) for v in layer.adapter_variables()}
    for variable in model.trainable_weights:
        if id(variable) not in adapter_ids:
            expected[f"weights/{variable_key(variable)}"] = variable
    return expected


def _check_meta_matches(model: Any, meta: dict[str, Any], path: Path) -> None:
    info = getattr(model, "_densexp_finetune", None)
    mode = info.mode if info else "full"
    checks = [
        ("finetune", mode, meta.get("finetune")),
        ("arch", type(model).__name__, meta.get("arch")),
    ]
    if mode == "lora" and info is not None:
        checks += [
            ("rank", info.lora_rank, meta.get("rank")),
            ("targets", list(info.lora_targets), list(meta.get("targets", []))),
        ]
    for name, ours, theirs in checks:
        if ours != theirs:
            raise ModelError(f"adapters have {name} {theirs!r} but the model has {ours!r}",
                             file=path)


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
