"""Input-pipeline benchmark: random vs length-bucketed batches on long-tailed text.

A MiniLM-shaped BERT (6 layers x 384 hidden, 12 heads, intermediate 1536, BERT's 30,522
word-piece vocabulary, random init) trains on a deterministic long-tailed text set whose
lengths in word pieces are spread like short reviews, tickets and news snippets (p10 13,
p50 26, p90 79, p99 134). Every figure is measured in this process, on this machine:

1. samples/s and the real/padded token share for ``data.batching`` random vs bucketed and
   ``data.pad_to_multiple_of`` 1 vs 8 (the product's ``make_text_pipeline``; the train step
   is traced first, untimed, then each setting trains one timed epoch);
2. XLA on vs off for the train step on the CPU, same model, one fixed batch shape (the
   steady-state ratio; the first XLA step, i.e. the compile, is printed separately);
3. model FLOP utilisation: useful FLOPs/s (6 x non-embedding parameters x real tokens/s,
   plus attention over the real lengths) / the measured peak of a tf.function 2048x2048
   float32 matmul;
4. with ``--accuracy``: final validation accuracy of 3 seeds x {random, bucketed} through the
   real trainer (tiny-bert on the same kind of texts, so it takes minutes, not hours).

Run:  .venv/bin/python bench/input_pipeline.py [--rows 480] [--batch-size 32] [--no-xla]
          [--steps K] [--max-length 128] [--accuracy [--accuracy-rows N]]
``--steps K`` times only the first K batches of each setting's epoch (batches come in
random order either way, so they are a fair sample of the epoch; token shares and FLOPs are
counted on exactly those K batches): a MiniLM-shaped run then ends in minutes on 2 cores.
The machine may be shared: compare the ratios within one run, not absolute numbers; the
load average is printed next to the figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf_keras, never Keras 3
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from tokenizers import (  # noqa: E402
    Tokenizer,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import (  # noqa: E402
    BertConfig,
    PreTrainedTokenizerFast,
    TFBertForSequenceClassification,
)

import densexp_tui  # noqa: E402,F401  (sets the TensorFlow environment before TF loads)
from densexp_tui.engine.data import (  # noqa: E402
    epoch_batches,
    make_text_pipeline,
    token_counts,
    tokenize_texts,
)

MAX_LENGTH = 128  # a common max_length for short texts; p99 134 rows get truncated
# Quantiles of the length in word pieces (with [CLS] and [SEP]); log-linear in between.
LENGTH_QUANTILES = ([0.0, 0.1, 0.5, 0.9, 0.99, 1.0], [5, 13, 26, 79, 134, 200])
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MINILM = {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
          "intermediate_size": 1536, "vocab_size": 30522}
N_CLASSES = 3


# ---------------------------------------------------------------------------------------
# The long-tailed text set


def long_tailed_texts(n_rows: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """Texts whose word counts follow LENGTH_QUANTILES (minus [CLS]/[SEP]) and whose label
    shows in a few class-specific cue words, like sentiment words in reviews."""
    rng = np.random.default_rng(seed)
    words = [_word(i) for i in range(3000)]
    cues = [words[100 + 40 * k: 140 + 40 * k] for k in range(N_CLASSES)]
    quantiles, lengths = LENGTH_QUANTILES
    targets = np.exp(np.interp(rng.random(n_rows), quantiles, np.log(lengths)))
    texts, labels = [], []
    for target in np.round(targets).astype(int):
        label = int(rng.integers(N_CLASSES))
        n_words = max(target - 2, 1)
        chosen = [words[i] for i in rng.zipf(1.3, n_words) % len(words)]
        for position in rng.choice(n_words, size=max(1, n_words // 8), replace=False):
            chosen[position] = str(rng.choice(cues[label]))
        texts.append(" ".join(chosen))
        labels.append(label)
    return texts, labels


def _word(index: int) -> str:
    """A pronounceable lowercase word, one per index (the tokenizer keeps it whole)."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    letters = []
    for _ in range(3):
        index, c = divmod(index, len(consonants))
        index, v = divmod(index, len(vowels))
        letters += [consonants[c], vowels[v]]
    return "".join(letters)


def train_wordpiece(texts: list[str], vocab_size: int = 8000) -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS))
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[(t, backend.token_to_id(t)) for t in ("[CLS]", "[SEP]")])
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]",
                                   pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
                                   mask_token="[MASK]")


