"""Tiny random-init model folders, one per architecture family, as ``save_pretrained`` writes them.

Each folder holds config.json, tf_model.h5 and a fast tokenizer (tokenizer.json +
tokenizer_config.json) of the family's own class, e.g. XLMRobertaTokenizerFast with
``<s> </s> <pad>`` specials. SentencePiece is not installed in the project's venv, so the
tokenizers are built with the tokenizers library (a small WordPiece over the test texts);
that is also what a hub folder of these families loads as without sentencepiece: its
tokenizer.json. Nothing downloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

HIDDEN, HEADS, INTERMEDIATE, LAYERS, POSITIONS = 32, 2, 48, 2, 64


@dataclass(frozen=True)
class Family:
    """How to make one family's tiny model and tokenizer."""

    name: str
    tf_class: str
    tokenizer_class: str
    specials: tuple[str, ...]  # the special tokens in id order (the config ids follow them)
    roles: dict[str, str]  # tokenizer kwarg -> special token


_BERT_ROLES = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]",
               "sep_token": "[SEP]", "mask_token": "[MASK]"}
_ROBERTA_ROLES = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
                  "unk_token": "<unk>", "cls_token": "<s>", "sep_token": "</s>",
                  "mask_token": "<mask>"}
_ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")

FAMILIES = {
    "electra": Family("electra", "TFElectraForSequenceClassification", "ElectraTokenizerFast",
                      ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"), _BERT_ROLES),
    "albert": Family("albert", "TFAlbertForSequenceClassification", "AlbertTokenizerFast",
                     ("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"),
                     {"pad_token": "<pad>", "unk_token": "<unk>", "cls_token": "[CLS]",
                      "sep_token": "[SEP]", "mask_token": "[MASK]", "bos_token": "[CLS]",
                      "eos_token": "[SEP]"}),
    "deberta-v2": Family("deberta-v2", "TFDebertaV2ForSequenceClassification",
                         "DebertaV2TokenizerFast",
                         ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"),
                         {**_BERT_ROLES, "bos_token": "[CLS]", "eos_token": "[SEP]"}),
    "xlm-roberta": Family("xlm-roberta", "TFXLMRobertaForSequenceClassification",
                          "XLMRobertaTokenizerFast", _ROBERTA_SPECIALS, _ROBERTA_ROLES),
    "camembert": Family("camembert", "TFCamembertForSequenceClassification",
                        "CamembertTokenizerFast", _ROBERTA_SPECIALS, _ROBERTA_ROLES),
    "mpnet": Family("mpnet", "TFMPNetForSequenceClassification", "MPNetTokenizerFast",
                    _ROBERTA_SPECIALS, _ROBERTA_ROLES),
}


def tiny_tokenizer(family: Family, texts: list[str]) -> Any:
    """The family's fast tokenizer over a WordPiece vocabulary of ``texts``."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = _vocab(family.specials, texts)
    roles = family.roles
    backend = Tokenizer(models.WordPiece(vocab=vocab, unk_token=roles["unk_token"]))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    cls, sep = roles["cls_token"], roles["sep_token"]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])],
    )
    fast_class = getattr(transformers, family.tokenizer_class)
    return fast_class(tokenizer_object=backend, model_max_length=POSITIONS, **roles)


def _vocab(specials: tuple[str, ...], texts: list[str]) -> dict[str, int]:
    words = sorted({word for text in texts for word in text.lower().replace(",", " ").split()})
    chars = sorted({char for word in words for char in word} | {","})
    tokens = [*specials, *chars, *("##" + c for c in chars), *words]
    return {token: i for i, token in enumerate(dict.fromkeys(tokens))}


def tiny_config(family: Family, vocab_size: int, num_labels: int = 2, **overrides: Any) -> Any:
    """A small config of the family (2 blocks of width 32) whose ids match tiny_tokenizer."""
    import transformers

    sizes = {"vocab_size": vocab_size, "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
             "num_attention_heads": HEADS, "intermediate_size": INTERMEDIATE,
             "num_labels": num_labels}
    if family.name == "electra":
        config = transformers.ElectraConfig(embedding_size=16, max_position_embeddings=POSITIONS,
                                            **sizes, pad_token_id=0)
    elif family.name == "albert":
        config = transformers.AlbertConfig(embedding_size=16, max_position_embeddings=POSITIONS,
                                           num_hidden_groups=1, inner_group_num=1,
                                           hidden_dropout_prob=0.1, **sizes,
                                           pad_token_id=0, bos_token_id=2, eos_token_id=3)
    elif family.name == "deberta-v2":  # laid out like DeBERTa-v3: relative positions only
        config = transformers.DebertaV2Config(
            max_position_embeddings=POSITIONS, relative_attention=True, position_buckets=16,
            pos_att_type=["p2c", "c2p"], share_att_key=True, position_biased_input=False,
            norm_rel_ebd="layer_norm", type_vocab_size=0, pooler_hidden_size=HIDDEN,
            **sizes, pad_token_id=0)
    else:  # xlm-roberta, camembert, mpnet: positions start after the padding id
        config_class = {"xlm-roberta": transformers.XLMRobertaConfig,
                        "camembert": transformers.CamembertConfig,
                        "mpnet": transformers.MPNetConfig}[family.name]
        config = config_class(max_position_embeddings=POSITIONS + 2, **sizes,
                              pad_token_id=1, bos_token_id=0, eos_token_id=2)
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def build_tiny(family: Family, vocab_size: int, num_labels: int = 2, seed: int = 3,
               **overrides: Any) -> Any:
    """A built, random-init TF classifier of the family."""
    import tf_keras
    from transformers import TFAutoModelForSequenceClassification

    tf_keras.utils.set_random_seed(seed)
    model = TFAutoModelForSequenceClassification.from_config(
        tiny_config(family, vocab_size, num_labels, **overrides))
    model.build_in_name_scope()
    return model


def save_tiny_folder(folder: Path, family: Family, texts: list[str], num_labels: int = 2,
                     **overrides: Any) -> Path:
    """config.json + tf_model.h5 + the family's fast tokenizer in ``folder``."""
    tokenizer = tiny_tokenizer(family, texts)
    model = build_tiny(family, len(tokenizer), num_labels, **overrides)
    assert type(model).__name__ == family.tf_class
    model.save_pretrained(str(folder), safe_serialization=False)
    tokenizer.save_pretrained(str(folder))
    return folder
