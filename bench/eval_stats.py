"""Cost of the evaluation statistics on a 25,000-example test set, and of `densexp compare`.

1. End of a run: everything the trainer's test step does after the model's forward pass
   (engine/evaluation.metrics_and_predictions): METRICS, the text report, ECE, Brier, both
   AUCs, and writing predictions/test.jsonl with texts. Budget: under 1 s.
2. `densexp compare A B` on two runs of that size (a subprocess, as a user runs it, and the
   in-process core call alone), for test.f1 (paired bootstrap) and test.accuracy (McNemar).

    .venv/bin/python bench/eval_stats.py [--n 25000] [--classes 2] [--repeats 3]

Synthetic logits (no TensorFlow): the cost depends on the number of rows and classes only.
Prints the median of the repeats; the machine may be shared, so read ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from densexp_tui.core.comparing import compare
from densexp_tui.core.config import RunConfig
from densexp_tui.core.runstore import RunStore
from densexp_tui.engine.evaluation import metrics_and_predictions

CPU_TIMES: list[float] = []  # CPU seconds of make_run's statistics (less load-sensitive)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fake_logits(n: int, k: int, skill: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), labels] += skill
    return logits, labels


def make_run(store: RunStore, name: str, logits: np.ndarray, labels: np.ndarray,
             names: list[str], texts: list[str]) -> float:
    """A finished run directory with predictions; returns the seconds the statistics took."""
    handle = store.create_run(RunConfig())
    handle.events.append("run_started", labels=names, name=name)
    started, cpu = time.perf_counter(), time.process_time()
    test = metrics_and_predictions(logits, labels, names, texts, handle.dir)
    took = time.perf_counter() - started
    CPU_TIMES.append(time.process_time() - cpu)
    handle.update_summary(status="completed", test={"f1": test["f1"]})
    handle.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=25_000)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = [f"class{i}" for i in range(args.classes)]
    texts = [f"review {i}: " + "a fairly ordinary sentence of test text " * 5
             for i in range(args.n)]
    with tempfile.TemporaryDirectory(prefix="densexp-evalbench-") as tmp:
        store = RunStore(Path(tmp) / "runs")
        a_logits, labels = fake_logits(args.n, args.classes, 1.0, 1)
        b_logits, _ = fake_logits(args.n, args.classes, 1.1, 2)
        stats_times = [make_run(store, f"r{i}", a_logits, labels, names, texts)
                       for i in range(args.repeats)]
        make_run(store, "b", b_logits, labels, names, texts)
        runs = store.list_runs()
        a_id, b_id = runs[-1].run_id, runs[0].run_id
        print(f"statistics at the end of a run ({args.n} examples, {args.classes} classes, "
              f"incl. writing predictions/test.jsonl): median "
              f"{statistics.median(stats_times):.3f} s wall, "
              f"{statistics.median(CPU_TIMES):.3f} s CPU")
        for metric in ("test.f1", "test.accuracy", "test.roc_auc"):
            core, core_cpu = [], []
            for _ in range(args.repeats):
                started, cpu = time.perf_counter(), time.process_time()
                report = compare(store, a_id, b_id, metric)
                core.append(time.perf_counter() - started)
                core_cpu.append(time.process_time() - cpu)
            cli, cli_cpu = [], []
            for _ in range(args.repeats):
                started, cpu = time.perf_counter(), children_cpu()
                out = subprocess.run([sys.executable, "-m", "densexp_tui", "compare", a_id, b_id,
                                      "--metric", metric, "--json", "--runs-dir",
                                      str(store.root)], capture_output=True, text=True,
                                     check=True).stdout
                cli.append(time.perf_counter() - started)
                cli_cpu.append(children_cpu() - cpu)
            print(f"compare {metric}: core {statistics.median(core):.3f} s wall "
                  f"({statistics.median(core_cpu):.3f} s CPU), `densexp compare` "
                  f"{statistics.median(cli):.3f} s wall ({statistics.median(cli_cpu):.3f} s "
                  f"CPU, with interpreter start) (median of "
                  f"{args.repeats}); {json.loads(out)['summary']}; test: {report.comparison.test}")


if __name__ == "__main__":
    main()
