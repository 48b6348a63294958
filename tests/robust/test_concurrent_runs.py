"""Several processes share one runs directory: ids stay unique and every log stays intact."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from densexp_tui.core.config import RunConfig
from densexp_tui.core.events import read_events
from densexp_tui.core.runstore import RunStore

RUNS_PER_PROCESS = 8
EVENTS_PER_RUN = 60


def _create_and_write(root: str, worker: int, queue: mp.Queue[list[str]]) -> None:
    store = RunStore(root)
    ids = []
    for _ in range(RUNS_PER_PROCESS):
        cfg = RunConfig()
        cfg.run.name = "same-name"  # the same name and second in every process: ids must differ
        handle = store.create_run(cfg)
        for step in range(EVENTS_PER_RUN):
            handle.events.append("step", epoch=1, step=step, loss=0.1, worker=worker)
            if step % 20 == 0:
                handle.update_summary(epochs_done=step // 20)
        handle.update_summary(status="completed")
        handle.close()
        ids.append(handle.run_id)
    queue.put(ids)


def test_four_processes_share_a_runs_dir(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_create_and_write, args=(str(tmp_path), w, queue))
               for w in range(4)]
    for proc in workers:
        proc.start()
    ids = [run_id for _ in workers for run_id in queue.get(timeout=60)]
    for proc in workers:
        proc.join(timeout=60)
        assert proc.exitcode == 0

    assert len(ids) == len(set(ids)) == 4 * RUNS_PER_PROCESS
    runs = RunStore(tmp_path).list_runs()
    assert sorted(r.run_id for r in runs) == sorted(ids)
    assert all(r.status == "completed" for r in runs)
    for run_id in ids:
        log = read_events(tmp_path / run_id / "events.jsonl")
        assert log.skipped == 0
        assert [e.seq for e in log.events] == list(range(1, EVENTS_PER_RUN + 1))
        assert len({e.get("worker") for e in log.events}) == 1
    # No stray temp or probe files; the runs index (a cache, core/runindex.py) may be there.
    assert not [p for p in tmp_path.iterdir()
                if p.name.startswith(".") and p.name != ".densexp-index"]
