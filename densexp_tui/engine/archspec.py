"""Where LoRA targets and classification heads live in each supported architecture.

A leaf module (it imports nothing from the engine): ``engine/finetune.py`` picks the head
and the frozen weights from it, ``engine/lora.py`` finds the Dense layers to wrap, and
neither has to import the other for these facts. No TensorFlow at import time: the config
validator and the TUI can ask ``allowed_lora_targets()`` cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from densexp_tui.core.errors import ModelError


@dataclass(frozen=True)
class ArchSpec:
    """Where the parts of one transformers sequence-classification class live.

    Paths are attribute paths from the model object; ``blocks`` names the list of
    transformer blocks, and each target's path is relative to one block.
    """

    family: str
    blocks: str
    targets: dict[str, str]
    head: tuple[str, ...]


# Architecture-neutral LoRA target names and what each means, in a fixed order.
LORA_TARGET_HELP: dict[str, str] = {
    "query": "attention query projection",
    "key": "attention key projection",
    "value": "attention value projection",
    "output": "attention output projection",
    "intermediate": "feed-forward input projection (hidden -> intermediate)",
    "ffn_output": "feed-forward output projection (intermediate -> hidden)",
}

_BERT_LIKE_TARGETS = {
    "query": "attention.self_attention.query",
    "key": "attention.self_attention.key",
    "value": "attention.self_attention.value",
    "output": "attention.dense_output.dense",
    "intermediate": "intermediate.dense",
    "ffn_output": "bert_output.dense",
}

# Keyed by the transformers TF class name. tiny-bert is a TFBertForSequenceClassification.
ARCH_SPECS: dict[str, ArchSpec] = {
    "TFBertForSequenceClassification": ArchSpec(
        family="bert",
        blocks="bert.encoder.layer",
        targets=_BERT_LIKE_TARGETS,
        head=("classifier",),
    ),
    "TFRobertaForSequenceClassification": ArchSpec(
        family="roberta",
        blocks="roberta.encoder.layer",
        targets=_BERT_LIKE_TARGETS,
        head=("classifier",),
    ),
    "TFDistilBertForSequenceClassification": ArchSpec(
        family="distilbert",
        blocks="distilbert.transformer.layer",
        targets={
            "query": "attention.q_lin",
            "key": "attention.k_lin",
            "value": "attention.v_lin",
            "output": "attention.out_lin",
            "intermediate": "ffn.lin1",
            "ffn_output": "ffn.lin2",
        },
        head=("pre_classifier", "classifier"),
    ),
}


def allowed_lora_targets() -> list[str]:
    """The LoRA target names every supported architecture understands (no TF needed)."""
    return list(LORA_TARGET_HELP)


def supported_architectures() -> list[str]:
    """transformers TF classes that accept head, bitfit and lora (full works on any)."""
    return list(ARCH_SPECS)


def check_lora_targets(targets: Iterable[str]) -> list[str]:
    """The targets as a list, or a ModelError naming the first unknown one and the choices."""
    targets = list(targets)
    if not targets:
        raise ModelError(
            "no LoRA targets; allowed: one or more of " + ", ".join(LORA_TARGET_HELP),
            key="model.lora_targets",
        )
    for target in targets:
        if target not in LORA_TARGET_HELP:
            raise ModelError(
                f"unknown LoRA target {target!r}; allowed: " + ", ".join(LORA_TARGET_HELP),
                key="model.lora_targets",
            )
    return targets


def arch_spec_for(model: Any) -> ArchSpec:
    """The ArchSpec for a transformers model, or a ModelError listing what is supported."""
    name = type(model).__name__
    spec = ARCH_SPECS.get(name)
    if spec is None:
        raise ModelError(
            f"fine-tuning modes head, bitfit and lora do not support {name}; allowed: "
            "tiny-bert and " + ", ".join(ARCH_SPECS) + " (or finetune = \"full\")",
            key="model.finetune",
        )
    return spec


def resolve_path(root: Any, path: str) -> Any:
    """Follow a dotted attribute path; integer parts index into lists (``layer.0``)."""
    obj = root
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def target_paths(model: Any, targets: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(target name, full attribute path) for each block and target, in block order."""
    spec = arch_spec_for(model)
    targets = list(targets)
    blocks = resolve_path(model, spec.blocks)
    for index in range(len(blocks)):
        for target in targets:
            yield target, f"{spec.blocks}.{index}.{spec.targets[target]}"
