"""Fine-tuning modes compared: full, head, bitfit and lora, per model.

For tiny-bert on the built-in ``reviews`` set (and for every local BERT-class model folder
given on the command line), trains one run per mode with ``engine.trainer.train`` and
prints, per mode:

- trainable / total parameters (as in the run's ``run_started`` event),
- seconds per epoch (mean of the epochs after the first; the first also traces the graph),
- peak memory of the process (max RSS; plus TensorFlow's GPU peak when a GPU is used),
- best validation macro-F1 and the test accuracy.

Each run happens in a fresh child process, so the peak memory of one mode is not inflated
by the ones before it (TensorFlow does not give memory back).

Run:  .venv/bin/python bench/finetune_modes.py [MODEL_DIR ...] [--epochs 3]
          [--modes full,head,bitfit,lora] [--max-samples 0] [--lr lora=1e-3 ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MODES = ("full", "head", "bitfit", "lora")
# Learning rates that train each mode well: tiny-bert starts from random weights and takes
# large steps; a pretrained folder wants the usual small fine-tuning rates.
TINY_BERT_LR = {"full": 2e-3, "head": 5e-3, "bitfit": 5e-3, "lora": 5e-3}
PRETRAINED_LR = {"full": 5e-5, "head": 1e-3, "bitfit": 1e-3, "lora": 1e-3}


@dataclass
class ModeResult:
    model: str
    mode: str
    status: str
    trainable: int
    total: int
    sec_per_epoch: float
    first_epoch_sec: float
    peak_rss_mb: float
    gpu_peak_mb: float | None
    best_val_f1: float | None
    test_accuracy: float | None
    message: str = ""


def run_config(model: str, mode: str, args: argparse.Namespace) -> Any:
    """The run for one (model, mode): the quickstart settings, LoRA on query and value."""
    from densexp_tui.core.config import RunConfig

    cfg = RunConfig()
    cfg.run.name = f"bench-{mode}"
    cfg.data.max_samples = args.max_samples
    cfg.data.max_length = args.max_length
    cfg.model.name = model
    cfg.model.finetune = mode
    cfg.model.lora_rank, cfg.model.lora_alpha = 8, 16.0
    cfg.model.lora_targets = ["query", "value"]
    rates = TINY_BERT_LR if model == "tiny-bert" else PRETRAINED_LR
    cfg.train.learning_rate = args.lr.get(mode, rates[mode])
    cfg.train.epochs = args.epochs
    cfg.train.batch_size = args.batch_size
    cfg.train.early_stopping_patience = 0
    return cfg


def measure_one(model: str, mode: str, args: argparse.Namespace) -> ModeResult:
    """Train one run in this process and measure it (the child side)."""
    import densexp_tui  # noqa: F401  (TF environment first)
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.engine.trainer import train

    events: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="densexp-bench-") as runs:
        result = train(run_config(model, mode, args), RunStore(Path(runs)), on_event=events.append)
    started = next((e.data for e in events if e.kind == "run_started"), {})
    elapsed = [e.data["elapsed"] for e in events if e.kind == "epoch"]
    durations = [b - a for a, b in zip([0.0, *elapsed], elapsed, strict=False)]
    later = durations[1:] or durations
    return ModeResult(
        model=model, mode=mode, status=result.status,
        trainable=int(started.get("params", {}).get("trainable", 0)),
        total=int(started.get("params", {}).get("total", 0)),
        sec_per_epoch=round(sum(later) / len(later), 2) if later else 0.0,
        first_epoch_sec=round(durations[0], 2) if durations else 0.0,
        peak_rss_mb=round(peak_rss_mb(), 1), gpu_peak_mb=gpu_peak_mb(),
        best_val_f1=(result.best or {}).get("f1"),
        test_accuracy=(result.test or {}).get("accuracy"),
        message=result.message,
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (ru_maxrss; current RSS where unavailable)."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS
    except ImportError:  # Windows
        import psutil

        return psutil.Process().memory_info().rss / 2**20


def gpu_peak_mb() -> float | None:
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None
    return round(tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20, 1)


def run_child(model: str, mode: str, argv: list[str]) -> ModeResult:
    """Measure one (model, mode) in a fresh interpreter; a crash becomes a failed row."""
    cmd = [sys.executable, __file__, "--child", model, mode, *argv]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    last = proc.stdout.strip().splitlines()[-1:] or [""]
    try:
        return ModeResult(**json.loads(last[0]))
    except (ValueError, TypeError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return ModeResult(model, mode, "crashed", 0, 0, 0.0, 0.0, 0.0, None, None, None, tail)


def print_table(rows: list[ModeResult]) -> None:
    header = (f"{'model':<28} {'mode':<7} {'trainable':>10} {'total':>10} {'%':>6} "
              f"{'s/epoch':>8} {'1st ep':>7} {'peak MB':>8} {'val F1':>7} {'test acc':>8}  status")
    print(header)
    print("-" * len(header))
    for r in rows:
        share = 100.0 * r.trainable / r.total if r.total else 0.0
        f1 = f"{r.best_val_f1:.3f}" if r.best_val_f1 is not None else "-"
        acc = f"{r.test_accuracy:.3f}" if r.test_accuracy is not None else "-"
        name = r.model if len(r.model) <= 28 else "..." + r.model[-25:]
        gpu = f" (GPU {r.gpu_peak_mb:.0f})" if r.gpu_peak_mb is not None else ""
        print(f"{name:<28} {r.mode:<7} {r.trainable:>10,} {r.total:>10,} {share:>5.1f}% "
              f"{r.sec_per_epoch:>8.2f} {r.first_epoch_sec:>7.2f} {r.peak_rss_mb:>8.0f} "
              f"{f1:>7} {acc:>8}  {r.status}{gpu}{(': ' + r.message) if r.message else ''}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="local BERT/DistilBERT/RoBERTa model folders")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-samples", type=int, default=0, help="0 = all 4000 reviews")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--lr", action="append", default=[], metavar="MODE=RATE",
                        help="learning rate for one mode (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.lr = {mode: float(rate) for mode, rate in (item.split("=", 1) for item in args.lr)}
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.child:
        print(json.dumps(asdict(measure_one(*args.child, args))))
        return 0
    passthrough = [a for a in argv if a not in args.models]
    models = ["tiny-bert", *(str(Path(m).resolve()) for m in args.models)]
    rows = []
    for model in models:
        for mode in args.modes.split(","):
            rows.append(run_child(model, mode, passthrough))
            if args.json:
                print(json.dumps(asdict(rows[-1])), flush=True)
    if not args.json:
        print_table(rows)
    return 0 if all(r.status == "completed" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
