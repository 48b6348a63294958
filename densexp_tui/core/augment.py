"""EDA-style word augmentation of training texts: random swap, deletion and insertion.

Why not a library: nlpaug's word ops need WordNet or embedding downloads for most of what
it offers, and none of the libraries on hand inserts *in-vocabulary* words (words of the
train split), which is what keeps inserted tokens known to a tokenizer trained on that
split. The ops are a few lines each, so they live here, Textual- and TensorFlow-free, and
the TUI's preview and the engine's per-epoch pipeline call the same code.

Every result is a pure function of ``(seed, epoch, row)``: the random generator of one text
is seeded from exactly those three numbers, so a resumed run sees the same augmented
epoch as an uninterrupted one, and two runs with one seed see the same texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from densexp_tui.core.config import AUGMENT_OPS

# Mixed into every generator seed so augmentation draws differ from the shuffling's
# (engine/data.epoch_order seeds from (seed, epoch) too).
_AUGMENT_SALT = 0xA06


@dataclass(frozen=True)
class AugmentPlan:
    """What to apply: the ops in the order given, the share of words each touches, and the
    words an insertion may draw from (sorted: the order must not depend on set hashing)."""

    ops: tuple[str, ...]
    prob: float
    vocabulary: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [op for op in self.ops if op not in AUGMENT_OPS]
        if unknown:
            raise ValueError(f"unknown augment op {unknown[0]!r}; allowed: "
                             + ", ".join(AUGMENT_OPS))
        if not 0.0 < self.prob <= 1.0:
            raise ValueError(f"augment_prob {self.prob!r} is out of range; allowed: (0, 1]")


def train_vocabulary(texts: Sequence[str]) -> tuple[str, ...]:
    """The distinct words of the train split, sorted (insertion draws from these only)."""
    return tuple(sorted({word for text in texts for word in text.split()}))


def make_plan(ops: Sequence[str], prob: float, train_texts: Sequence[str]) -> AugmentPlan:
    return AugmentPlan(tuple(ops), float(prob), train_vocabulary(train_texts))


def row_rng(seed: int, epoch: int, row: int) -> np.random.Generator:
    """The generator for one text of one epoch: a pure function of the three numbers."""
    return np.random.default_rng([_AUGMENT_SALT, seed, epoch, row])


def augment_texts(texts: Sequence[str], plan: AugmentPlan, seed: int, epoch: int) -> list[str]:
    """Every text of the train split as epoch ``epoch`` sees it (``row`` = index in texts)."""
    return [augment_text(text, plan, row_rng(seed, epoch, row)) for row, text in enumerate(texts)]


def augment_text(text: str, plan: AugmentPlan, rng: np.random.Generator) -> str:
    """One text with the plan's ops applied in turn; a text of one word or none is kept."""
    words = text.split()
    if len(words) < 2:
        return text
    for op in plan.ops:
        words = _OPS[op](words, plan, rng)
    return " ".join(words)


def _touched(n_words: int, prob: float) -> int:
    """How many words an op changes: the share ``prob``, at least one (as in EDA)."""
    return max(1, int(prob * n_words))


def random_swap(words: list[str], plan: AugmentPlan, rng: np.random.Generator) -> list[str]:
    """Swap two random positions, ``prob * len`` times."""
    out = list(words)
    for _ in range(_touched(len(out), plan.prob)):
        i, j = rng.integers(0, len(out), size=2)
        out[i], out[j] = out[j], out[i]
    return out


def random_delete(words: list[str], plan: AugmentPlan, rng: np.random.Generator) -> list[str]:
    """Drop each word with probability ``prob``; one random word survives if all would go."""
    keep = rng.random(len(words)) >= plan.prob
    if not keep.any():
        return [words[int(rng.integers(0, len(words)))]]
    return [word for word, kept in zip(words, keep, strict=True) if kept]


def random_insert(words: list[str], plan: AugmentPlan, rng: np.random.Generator) -> list[str]:
    """Insert ``prob * len`` words of the train vocabulary at random positions."""
    if not plan.vocabulary:
        return list(words)
    out = list(words)
    for _ in range(_touched(len(words), plan.prob)):
        word = plan.vocabulary[int(rng.integers(0, len(plan.vocabulary)))]
        out.insert(int(rng.integers(0, len(out) + 1)), word)
    return out


_OPS = {"swap": random_swap, "delete": random_delete, "insert": random_insert}


def preview_pairs(texts: Sequence[str], ops: Sequence[str], prob: float, seed: int,
                  n_rows: int = 3) -> list[tuple[str, str]]:
    """(original, augmented) for the first ``n_rows`` texts as epoch 1 would see them; the
    vocabulary is the given texts' (the form has only a preview of the data, not the split)."""
    plan = make_plan(ops, prob, texts)
    return [(text, augment_text(text, plan, row_rng(seed, 0, row)))
            for row, text in enumerate(texts[:n_rows])]


PREVIEW_ROWS = 3
PREVIEW_WIDTH = 70


def augment_preview_texts(preview: object, text_column: str) -> list[str]:
    """The texts of an engine.data.Preview (empty for tabular data or no such column)."""
    if getattr(preview, "kind", "") != "text":
        return []
    columns: list[str] = list(getattr(preview, "columns", []))
    column = text_column if text_column in columns else (columns[0] if columns else "")
    rows: list[dict[str, str]] = list(getattr(preview, "rows", []))
    return [str(row.get(column, "")) for row in rows if row.get(column)]


def augment_preview_lines(texts: Sequence[str], ops: Sequence[str], prob: float,
                          seed: int) -> list[str]:
    """What the New experiment form shows: a few rows, then as epoch 1 would see them."""
    lines = [f"Augmented in epoch 1 ({', '.join(ops)}, {prob:g} of the words):"]
    for original, augmented in preview_pairs(texts, ops, prob, seed, PREVIEW_ROWS):
        lines.append("  " + _clip(original))
        lines.append("→ " + _clip(augmented))
    return lines


def _clip(text: str) -> str:
    return text if len(text) <= PREVIEW_WIDTH else text[: PREVIEW_WIDTH - 1] + "…"