# ---------------------------------------------------------------------------------------
# The model and its FLOPs


def minilm_shaped_bert(**shape: int) -> TFBertForSequenceClassification:
    """MiniLM's shape unless ``shape`` overrides some of it (smaller, for a slow machine)."""
    config = BertConfig(max_position_embeddings=512, num_labels=N_CLASSES,
                        **{**MINILM, **shape})
    model = TFBertForSequenceClassification(config)
    model(model.dummy_inputs)
    model.compile(optimizer=tf_keras.optimizers.Adam(5e-5),
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def non_embedding_params(model: TFBertForSequenceClassification) -> int:
    embeddings = model.bert.embeddings
    embedding = sum(int(np.prod(w.shape)) for w in embeddings.weights
                    if "LayerNorm" not in w.name)
    return model.count_params() - embedding


def useful_train_flops(model: TFBertForSequenceClassification, lengths: np.ndarray) -> float:
    """Forward + backward FLOPs on the real tokens only: 6 x params x tokens for the dense
    layers, plus QK^T and AV over each row's real length (4 L^2 d per layer forward, x3)."""
    config = model.config
    dense = 6 * non_embedding_params(model) * float(lengths.sum())
    attention = 12 * config.num_hidden_layers * config.hidden_size * float((lengths ** 2).sum())
    return dense + attention


def matmul_peak_flops(size: int = 2048, calls: int = 20) -> float:
    """FLOP/s of a tf.function float32 matmul: the machine's practical peak."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(calls):
            out = matmul(a, b)
        out.numpy()
        best = min(best, (time.perf_counter() - started) / calls)
    return 2 * size ** 3 / best


# ---------------------------------------------------------------------------------------
# Measurements


def warm_up(model, ids: list[list[int]], labels: list[int], batch_size: int) -> None:
    """Trace the train step before timing: three batches of different widths make Keras'
    train function (reduce_retracing) settle on one graph for any batch shape."""
    # Bucketed: the three batches are of typical (short) widths, so tracing costs little.
    pipeline = make_text_pipeline(ids, labels, batch_size, True, 3, batching="bucketed",
                                  pad_to_multiple_of=1, max_width=MAX_LENGTH)
    model.fit(pipeline, epochs=1, steps_per_epoch=3, verbose=0)


def timed_epoch(model, ids: list[list[int]], labels: list[int], batch_size: int,
                batching: str, multiple: int, max_steps: int = 0) -> dict[str, float]:
    """samples/s, real/padded, real tokens/s and useful FLOPs over the first ``max_steps``
    batches of one epoch of ``batching`` (0: the whole epoch)."""
    lengths = np.asarray([len(row) for row in ids])
    bucket_by = lengths if batching == "bucketed" else None
    batches = epoch_batches(len(ids), batch_size, 7, 1, shuffle=True, bucket_by=bucket_by)
    steps = min(max_steps, len(batches)) if max_steps > 0 else len(batches)
    pipeline = make_text_pipeline(ids, labels, batch_size, True, 7, epoch=1, batching=batching,
                                  pad_to_multiple_of=multiple, max_width=MAX_LENGTH)
    started = time.perf_counter()
    model.fit(pipeline, epochs=1, steps_per_epoch=steps, verbose=0)
    seconds = time.perf_counter() - started
    timed = batches[:steps]
    counts = token_counts(timed, lengths, multiple, MAX_LENGTH)
    rows = lengths[np.concatenate(timed)]
    # K random batches of a long-tailed set can be longer or shorter than the epoch's
    # average: the whole epoch's estimate scales the measured seconds per padded token.
    epoch_padded = token_counts(batches, lengths, multiple, MAX_LENGTH).padded
    epoch_seconds = seconds * epoch_padded / counts.padded
    return {"samples_per_sec": len(rows) / seconds, "efficiency": counts.real / counts.padded,
            "real_tokens_per_sec": counts.real / seconds, "seconds": seconds,
            "useful_flops": useful_train_flops(model, rows), "steps": float(steps),
            "epoch_samples_per_sec": len(ids) / epoch_seconds}


def load_average() -> str:
    """The 1-minute load average: other people's work on a shared machine."""
    return f"load {os.getloadavg()[0]:.2f}"


def xla_ratio(batch_size: int, width: int, steps: int,
              shape: dict[str, int]) -> dict[str, float]:
    """Steady-state train steps/s with and without XLA on one fixed batch shape."""
    rng = np.random.default_rng(0)
    inputs = {"input_ids": tf.constant(rng.integers(5, 8000, (batch_size, width)), tf.int32),
              "attention_mask": tf.ones((batch_size, width), tf.int32)}
    labels = tf.constant(rng.integers(0, N_CLASSES, batch_size), tf.int32)
    result = {}
    for name, jit in (("off", False), ("on", True)):
        model = minilm_shaped_bert(**shape)
        step = tf.function(model.train_step, jit_compile=jit, reduce_retracing=True)
        started = time.perf_counter()
        float(step((inputs, labels))["loss"])
        result[f"first_step_{name}"] = time.perf_counter() - started
        float(step((inputs, labels))["loss"])
        started = time.perf_counter()
        for _ in range(steps):
            loss = step((inputs, labels))["loss"]
        float(loss)
        result[f"steps_per_sec_{name}"] = steps / (time.perf_counter() - started)
    return result


def accuracy_over_seeds(texts: list[str], labels: list[int], seeds: tuple[int, ...],
                        epochs: int = 4) -> None:
    """Final validation accuracy through the real trainer, random vs bucketed batching."""
    import csv

    from densexp_tui.core.config import parse_config
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.engine.trainer import train

    folder = Path(tempfile.mkdtemp(prefix="densexp-bench-"))
    with open(folder / "long_tailed.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    for batching in ("random", "bucketed"):
        accuracies = []
        for seed in seeds:
            cfg = parse_config({
                "run": {"name": f"bench-{batching}", "seed": seed},
                "data": {"source": "csv", "path": str(folder / "long_tailed.csv"),
                         "max_length": MAX_LENGTH, "batching": batching, "val_fraction": 0.2,
                         "test_fraction": 0.1},
                "model": {"name": "tiny-bert"},
                "train": {"epochs": epochs, "batch_size": 32, "learning_rate": 2e-3},
            })
            result = train(cfg, RunStore(folder / "runs"))
            accuracies.append(result.best["accuracy"] if result.best else float("nan"))
        print(f"  {batching:8s} val accuracy over seeds {seeds}: "
              + ", ".join(f"{a:.3f}" for a in accuracies)
              + f"  (mean {np.mean(accuracies):.3f}, sd {np.std(accuracies, ddof=1):.3f}); "
              + load_average())


def main() -> None:
    global MAX_LENGTH  # --max-length: every helper pads and truncates to it
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=480,
                        help="rows of the text set (below 50 batches, one window sorts the "
                             "whole epoch: pass more rows to see windows at work)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA comparison")
    parser.add_argument("--xla-steps", type=int, default=5)
    parser.add_argument("--layers", type=int, default=MINILM["num_hidden_layers"],
                        help="a smaller model for a slow or busy machine (default: MiniLM's)")
    parser.add_argument("--hidden", type=int, default=MINILM["hidden_size"])
    parser.add_argument("--steps", type=int, default=0,
                        help="time only the first K batches of each setting (0: whole epoch)")
    parser.add_argument("--max-length", type=int, default=MAX_LENGTH,
                        help="the tokenizer's max_length (rows longer are truncated)")
    parser.add_argument("--accuracy", action="store_true",
                        help="also train 3 seeds x {random, bucketed} (several minutes)")
    parser.add_argument("--accuracy-rows", type=int, default=0,
                        help="rows for --accuracy (default: --rows)")
    parser.add_argument("--accuracy-epochs", type=int, default=4)
    parser.add_argument("--skip-speed", action="store_true",
                        help="only --accuracy (no MiniLM-shaped timing)")
    args = parser.parse_args()

    MAX_LENGTH = args.max_length
    print(f"start: {load_average()} (1/5/15 min: "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()) + f") on {os.cpu_count()} cores")
    texts, labels = long_tailed_texts(args.rows)
    if not args.skip_speed:
        speed_figures(args, texts, labels)
    if args.accuracy:
        n_rows = args.accuracy_rows or args.rows
        texts, labels = long_tailed_texts(n_rows)
        print(f"accuracy: tiny-bert through the real trainer, {n_rows} rows, max_length "
              f"{MAX_LENGTH}, {args.accuracy_epochs} epochs, batch 32, seeds 1 2 3")
        accuracy_over_seeds(texts, labels, seeds=(1, 2, 3), epochs=args.accuracy_epochs)
    print(f"end: {load_average()}")


