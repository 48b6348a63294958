"""Input-pipeline benchmark: random vs length-bucketed batches on long-tailed text.

A MiniLM-shaped BERT (6 layers x 384 hidden, 12 heads, intermediate 1536, BERT's 30,522
word-piece vocabulary, random init) trains on a deterministic long-tailed text set whose
lengths in word pieces are spread like short reviews, tickets and news snippets (p10 13,
p50 26, p90 79, p99 134). Every figure is measured in this process, on this machine:

1. samples/s and the real/padded token share for ``data.batching`` random vs bucketed and
   ``data.pad_to_multiple_of`` 1 vs 8 (the product's ``epoch_batches`` and
   ``make_text_pipeline``). A whole epoch of MiniLM on 2 cores takes many minutes, so
   ``--steps K`` times K of the epoch's batches, one per size stratum (the epoch's batches
   ranked by padded tokens, cut into K equal strata, the middle one of each), after one
   untimed step of every batch shape not run before; it prints the figure on the timed
   batches and the whole epoch extrapolated from them (each timed batch's seconds times
   its stratum's batches). Padding efficiency is counted on every batch of the epoch,
   next to its ceiling at each pad_to_multiple_of;
2. XLA on vs off for the train step on the CPU, same model, one fixed batch shape (the
   steady-state ratio; the first XLA step, i.e. the compile, is printed separately);
3. model FLOP utilisation: useful FLOPs/s (6 x non-embedding parameters x real tokens/s,
   plus attention over the real lengths) / the measured peak of a tf.function 2048x2048
   float32 matmul, measured in this process right before and right after each setting (the
   MFU is printed as the range over those two peaks);
4. with ``--accuracy``: final validation accuracy of 3 seeds x {random, bucketed} through the
   real trainer on the same kind of texts: tiny-bert, or with ``--accuracy-layers L
   --accuracy-hidden H`` a random-init BERT of that shape saved as a local model folder.

Run:  .venv/bin/python bench/input_pipeline.py [--rows 480] [--batch-size 32] [--no-xla]
          [--steps K] [--max-length 128] [--accuracy [--accuracy-rows N]]
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
    padded_width,
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


def matmul_peak_flops(size: int = 2048, calls: int = 5) -> float:
    """FLOP/s of a tf.function float32 matmul, best of 3 rounds of ``calls``: the machine's
    practical peak at this moment (other people's load moves it: measure it next to what
    it is compared with)."""
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


EPOCH_SEED, EPOCH = 7, 1  # the timed epoch: the pipeline's (seed, epoch)


def epoch_plan(lengths: np.ndarray, batch_size: int, batching: str) -> list[np.ndarray]:
    """The row indices of each batch of the timed epoch, in the order the product trains
    them (the same function make_text_pipeline uses)."""
    bucket_by = lengths if batching == "bucketed" else None
    return epoch_batches(len(lengths), batch_size, EPOCH_SEED, EPOCH, shuffle=True,
                         bucket_by=bucket_by)


def stratified_picks(batches: list[np.ndarray], lengths: np.ndarray, multiple: int,
                     k: int) -> list[tuple[int, int]]:
    """K batches spread evenly over the epoch's batches ranked by padded size (what a step
    costs), each with the number of the epoch's batches it stands for.

    The epoch's batches are ranked by padded tokens and cut into K strata of (nearly) equal
    count; the middle batch of each stratum is timed. Why not every n-th batch of the train
    order itself: bucketed batches come shuffled, so any K of them in train order are a
    random sample of widths from 8 to 128, and 8 such draws are noisy (the first 8 were
    1.7x longer than the epoch's average in the last figures). Ranking first makes the K
    span the widths as the epoch does."""
    sizes = np.asarray([len(batch) * padded_width(int(lengths[batch].max()), multiple,
                                                  MAX_LENGTH) for batch in batches])
    ranked = np.argsort(sizes, kind="stable")
    k = min(k, len(batches)) if k > 0 else len(batches)
    bounds = np.linspace(0, len(batches), k + 1).round().astype(int)
    return [(int(ranked[(lo + hi - 1) // 2]), int(hi - lo))
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def train_step_function(model) -> tf.types.experimental.GenericFunction:
    """The train step as fit runs it (a tf.function with reduce_retracing), one batch a call."""
    return tf.function(model.train_step, reduce_retracing=True)


def gather_batches(ids: list[list[int]], labels: list[int], batch_size: int, batching: str,
                   multiple: int, wanted: set[int]) -> dict[int, tuple]:
    """Batches ``wanted`` of the timed epoch, built by the product's make_text_pipeline."""
    pipeline = make_text_pipeline(ids, labels, batch_size, True, EPOCH_SEED, epoch=EPOCH,
                                  batching=batching, pad_to_multiple_of=multiple,
                                  max_width=MAX_LENGTH)
    return {index: batch for index, batch in enumerate(pipeline) if index in wanted}


def timed_setting(step, model, ids: list[list[int]], labels: list[int], batch_size: int,
                  batching: str, multiple: int, k: int, seen: set[tuple[int, ...]]
                  ) -> dict[str, float]:
    """Time K stratified batches of one setting's epoch, one train step each, after one
    untimed step on every batch shape not yet run in this process (``seen``)."""
    lengths = np.asarray([len(row) for row in ids])
    batches = epoch_plan(lengths, batch_size, batching)
    picks = stratified_picks(batches, lengths, multiple, k)
    data = gather_batches(ids, labels, batch_size, batching, multiple,
                          {index for index, _ in picks})
    for index, _ in picks:  # sanity: the pipeline built what the plan says
        width = padded_width(int(lengths[batches[index]].max()), multiple, MAX_LENGTH)
        assert tuple(data[index][0]["input_ids"].shape) == (len(batches[index]), width)
    warmed = 0
    for index, _ in picks:
        shape = tuple(data[index][0]["input_ids"].shape)
        if shape not in seen:
            float(step(data[index])["loss"])
            seen.add(shape)
            warmed += 1
    traces = step.experimental_get_tracing_count()
    seconds = []
    for index, _ in picks:
        started = time.perf_counter()
        float(step(data[index])["loss"])
        seconds.append(time.perf_counter() - started)
    retraced = step.experimental_get_tracing_count() - traces
    return summarise(model, batches, lengths, multiple, picks, seconds) | {
        "warmed": float(warmed), "retraced": float(retraced)}


def summarise(model, batches: list[np.ndarray], lengths: np.ndarray, multiple: int,
              picks: list[tuple[int, int]], seconds: list[float]) -> dict[str, float]:
    """Figures on the timed batches, and the epoch extrapolated from them: each timed batch's
    seconds count once per epoch batch of its stratum."""
    timed = [batches[index] for index, _ in picks]
    rows = lengths[np.concatenate(timed)]
    counts = token_counts(timed, lengths, multiple, MAX_LENGTH)
    epoch_counts = token_counts(batches, lengths, multiple, MAX_LENGTH)
    epoch_seconds = float(sum(weight * t for (_, weight), t in zip(picks, seconds,
                                                                   strict=True)))
    total = float(sum(seconds))
    return {"samples_per_sec": len(rows) / total, "seconds": total, "steps": float(len(picks)),
            "efficiency": counts.real / counts.padded,
            "real_tokens_per_sec": counts.real / total,
            "useful_flops": useful_train_flops(model, rows),
            "epoch_samples_per_sec": len(lengths) / epoch_seconds,
            "epoch_seconds": epoch_seconds, "epoch_batches": float(len(batches)),
            "epoch_efficiency": epoch_counts.real / epoch_counts.padded,
            "epoch_useful_flops": useful_train_flops(model, lengths)}


def padding_bounds(lengths: np.ndarray, batch_size: int, multiple: int) -> dict[str, float]:
    """How far padding can go down at all: every row padded only to its own length rounded
    up to ``multiple`` (no batch shares a width: the ceiling for any batching), and rows
    sorted globally into batches (bucketing with a window as wide as the set)."""
    own = np.asarray([padded_width(int(n), multiple, MAX_LENGTH) for n in lengths])
    ranked = np.sort(lengths)
    sorted_batches = [np.arange(start, min(start + batch_size, len(ranked)))
                      for start in range(0, len(ranked), batch_size)]
    sorted_counts = token_counts(sorted_batches, ranked, multiple, MAX_LENGTH)
    return {"own_row": float(lengths.sum() / own.sum()),
            "mean_rounding": float((own - lengths).mean()), "mean_length": float(lengths.mean()),
            "global_sort": sorted_counts.real / sorted_counts.padded}


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
                        epochs: int = 4, shape: dict[str, int] | None = None,
                        learning_rate: float = 2e-3, warmup_ratio: float = 0.0,
                        schedule: str = "constant", batchings: tuple[str, ...] = ("random",
                                                                                "bucketed"),
                        batch_size: int = 32) -> None:
    """Final validation accuracy through the real trainer, random vs bucketed batching:
    tiny-bert, or with ``shape`` a random-init BERT of that shape saved as a local model
    folder (the product loads it as any Hugging Face folder)."""
    import csv

    from densexp_tui.core.config import parse_config
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.engine.trainer import train

    folder = Path(tempfile.mkdtemp(prefix="densexp-bench-"))
    with open(folder / "long_tailed.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    model_name = "tiny-bert" if shape is None else str(save_bert_folder(folder / "bert",
                                                                        texts, shape))
    for batching in batchings:
        accuracies, seconds = [], []
        for seed in seeds:
            cfg = parse_config({
                "run": {"name": f"bench-{batching}", "seed": seed},
                "data": {"source": "csv", "path": str(folder / "long_tailed.csv"),
                         "max_length": MAX_LENGTH, "batching": batching, "val_fraction": 0.2,
                         "test_fraction": 0.1},
                "model": {"name": model_name},
                "train": {"epochs": epochs, "batch_size": batch_size,
                          "learning_rate": learning_rate, "warmup_ratio": warmup_ratio,
                          "lr_schedule": schedule},
            })
            result = train(cfg, RunStore(folder / "runs"))
            accuracies.append(result.best["accuracy"] if result.best else float("nan"))
            seconds.append(result.duration)
        print(f"  {batching:8s} val accuracy over seeds {seeds}: "
              + ", ".join(f"{a:.3f}" for a in accuracies)
              + f"  (mean {np.mean(accuracies):.3f}, sd {np.std(accuracies, ddof=1):.3f}); "
              + f"{np.mean(seconds):.0f}s a run; " + load_average(), flush=True)


