"""Save a small BERT and its tokenizer as a Hugging Face model folder, offline.

    python examples/make_local_model.py            # -> examples/models/my-bert
    python examples/make_local_model.py --out DIR

The folder is what examples/local-model.toml points at: ``config.json``, ``tf_model.h5``
and the tokenizer files, written with ``save_pretrained`` exactly like a downloaded
checkpoint. The weights are random (there is no network to fetch pretrained ones), and the
WordPiece vocabulary is learned from the built-in reviews, so the example trains for real.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # transformers' TF models are Keras 2
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
# A little larger than tiny-bert, still quick on a CPU.
SIZES = {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
         "intermediate_size": 256, "max_position_embeddings": 512}


def make_local_model(out: Path) -> Path:
    """Write config, weights and tokenizer into ``out``; returns it."""
    from transformers import BertConfig, TFBertForSequenceClassification

    from densexp_tui.engine.models import train_wordpiece_tokenizer
    from densexp_tui.engine.reviews import generate_reviews

    tokenizer = train_wordpiece_tokenizer(generate_reviews().texts, max_length=512)
    config = BertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                        architectures=["BertForSequenceClassification"], **SIZES)
    model = TFBertForSequenceClassification(config)
    model.build_in_name_scope()  # create the weights so they can be saved
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "models" / "my-bert")
    args = parser.parse_args()
    out = make_local_model(args.out)
    print(f"saved a small BERT and its tokenizer to {out}")
    print("train it:  densexp run examples/local-model.toml")


if __name__ == "__main__":
    main()
