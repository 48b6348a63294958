"""Datasets for training: loading, checking, subsampling, splitting, previewing, tf.data.

The package's files say what they hold:

- ``dataset.py``: the :class:`Dataset` and :class:`Splits` types;
- ``readers.py``: reading CSV/JSONL files and sniffing any data file's columns;
- ``sources.py``: the six ``[data] source`` loaders behind :func:`load_dataset`;
- ``labels.py``: class names and ids from raw label values;
- ``splitting.py``: the ``max_samples`` subsample and the train/val/test split;
- ``preview.py``: what the New experiment form shows before training;
- ``ordering.py``: the batches of each epoch (random or length-bucketed), a pure function
  of (seed, epoch), and their token counts;
- ``pipelines.py``: tokenizing and the tf.data pipelines, the only file importing TensorFlow.

Callers import from ``densexp_tui.engine.data``; the names below are the package's API.
"""

from densexp_tui.engine.data.dataset import Dataset, Splits
from densexp_tui.engine.data.labels import MAX_CLASSES
from densexp_tui.engine.data.ordering import (
    BUCKET_WINDOW_BATCHES,
    TokenCounts,
    TokenLedger,
    epoch_batches,
    epoch_order,
    padded_width,
    steps_per_epoch,
    token_counts,
)
from densexp_tui.engine.data.pipelines import (
    make_tabular_pipeline,
    make_text_pipeline,
    tokenize_texts,
)
from densexp_tui.engine.data.preview import (
    Preview,
    PreviewOutcome,
    preview_dataset,
    preview_for_form,
)
from densexp_tui.engine.data.readers import sniff_columns
from densexp_tui.engine.data.sources import load_dataset
from densexp_tui.engine.data.splitting import split_dataset

__all__ = [
    "BUCKET_WINDOW_BATCHES",
    "MAX_CLASSES",
    "Dataset",
    "Preview",
    "PreviewOutcome",
    "Splits",
    "TokenCounts",
    "TokenLedger",
    "epoch_batches",
    "epoch_order",
    "load_dataset",
    "make_tabular_pipeline",
    "make_text_pipeline",
    "padded_width",
    "preview_dataset",
    "preview_for_form",
    "sniff_columns",
    "split_dataset",
    "steps_per_epoch",
    "token_counts",
    "tokenize_texts",
]