def speed_figures(args: argparse.Namespace, texts: list[str], labels: list[int]) -> None:
    tokenizer = train_wordpiece(texts)
    ids = tokenize_texts(tokenizer, texts, MAX_LENGTH)
    raw = np.asarray([len(row) for row in tokenize_texts(tokenizer, texts, 512)])
    p10, p50, p90, p99 = np.percentile(raw, [10, 50, 90, 99])
    print(f"long-tailed set: {len(ids)} rows, word pieces before truncation p10 {p10:.0f} "
          f"p50 {p50:.0f} p90 {p90:.0f} p99 {p99:.0f} max {raw.max()}; max_length "
          f"{MAX_LENGTH} ({(raw > MAX_LENGTH).mean():.1%} truncated); batch {args.batch_size}")

    peak = matmul_peak_flops()
    print(f"matmul peak (tf.function 2048x2048 float32): {peak / 1e9:.1f} GFLOP/s; "
          + load_average())

    shape = {"num_hidden_layers": args.layers, "hidden_size": args.hidden,
             "intermediate_size": 4 * args.hidden,
             "num_attention_heads": max(1, args.hidden // 32)}
    model = minilm_shaped_bert(**shape)
    print(f"BERT {args.layers} layers x {args.hidden} hidden: "
          f"{model.count_params() / 1e6:.1f}M parameters, "
          f"{non_embedding_params(model) / 1e6:.1f}M non-embedding")
    warm_up(model, ids, labels, args.batch_size)
    figures = {}
    for batching, multiple in (("random", 1), ("random", 8), ("bucketed", 1), ("bucketed", 8)):
        figure = timed_epoch(model, ids, labels, args.batch_size, batching, multiple,
                             args.steps)
        figures[batching, multiple] = figure
        mfu = figure["useful_flops"] / figure["seconds"] / peak
        print(f"  {batching:8s} pad_to_multiple_of {multiple}: "
              f"{figure['samples_per_sec']:6.1f} samples/s, real/padded "
              f"{figure['efficiency']:.3f}, {figure['real_tokens_per_sec']:7.0f} real tokens/s, "
              f"MFU {mfu:.0%} ({figure['steps']:.0f} steps, {figure['seconds']:.0f}s; "
              f"{load_average()}); whole-epoch estimate "
              f"{figure['epoch_samples_per_sec']:.1f} samples/s", flush=True)
    for multiple in (1, 8):
        ratio = (figures["bucketed", multiple]["samples_per_sec"]
                 / figures["random", multiple]["samples_per_sec"])
        estimate = (figures["bucketed", multiple]["epoch_samples_per_sec"]
                    / figures["random", multiple]["epoch_samples_per_sec"])
        print(f"bucketed / random samples/s at pad_to_multiple_of {multiple}: {ratio:.2f}x "
              f"measured on the timed steps, {estimate:.2f}x whole-epoch estimate")
    again = matmul_peak_flops()
    print(f"matmul peak again: {again / 1e9:.1f} GFLOP/s; {load_average()}")
    # Conservative: the load changes while the bench runs; the higher peak gives lower MFUs.
    high = max(peak, again)
    print(f"MFU against the higher peak ({high / 1e9:.1f} GFLOP/s): " + ", ".join(
        f"{batching} pad {multiple} {figure['useful_flops'] / figure['seconds'] / high:.0%}"
        for (batching, multiple), figure in figures.items()))

    if not args.no_xla:
        width = int(np.ceil(p50 / 8) * 8)
        xla = xla_ratio(args.batch_size, width, args.xla_steps, shape)
        print(f"XLA on the CPU, batch {args.batch_size}x{width}: "
              f"{xla['steps_per_sec_on']:.2f} vs {xla['steps_per_sec_off']:.2f} steps/s "
              f"(on/off {xla['steps_per_sec_on'] / xla['steps_per_sec_off']:.2f}x); first step "
              f"{xla['first_step_on']:.1f}s on vs {xla['first_step_off']:.1f}s off "
              "(each new batch shape compiles again under XLA)")


if __name__ == "__main__":
    main()
