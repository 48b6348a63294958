"""On cpu:2, in a fresh process: FGM's strategy checks (fgm_distributed_main.py), a run of
tiny-bert (cancelled after epoch 2, then resumed) and one of LoRA. Logical CPU devices can
only be made before TensorFlow starts its devices, which a pytest process that trained
anything already did. Prints one JSON line with the results.

``python -m tests.integration.distributed_main RUNS_DIR [fgm] [tiny-bert] [lora]``
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import densexp_tui  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
from densexp_tui.core.config import RunConfig, apply_overrides, parse_config
from densexp_tui.core.events import Event
from densexp_tui.core.runstore import RunStore
from tests.conftest import TINY_BERT_RUN

# The bars' configs of tests/integration/test_trainer.py and test_finetune.py, on cpu:2.
TINY_BERT = ["data.max_samples=1500", "data.max_length=48", "train.epochs=4",
             "train.learning_rate=3e-3", "device.device=cpu:2"]
LORA = ["model.finetune=lora", "model.lora_rank=8", "model.lora_alpha=16",
        "train.epochs=4", "train.batch_size=32", "train.learning_rate=5e-3",
        "train.lr_schedule=constant", "train.warmup_ratio=0.0", "device.device=cpu:2"]


def _majority(metrics: dict) -> float:
    counts = [sum(row) for row in metrics["confusion"]]
    return max(counts) / sum(counts)


def tiny_bert_cancelled_then_resumed(store: RunStore) -> dict:
    from densexp_tui.engine.models import load_trained_model
    from densexp_tui.engine.resume import resume
    from densexp_tui.engine.trainer import train

    cfg = apply_overrides(parse_config(TINY_BERT_RUN, source="tiny"), TINY_BERT)
    cancel = threading.Event()

    def stop_after_epoch_two(event: Event) -> None:
        if event.kind == "epoch" and event.get("epoch") == 2:
            cancel.set()

    first = train(cfg, store, cancel=cancel, on_event=stop_after_epoch_two)
    resumed = resume(first.run_id, store)
    loaded = load_trained_model(store.run_dir(first.run_id))
    summary = store.read_summary(first.run_id)
    return {"first_status": first.status, "status": resumed.status,
            "best_accuracy": resumed.best["accuracy"], "majority": _majority(resumed.best),
            "replicas": summary.replicas, "loaded_params": int(loaded.total_params),
            "run_id": first.run_id}


def lora(store: RunStore) -> dict:
    from densexp_tui.engine.trainer import train

    cfg = apply_overrides(RunConfig(), LORA)
    cfg.run.name = "lora-cpu2"
    cfg.model.lora_targets = ["query", "value"]
    result = train(cfg, store)
    return {"status": result.status, "message": result.message,
            "test_accuracy": result.test["accuracy"] if result.test else None,
            "majority": _majority(result.test) if result.test else None,
            "adapters": (store.run_dir(result.run_id) / "adapters.npz").is_file()}


def main() -> None:
    store = RunStore(Path(sys.argv[1]))
    which = sys.argv[2:] or ["fgm", "tiny-bert", "lora"]
    out = {}
    if "fgm" in which:
        from tests.integration.fgm_distributed_main import strategy_checks

        out["fgm"] = strategy_checks()
    if "tiny-bert" in which:
        out["tiny_bert"] = tiny_bert_cancelled_then_resumed(store)
    if "lora" in which:
        out["lora"] = lora(store)
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
