"""Input-pipeline benchmark: our tf.data pipeline vs the naive per-batch tokenizing loop.

Both train the same tiny BERT (hidden 64, 2 layers) on the built-in ``reviews`` texts for
the same number of steps with the same compiled train step; only the input side differs:

- ours:  tokenize every text once up front (fast tokenizer, one batch call), then
         ``make_text_pipeline``: batches padded to their own longest sequence, prefetched.
         The one-time tokenizing is included in the timed figure.
- naive: inside the training loop, tokenize each batch in Python and pad it to
         ``max_length=128``, the pattern many tutorials use.

Run:  .venv/bin/python bench/input_pipeline.py [--steps 60] [--batch-size 32] [--rounds 3]
Prints samples/second for both and the ratio (target: ours >= 1.5x).
"""

from __future__ import annotations

import argparse
import os
import time

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
from densexp_tui.engine.data import make_text_pipeline, tokenize_texts  # noqa: E402
from densexp_tui.engine.reviews import generate_reviews  # noqa: E402

MAX_LENGTH = 128
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(texts: list[str], vocab_size: int = 4000) -> PreTrainedTokenizerFast:
    """A BERT-style WordPiece tokenizer trained on ``texts``, wrapped for transformers."""
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS)
    )
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[(t, backend.token_to_id(t)) for t in ("[CLS]", "[SEP]")],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def tiny_bert(vocab_size: int, n_classes: int) -> TFBertForSequenceClassification:
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=256,
        max_position_embeddings=MAX_LENGTH,
        num_labels=n_classes,
    )
    return TFBertForSequenceClassification(config)


def make_train_step(model: TFBertForSequenceClassification) -> tf.types.experimental.Function:
    """One compiled step for both pipelines; the signature allows any batch and length,
    so dynamic padding does not retrace."""
    optimizer = tf_keras.optimizers.Adam(1e-3)
    loss_fn = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    signature = (
        {
            "input_ids": tf.TensorSpec([None, None], tf.int32),
            "attention_mask": tf.TensorSpec([None, None], tf.int32),
        },
        tf.TensorSpec([None], tf.int32),
    )

    @tf.function(input_signature=signature)
    def train_step(inputs, labels):
        with tf.GradientTape() as tape:
            logits = model(inputs, training=True).logits
            loss = loss_fn(labels, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return train_step


def run_ours(
    train_step, tokenizer, texts, labels, steps, batch_size, seed, pad_multiple=1
) -> tuple[float, float]:
    """(seconds, mean padded length) for ``steps`` steps, tokenizing included."""
    started = time.perf_counter()
    token_ids = tokenize_texts(tokenizer, texts, MAX_LENGTH)
    epochs_needed = -(-steps * batch_size // len(texts))
    pipeline = make_text_pipeline(
        token_ids, labels, batch_size, True, seed,
        num_epochs=epochs_needed, pad_id=tokenizer.pad_token_id,
        pad_to_multiple_of=pad_multiple,
    )
    lengths = []
    for inputs, batch_labels in pipeline.take(steps):
        train_step(inputs, batch_labels)
        lengths.append(inputs["input_ids"].shape[1])
    float(train_step(inputs, batch_labels))  # wait for queued work before stopping the clock
    return time.perf_counter() - started, float(np.mean(lengths))


def run_naive(train_step, tokenizer, texts, labels, steps, batch_size, seed) -> tuple[float, float]:
    """(seconds, padded length) for ``steps`` steps, tokenizing each batch in the loop."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))
    label_array = np.asarray(labels, dtype=np.int32)
    started = time.perf_counter()
    for step in range(steps):
        picked = order[(step * batch_size) % len(texts):][:batch_size]
        encoded = tokenizer(
            [texts[i] for i in picked],
            padding="max_length",
            truncation=True,
            max_length=MAX_LENGTH,
            return_tensors="tf",
        )
        inputs = {
            "input_ids": tf.cast(encoded["input_ids"], tf.int32),
            "attention_mask": tf.cast(encoded["attention_mask"], tf.int32),
        }
        train_step(inputs, tf.constant(label_array[picked]))
    float(train_step(inputs, tf.constant(label_array[picked])))
    return time.perf_counter() - started, float(MAX_LENGTH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pad-to-multiple-of", type=int, default=1,
                        help="round ours' batch length up to a multiple of this")
    args = parser.parse_args()

    reviews = generate_reviews()
    tokenizer = train_wordpiece(reviews.texts)
    model = tiny_bert(len(tokenizer), len(reviews.label_names))
    train_step = make_train_step(model)
    run_args = (reviews.texts, reviews.labels)

    # Warm up: trace the step and build the model's weights, outside the timed runs.
    run_ours(train_step, tokenizer, *run_args, 3, args.batch_size, args.seed)
    run_naive(train_step, tokenizer, *run_args, 3, args.batch_size, args.seed)

    # Interleaved rounds, median of each: other processes on the machine add noise.
    naive_rates, ours_rates = [], []
    samples = args.steps * args.batch_size
    for _ in range(args.rounds):
        naive_seconds, naive_length = run_naive(
            train_step, tokenizer, *run_args, args.steps, args.batch_size, args.seed
        )
        ours_seconds, ours_length = run_ours(
            train_step, tokenizer, *run_args, args.steps, args.batch_size, args.seed,
            args.pad_to_multiple_of,
        )
        naive_rates.append(samples / naive_seconds)
        ours_rates.append(samples / ours_seconds)
    naive_rate, ours_rate = float(np.median(naive_rates)), float(np.median(ours_rates))
    print(f"steps: {args.steps}  batch size: {args.batch_size}  samples: {samples}  "
          f"rounds: {args.rounds} (median)")
    print(f"naive (tokenize per batch, pad to {MAX_LENGTH}): {naive_rate:8.1f} samples/s "
          f"(padded length {naive_length:.0f})")
    print(f"ours  (tokenize once, dynamic padding, prefetch): {ours_rate:8.1f} samples/s "
          f"(mean padded length {ours_length:.1f})")
    print(f"ratio ours/naive: {ours_rate / naive_rate:.2f}x")


if __name__ == "__main__":
    main()
