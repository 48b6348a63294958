"""Fine-tuning modes: which weights of a model train.

``model.finetune`` is one of:

- ``full``   every weight trains.
- ``head``   only the classification head trains; the encoder (embeddings, transformer
             blocks *and the pooler*) is frozen.
- ``bitfit`` the head plus every bias term: Dense biases and LayerNormalization betas
             (as in BitFit, Ben Zaken et al. 2021). Kernels, embeddings and LayerNorm
             gammas are frozen.
- ``lora``   low-rank adapters on the chosen Dense layers (see ``engine/lora.py``), plus the
             head; every base weight is frozen.

What "the head" is: the layers a ``...ForSequenceClassification`` class adds on top of its
base model, i.e. what ``from_pretrained`` of a base checkpoint initialises fresh. For BERT
that is the ``classifier`` Dense only: the pooler belongs to ``BertModel`` and comes
pretrained, so it is frozen with the encoder. For DistilBERT it is ``pre_classifier`` and
``classifier``; for RoBERTa the ``classifier`` block (its ``dense`` and ``out_proj``); for
DeBERTa-v2 its ``pooler`` and ``classifier`` (that pooler is not in the base model). Each
architecture's head is in ``engine/archspec.py``.

Freezing works per *variable*, not per layer, because BitFit splits a Dense layer (bias
trains, kernel does not) and Keras only has a per-layer ``trainable`` flag. A frozen
variable is moved from its layer's trainable list to its non-trainable list, so
``model.trainable_weights`` (what ``fit`` hands to the optimizer) holds exactly the
weights that should learn, and ``count_params`` reads the same lists.

This module imports no TensorFlow at import time: the config validator and the TUI can ask
``allowed_lora_targets()`` cheaply. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from densexp_tui.core.config import FINETUNE_MODES  # re-exported
from densexp_tui.core.errors import ModelError
from densexp_tui.engine.archspec import (  # re-exported: callers name them here
    ARCH_SPECS,
    ArchSpec,
    allowed_lora_targets,
    arch_spec_for,
    check_lora_targets,
    resolve_path,
    target_paths,
)

__all__ = [
    "ARCH_SPECS", "FINETUNE_MODES", "ArchSpec", "FinetuneInfo",
    "allowed_lora_targets", "apply_finetune", "arch_spec_for", "check_lora_targets",
    "count_params", "freeze_all_except", "resolve_path",
    "target_paths",
]



@dataclass
class FinetuneInfo:
    """What ``apply_finetune`` did, kept on the model as ``model._densexp_finetune``."""

    mode: str
    arch: str
    trainable_params: int
    total_params: int
    lora_rank: int = 0
    lora_alpha: float = 0.0
    lora_dropout: float = 0.0
    lora_targets: list[str] = field(default_factory=list)
    lora_layers: list[str] = field(default_factory=list)  # attribute paths that got adapters


def apply_finetune(model: Any, model_cfg: Any) -> FinetuneInfo:
    """Make exactly the weights of ``model_cfg.finetune`` trainable; idempotent per mode.

    ``model`` must already be built (weights exist). ``build_model`` calls this, so the
    trainer gets a model that is ready to compile; call it yourself only on a model you
    built another way. LoRA needs ``lora_rank``, ``lora_alpha``, ``lora_dropout`` and
    ``lora_targets`` on ``model_cfg``. Raises ModelError for an unknown mode, an unsupported
    architecture or an unknown target.
    """
    mode = model_cfg.finetune
    if mode not in FINETUNE_MODES:
        raise ModelError(
            f"unknown finetune mode {mode!r}; allowed: " + ", ".join(FINETUNE_MODES),
            key="model.finetune",
        )
    done: FinetuneInfo | None = getattr(model, "_densexp_finetune", None)
    if done is not None:
        if _settings(done.mode, done) != _settings(mode, model_cfg):
            raise ModelError(f"model is already set up for finetune {done.mode!r} with other "
                             "settings; build a new model to change them")
        return done
    info = _apply(model, model_cfg, mode)
    # A plain attribute (no Keras tracking): a dataclass is not a trackable object.
    object.__setattr__(model, "_densexp_finetune", info)
    return info


def _settings(mode: str, source: Any) -> tuple[Any, ...]:
    """What must match for a second apply_finetune to be a no-op."""
    if mode != "lora":
        return (mode,)
    return (mode, int(source.lora_rank), float(source.lora_alpha), float(source.lora_dropout),
            list(source.lora_targets))


def _apply(model: Any, model_cfg: Any, mode: str) -> FinetuneInfo:
    arch = type(model).__name__
    if mode == "full":
        trainable, total = count_params(model)
        return FinetuneInfo(mode, arch, trainable, total)
    if not _is_transformers_model(model):
        raise ModelError(
            f"finetune {mode!r} needs a transformer model; allowed for mlp: full",
            key="model.finetune",
        )
    spec = arch_spec_for(model, repr(mode))
    keep = _head_variable_ids(model, spec)
    lora_layers: list[str] = []
    if mode == "bitfit":
        keep |= _bias_variable_ids(model)
    elif mode == "lora":
        from densexp_tui.engine import lora

        targets = check_lora_targets(model_cfg.lora_targets)
        wrapped = lora.add_lora(
            model,
            targets=targets,
            rank=int(model_cfg.lora_rank),
            alpha=float(model_cfg.lora_alpha),
            dropout=float(model_cfg.lora_dropout),
        )
        lora_layers = [layer.lora_path for layer in wrapped]
        keep |= {id(v) for layer in wrapped for v in layer.adapter_variables()}
    freeze_all_except(model, keep)
    trainable, total = count_params(model)
    info = FinetuneInfo(mode, arch, trainable, total)
    if mode == "lora":
        info.lora_rank = int(model_cfg.lora_rank)
        info.lora_alpha = float(model_cfg.lora_alpha)
        info.lora_dropout = float(model_cfg.lora_dropout)
        info.lora_targets = list(model_cfg.lora_targets)
        info.lora_layers = lora_layers
    return info


def _is_transformers_model(model: Any) -> bool:
    return type(model).__module__.startswith("transformers.")


def _head_variable_ids(model: Any, spec: ArchSpec) -> set[int]:
    return {id(v) for name in spec.head for v in getattr(model, name).weights}


def _bias_variable_ids(model: Any) -> set[int]:
    """Dense biases and LayerNormalization betas anywhere in the model."""
    import tf_keras

    ids: set[int] = set()
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, tf_keras.layers.Dense) and layer.use_bias:
            ids.add(id(layer.bias))
        elif isinstance(layer, tf_keras.layers.LayerNormalization) and layer.center:
            ids.add(id(layer.beta))
    return ids


def freeze_all_except(model: Any, keep_ids: set[int]) -> None:
    """Move every trainable variable whose id is not in ``keep_ids`` to the frozen list.

    Keras gathers ``trainable_weights`` from each layer's own ``_trainable_weights`` list
    (and those of its sublayers), so moving a variable between a layer's two lists is the
    one way to freeze part of a layer. Variables that were never trainable (e.g. the
    Normalization statistics of the mlp) stay where they are.
    """
    for layer in model._flatten_layers(include_self=True):
        own = getattr(layer, "_trainable_weights", None)
        if not own:
            continue
        frozen = [v for v in own if id(v) not in keep_ids]
        if not frozen:
            continue
        kept = [v for v in own if id(v) in keep_ids]
        # With attribute tracking on, Keras would re-file every assigned variable by its
        # own ``trainable`` flag (putting the frozen ones straight back); switch it off.
        tracking = getattr(layer, "_self_setattr_tracking", True)
        layer._self_setattr_tracking = False
        try:
            layer._trainable_weights = kept
            layer._non_trainable_weights = list(layer._non_trainable_weights) + frozen
        finally:
            layer._self_setattr_tracking = tracking


def count_params(model: Any) -> tuple[int, int]:
    """(trainable, total) scalar parameter counts, each variable counted once.

    Total includes frozen and non-trainable weights (and LoRA adapters, which add to the
    base model), like Keras's ``count_params``.
    """

    def size(variables: Iterable[Any]) -> int:
        seen: dict[int, int] = {}
        for v in variables:
            seen[id(v)] = int(_num_elements(v.shape))
        return sum(seen.values())

    return size(model.trainable_weights), size(model.weights)


def _num_elements(shape: Any) -> int:
    n = 1
    for dim in shape:
        n *= int(dim)
    return n
