"""Padding efficiency: the share of the tokens a text model processed that were real.

Epoch events carry ``tokens: {real, padded}`` for the train split (``padded`` counts every
token of the padded batches, real ones included). This module owns the ratio and how it is
written, so the dashboard, ``densexp show`` and reports say the same thing.
"""

from __future__ import annotations

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


def format_padding_efficiency(efficiency: float) -> str:
    """0.943 -> "94% real tokens" (the rest of what the model processed was padding)."""
    return f"{efficiency * 100:.0f}% real tokens"
