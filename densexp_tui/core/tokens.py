"""Padding efficiency: the share of the tokens a text model processed that were real.

Epoch events carry ``tokens: {real, padded}`` for the train split (``padded`` counts every
token of the padded batches, real ones included). This module owns the ratio and how it is
written, so the dashboard, ``densexp show`` and reports say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def padding_efficiency(tokens: Any) -> float | None:
    """real / padded of an epoch event's ``tokens``; None when absent or malformed."""
    if not isinstance(tokens, dict):
        return None
    real, padded = tokens.get("real"), tokens.get("padded")
    if not isinstance(real, int) or not isinstance(padded, int) or padded <= 0:
        return None
    if not 0 <= real <= padded:
        return None
    return real / padded


def last_epoch_tokens(epochs: Sequence[dict[str, Any]]) -> dict[str, int] | None:
    """The ``tokens`` of the last epoch with usable counts (a run's figure: ``densexp show``
    and ``show --json``); None for runs without token counts (the MLP)."""
    for data in reversed(epochs):
        tokens = data.get("tokens")
        if padding_efficiency(tokens) is not None:
            return dict(tokens)
    return None


def run_padding_efficiency(epochs: Sequence[dict[str, Any]]) -> float | None:
    """The padding efficiency a run reports: its last epoch's with token counts, else None."""
    return padding_efficiency(last_epoch_tokens(epochs))


def format_padding_efficiency(efficiency: float) -> str:
    """0.943 -> "94% real tokens" (the rest of what the model processed was padding)."""
    return f"{efficiency * 100:.0f}% real tokens"