def save_bert_folder(out: Path, texts: list[str], shape: dict[str, int]) -> Path:
    """A random-init BERT of ``shape`` with the product's WordPiece tokenizer (trained on
    ``texts``, as tiny-bert's is), saved like a downloaded checkpoint."""
    from densexp_tui.engine.models import train_wordpiece_tokenizer

    tokenizer = train_wordpiece_tokenizer(texts, MAX_LENGTH)
    config = BertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                        max_position_embeddings=512, num_labels=N_CLASSES,
                        architectures=["BertForSequenceClassification"], **shape)
    model = TFBertForSequenceClassification(config)
    model.build_in_name_scope()
    out.mkdir(parents=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def bert_shape(layers: int, hidden: int) -> dict[str, int]:
    """BERT's proportions: 4x wide feed-forward, heads of 32 (MiniLM: 12 heads of 32)."""
    return {"num_hidden_layers": layers, "hidden_size": hidden, "intermediate_size": 4 * hidden,
            "num_attention_heads": max(1, hidden // 32)}


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
                        help="time K batches of each setting, one per size stratum (0: all)")
    parser.add_argument("--max-length", type=int, default=MAX_LENGTH,
                        help="the tokenizer's max_length (rows longer are truncated)")
    parser.add_argument("--accuracy", action="store_true",
                        help="also train 3 seeds x {random, bucketed} (several minutes)")
    parser.add_argument("--accuracy-rows", type=int, default=0,
                        help="rows for --accuracy (default: --rows)")
    parser.add_argument("--accuracy-epochs", type=int, default=4)
    parser.add_argument("--accuracy-layers", type=int, default=0,
                        help="--accuracy on a random-init BERT of this many layers (saved as a "
                             "local model folder) instead of tiny-bert")
    parser.add_argument("--accuracy-hidden", type=int, default=256)
    parser.add_argument("--accuracy-lr", type=float, default=2e-3)
    # A random-init BERT of MiniLM's depth does not learn at a constant 1e-3 (it stayed at
    # chance); the usual BERT recipe is a lower peak with linear warm-up and decay.
    parser.add_argument("--accuracy-warmup", type=float, default=0.0,
                        help="train.warmup_ratio for --accuracy")
    parser.add_argument("--accuracy-schedule", default="constant",
                        help="train.lr_schedule for --accuracy (constant, linear, cosine)")
    parser.add_argument("--accuracy-seeds", default="1,2,3", help="seeds for --accuracy")
    parser.add_argument("--accuracy-batch", type=int, default=32,
                        help="train.batch_size for --accuracy (smaller: more steps per epoch)")
    parser.add_argument("--accuracy-batchings", default="random,bucketed",
                        help="batchings for --accuracy, in order")
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
        shape = (bert_shape(args.accuracy_layers, args.accuracy_hidden)
                 if args.accuracy_layers else None)
        described = ("tiny-bert (2 layers x 64 hidden)" if shape is None else
                     f"a random-init BERT {args.accuracy_layers} layers x "
                     f"{args.accuracy_hidden} hidden ({shape['num_attention_heads']} heads, "
                     f"intermediate {shape['intermediate_size']})")
        print(f"accuracy: {described} through the real trainer, {n_rows} rows, max_length "
              f"{MAX_LENGTH}, {args.accuracy_epochs} epochs, batch {args.accuracy_batch}, "
              f"learning rate {args.accuracy_lr:g} ({args.accuracy_schedule}, warm-up "
              f"{args.accuracy_warmup:g}), "
              f"seeds {args.accuracy_seeds}", flush=True)
        seeds = tuple(int(seed) for seed in args.accuracy_seeds.split(","))
        accuracy_over_seeds(texts, labels, seeds=seeds, epochs=args.accuracy_epochs,
                            shape=shape, learning_rate=args.accuracy_lr,
                            warmup_ratio=args.accuracy_warmup,
                            schedule=args.accuracy_schedule,
                            batchings=tuple(args.accuracy_batchings.split(",")),
                            batch_size=args.accuracy_batch)
    print(f"end: {load_average()}")


SETTINGS = (("random", 1), ("random", 8), ("bucketed", 1), ("bucketed", 8))


def speed_figures(args: argparse.Namespace, texts: list[str], labels: list[int]) -> None:
    tokenizer = train_wordpiece(texts)
    ids = tokenize_texts(tokenizer, texts, MAX_LENGTH)
    lengths = np.asarray([len(row) for row in ids])
    raw = np.asarray([len(row) for row in tokenize_texts(tokenizer, texts, 512)])
    p10, p50, p90, p99 = np.percentile(raw, [10, 50, 90, 99])
    print(f"long-tailed set: {len(ids)} rows, word pieces before truncation p10 {p10:.0f} "
          f"p50 {p50:.0f} p90 {p90:.0f} p99 {p99:.0f} max {raw.max()}; max_length "
          f"{MAX_LENGTH} ({(raw > MAX_LENGTH).mean():.1%} truncated); batch {args.batch_size}")
    padding_figures(lengths, args.batch_size)

    shape = bert_shape(args.layers, args.hidden)
    model = minilm_shaped_bert(**shape)
    print(f"BERT {args.layers} layers x {args.hidden} hidden: "
          f"{model.count_params() / 1e6:.1f}M parameters, "
          f"{non_embedding_params(model) / 1e6:.1f}M non-embedding")
    step = train_step_function(model)
    seen: set[tuple[int, ...]] = set()
    peaks = [matmul_peak_flops()]
    print(f"matmul peak (tf.function 2048x2048 float32): {peaks[0] / 1e9:.1f} GFLOP/s; "
          + load_average(), flush=True)
    figures = {}
    for batching, multiple in SETTINGS:
        figure = timed_setting(step, model, ids, labels, args.batch_size, batching, multiple,
                               args.steps, seen)
        peaks.append(matmul_peak_flops())  # right after: the peak this setting is held to
        figures[batching, multiple] = figure
        print_setting(batching, multiple, figure, peaks[-2], peaks[-1])
    print("bucketed / random samples/s:")
    for multiple in (1, 8):
        bucketed, random = figures["bucketed", multiple], figures["random", multiple]
        print(f"  pad_to_multiple_of {multiple}: "
              f"{bucketed['samples_per_sec'] / random['samples_per_sec']:.2f}x on the timed "
              f"batches, {bucketed['epoch_samples_per_sec'] / random['epoch_samples_per_sec']:.2f}x"
              " per epoch (extrapolated from them)")
    print(f"matmul peak, measured {len(peaks)} times between the settings: "
          f"{min(peaks) / 1e9:.1f}-{max(peaks) / 1e9:.1f} GFLOP/s; {load_average()}")

    if not args.no_xla:
        width = int(np.ceil(p50 / 8) * 8)
        xla = xla_ratio(args.batch_size, width, args.xla_steps, shape)
        print(f"XLA on the CPU, batch {args.batch_size}x{width}: "
              f"{xla['steps_per_sec_on']:.2f} vs {xla['steps_per_sec_off']:.2f} steps/s "
              f"(on/off {xla['steps_per_sec_on'] / xla['steps_per_sec_off']:.2f}x); first step "
              f"{xla['first_step_on']:.1f}s on vs {xla['first_step_off']:.1f}s off "
              "(each new batch shape compiles again under XLA)")


def print_setting(batching: str, multiple: int, figure: dict[str, float], peak_before: float,
                  peak_after: float) -> None:
    """Two lines: what the timed batches measured, and the epoch extrapolated from them."""
    flops = figure["useful_flops"] / figure["seconds"]
    low, high = sorted((flops / peak_before, flops / peak_after))
    epoch_flops = figure["epoch_useful_flops"] / figure["epoch_seconds"]
    epoch_low, epoch_high = sorted((epoch_flops / peak_before, epoch_flops / peak_after))
    print(f"  {batching:8s} pad_to_multiple_of {multiple}:\n"
          f"    timed batches ({figure['steps']:.0f} of {figure['epoch_batches']:.0f}, one per "
          f"size stratum; {figure['warmed']:.0f} new shapes warmed up untimed, "
          f"{figure['retraced']:.0f} retraces while timed): "
          f"{figure['samples_per_sec']:.1f} samples/s, real/padded {figure['efficiency']:.3f}, "
          f"{figure['real_tokens_per_sec']:.0f} real tokens/s, {figure['seconds']:.0f}s, "
          f"MFU {low:.0%}-{high:.0%} (peak {peak_before / 1e9:.1f} before, "
          f"{peak_after / 1e9:.1f} GFLOP/s after)\n"
          f"    whole epoch, extrapolated (each timed batch x its stratum's batches): "
          f"{figure['epoch_samples_per_sec']:.1f} samples/s ({figure['epoch_seconds']:.0f}s an "
          f"epoch), real/padded {figure['epoch_efficiency']:.3f} (counted on every batch), "
          f"MFU {epoch_low:.0%}-{epoch_high:.0%}; {load_average()}", flush=True)


def padding_figures(lengths: np.ndarray, batch_size: int) -> None:
    """Whole-epoch padding efficiency of each setting (counted, not timed), and the ceiling
    at each pad_to_multiple_of."""
    print("padding efficiency, real / padded tokens over one whole epoch (counted):")
    for multiple in (1, 8):
        shares = []
        for batching in ("random", "bucketed"):
            counts = token_counts(epoch_plan(lengths, batch_size, batching), lengths, multiple,
                                  MAX_LENGTH)
            shares.append(f"{batching} {counts.real / counts.padded:.3f}")
        bound = padding_bounds(lengths, batch_size, multiple)
        print(f"  pad_to_multiple_of {multiple}: {', '.join(shares)}; rows sorted globally "
              f"into batches {bound['global_sort']:.3f}; ceiling (each row padded only to its "
              f"own length rounded up to {multiple}) {bound['own_row']:.3f} = mean length "
              f"{bound['mean_length']:.1f} / ({bound['mean_length']:.1f} + mean rounding "
              f"{bound['mean_rounding']:.2f})")


if __name__ == "__main__":
    main()
