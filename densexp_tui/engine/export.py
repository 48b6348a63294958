"""Export a finished run as a plain Hugging Face model directory, LoRA adapters merged.

Its own module because it needs both the model factory (to reload the run) and the LoRA
layer (to merge): ``engine/models.py`` loads adapters from ``engine/lora.py``, so the export
living in lora.py made the two import each other.
"""

from __future__ import annotations

from pathlib import Path

from densexp_tui.core.errors import ModelError
from densexp_tui.engine.lora import merge_lora
from densexp_tui.engine.models import load_trained_model


def export_merged(run_dir: str | Path, out_dir: str | Path, *, checkpoint: str = "best",
                  overwrite: bool = False) -> Path:
    """Write a plain Hugging Face model directory from a finished run, adapters merged.

    Loads the run (``load_trained_model``), folds every LoRA adapter into its base kernel
    (``W' = W + (alpha/r) A B``), then ``save_pretrained`` + the tokenizer into ``out_dir``.
    The result loads with ``TFAutoModelForSequenceClassification.from_pretrained(out_dir)``
    and predicts what the run's model predicts. Runs in other modes export as they are.
    Refuses a non-empty ``out_dir`` unless ``overwrite``; mlp runs are a ModelError.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise ModelError("folder is not empty; allowed: a new or empty folder", file=out_dir)
    built = load_trained_model(run_dir, checkpoint=checkpoint)
    if built.kind != "bert":
        raise ModelError(
            f"merged export writes a Hugging Face model; this run's model is {built.arch!r}; "
            "allowed: runs of tiny-bert or a transformers model",
            file=run_dir,
        )
    merge_lora(built.model)
    out_dir.mkdir(parents=True, exist_ok=True)
    built.model.save_pretrained(str(out_dir))
    if built.tokenizer is not None:
        built.tokenizer.save_pretrained(str(out_dir))
    return out_dir
