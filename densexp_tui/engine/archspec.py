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

from densexp_tui.core.config import LORA_TARGETS
from densexp_tui.core.errors import ModelError


@dataclass(frozen=True)
class ArchSpec:
    """Where the parts of one transformers sequence-classification class live.

    ``family`` is the ``model_type`` of the model's config.json ("bert", "deberta-v2"), so
    a folder's support can be told from its config before TensorFlow loads. Paths are
    attribute paths from the model object; ``blocks`` names the list of transformer blocks
    (a ``*`` part stands for every index of a list on the way: ALBERT's layer groups), and
    each target's path is relative to one block. ``head`` names the model's attributes that
    the classification class adds on top of its base model (what a base checkpoint does not
    hold, so ``from_pretrained`` initialises it fresh).
    """

    family: str
    blocks: str
    targets: dict[str, str]
    head: tuple[str, ...]


# Architecture-neutral LoRA target names and what each means, in a fixed order.

_BERT_LIKE_TARGETS = {
    "query": "attention.self_attention.query",
    "key": "attention.self_attention.key",
    "value": "attention.self_attention.value",
    "output": "attention.dense_output.dense",
    "intermediate": "intermediate.dense",
    "ffn_output": "bert_output.dense",
}


def _bert_like(family: str, main_layer: str) -> ArchSpec:
    """BERT's block layout (ELECTRA and the RoBERTa family copy it) under ``main_layer``.

    The head is the ``classifier`` attribute: a Dense for BERT, a dense + out_proj block
    for RoBERTa, XLM-R, CamemBERT and ELECTRA. BERT's pooler belongs to the base model.
    """
    return ArchSpec(family=family, blocks=f"{main_layer}.encoder.layer",
                    targets=_BERT_LIKE_TARGETS, head=("classifier",))


# Keyed by the transformers TF class name (read from transformers/models/*/modeling_tf_*.py
# of the pinned versions). tiny-bert is a TFBertForSequenceClassification.
ARCH_SPECS: dict[str, ArchSpec] = {
    "TFBertForSequenceClassification": _bert_like("bert", "bert"),
    "TFRobertaForSequenceClassification": _bert_like("roberta", "roberta"),
    "TFXLMRobertaForSequenceClassification": _bert_like("xlm-roberta", "roberta"),
    "TFCamembertForSequenceClassification": _bert_like("camembert", "roberta"),
    "TFElectraForSequenceClassification": _bert_like("electra", "electra"),
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
    # ALBERT shares one set of block weights across the layers of a group: the blocks to
    # adapt are each group's albert_layers (usually 1 group of 1), not num_hidden_layers
    # copies. Its pooler is part of the base model (pretrained); the head is the Dense.
    "TFAlbertForSequenceClassification": ArchSpec(
        family="albert",
        blocks="albert.encoder.albert_layer_groups.*.albert_layers",
        targets={
            "query": "attention.query",
            "key": "attention.key",
            "value": "attention.value",
            "output": "attention.dense",
            "intermediate": "ffn",
            "ffn_output": "ffn_output",
        },
        head=("classifier",),
    ),
    # DeBERTa-v2 (and v3): the ContextPooler sits on the classification class, not in the
    # base model, so it is part of the head. With share_att_key the query/key projections
    # also project the relative position embeddings; an adapter there adapts both.
    "TFDebertaV2ForSequenceClassification": ArchSpec(
        family="deberta-v2",
        blocks="deberta.encoder.layer",
        targets={
            "query": "attention.self.query_proj",
            "key": "attention.self.key_proj",
            "value": "attention.self.value_proj",
            "output": "attention.dense_output.dense",
            "intermediate": "intermediate.dense",
            "ffn_output": "bert_output.dense",
        },
        head=("pooler", "classifier"),
    ),
    "TFMPNetForSequenceClassification": ArchSpec(
        family="mpnet",
        blocks="mpnet.encoder.layer",
        targets={
            "query": "attention.attn.q",
            "key": "attention.attn.k",
            "value": "attention.attn.v",
            "output": "attention.attn.o",
            "intermediate": "intermediate.dense",
            "ffn_output": "out.dense",
        },
        head=("classifier",),
    ),
}

PARTIAL_MODES = "head, bitfit and lora"


def supported_families() -> list[str]:
    """The config model_types that head, bitfit and lora support, in ARCH_SPECS order."""
    return [spec.family for spec in ARCH_SPECS.values()]


def unsupported_message(what: str, mode: str = PARTIAL_MODES) -> str:
    """One line: ``mode`` cannot run on ``what``, and what can (shared by the up-front
    config check and by ``arch_spec_for`` on a loaded model)."""
    return (f"finetune {mode} does not support {what}; allowed: finetune = \"full\" for any "
            "TF sequence classifier, or head/bitfit/lora on tiny-bert and the model families "
            + ", ".join(supported_families()))


def allowed_lora_targets() -> list[str]:
    """The LoRA target names every supported architecture understands (no TF needed)."""
    return list(LORA_TARGETS)


def check_lora_targets(targets: Iterable[str]) -> list[str]:
    """The targets as a list, or a ModelError naming the first unknown one and the choices."""
    targets = list(targets)
    if not targets:
        raise ModelError(
            "no LoRA targets; allowed: one or more of " + ", ".join(LORA_TARGETS),
            key="model.lora_targets",
        )
    for target in targets:
        if target not in LORA_TARGETS:
            raise ModelError(
                f"unknown LoRA target {target!r}; allowed: " + ", ".join(LORA_TARGETS),
                key="model.lora_targets",
            )
    return targets


def arch_spec_for(model: Any, mode: str = PARTIAL_MODES) -> ArchSpec:
    """The ArchSpec for a transformers model, or a ModelError listing what is supported."""
    name = type(model).__name__
    spec = ARCH_SPECS.get(name)
    if spec is None:
        raise ModelError(unsupported_message(name, mode), key="model.finetune")
    return spec


def resolve_path(root: Any, path: str) -> Any:
    """Follow a dotted attribute path; integer parts index into lists (``layer.0``)."""
    obj = root
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def block_paths(model: Any, blocks: str) -> list[str]:
    """The attribute path of every block: ``blocks`` with each list expanded to its indices
    (``a.*.b`` -> ``a.0.b.0``, ``a.0.b.1``, ``a.1.b.0`` ...), each shared block once."""
    head, star, rest = blocks.partition(".*.")
    count = len(resolve_path(model, head))
    if not star:
        return [f"{head}.{index}" for index in range(count)]
    return [path for index in range(count)
            for path in block_paths(model, f"{head}.{index}.{rest}")]


def target_paths(model: Any, targets: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(target name, full attribute path) for each block and target, in block order."""
    spec = arch_spec_for(model, "lora")
    targets = list(targets)
    for block in block_paths(model, spec.blocks):
        for target in targets:
            yield target, f"{block}.{spec.targets[target]}"
