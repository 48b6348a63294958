"""The cold runs-index build: its time, where it goes, and whether two processes help.

A cold build is what a first use, a deleted ``.densexp-index/`` or a runs dir copied in from
another machine costs: every summary.json read once and written as a row
(core/indexbuild.py, core/runindex.py). Printed, never asserted; the box is shared, so
compare the figures within one run.

- ``cold build``: a new RunStore's ``index.update(full=True)`` with the index deleted first
  (``--repeat`` times);
- ``--breakdown``: the same per-run steps timed one by one over every run (scandir; open,
  fstat and read; JSON parse; the RunSummary; the filter columns; the stored JSON; SQLite
  writes in the index's batches into a scratch database);
- ``--pool``: reading the rows in this process against a pool of two forked processes
  (the rows sent back by pickle), to see whether the second core pays on this machine.

    PYTHONPATH=. .venv/bin/python bench/index_build.py /tmp/coldidx-bench-100000
        [--repeat 2] [--breakdown] [--pool]

Runs of a size can be generated with ``bench/many_runs.py`` (``--prefix``); the directory
given here is read and its index deleted, never its runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from densexp_tui.core import indexbuild, runindex  # noqa: E402
from densexp_tui.core.runsql import column_values  # noqa: E402
from densexp_tui.core.runstore import (  # noqa: E402
    RunStore,
    RunSummary,
    _summary_from_record,
    with_live_status,
)

CHUNK = runindex.BATCH_ROWS
_compact = json.JSONEncoder(separators=(",", ":")).encode


def cold_build(root: Path) -> float:
    shutil.rmtree(root / runindex.INDEX_DIR, ignore_errors=True)
    started = time.perf_counter()
    RunStore(root).index.update(full=True)
    return time.perf_counter() - started


def breakdown(root: Path) -> tuple[dict[str, float], int]:
    """Each step of the per-run work timed alone, summed over every run."""
    spent = dict.fromkeys(("list folders (scandir)", "open + fstat + read", "JSON parse",
                           "slim record + RunSummary", "filter columns", "stored JSON",
                           "SQLite writes"), 0.0)
    tick = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        spent[step] += now - tick
        tick = now

    names = sorted(runindex.run_folder_names(root), reverse=True)
    lap("list folders (scandir)")
    reader = indexbuild.RowReader(root, _summary_from_record, with_live_status)
    fields = [f.name for f in dataclasses.fields(RunSummary)]
    rows = []
    for name in names:
        key, raw = _read(f"{root}/{name}/{indexbuild.SUMMARY_NAME}")
        lap("open + fstat + read")
        record = json.loads(raw)
        lap("JSON parse")
        summary = _summary_from_record(indexbuild.slim_record(record), name)
        lap("slim record + RunSummary")
        column_values(summary)
        lap("filter columns")
        _compact({field: getattr(summary, field) for field in fields})
        lap("stored JSON")
        rows.append(reader.row(name, key, False, summary))
        tick = time.perf_counter()  # the whole row again, for the writes: not counted
    spent["SQLite writes"] = _write_rows(rows)
    return spent, len(names)


def _read(path: str) -> tuple[tuple[int, int, int], bytes]:
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        return (st.st_ino, st.st_mtime_ns, st.st_size), os.read(fd, st.st_size + 1)
    finally:
        os.close(fd)


def _write_rows(rows: list[tuple[object, ...]]) -> float:
    with tempfile.TemporaryDirectory(prefix="coldidx-write-") as scratch:
        conn = sqlite3.connect(Path(scratch) / "runs.sqlite", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        runindex._prepare(conn)
        started = time.perf_counter()
        for start in range(0, len(rows), CHUNK):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(runindex._INSERT, rows[start:start + CHUNK])
            conn.execute("COMMIT")
        spent = time.perf_counter() - started
        conn.close()
    return spent


_POOL_READER: indexbuild.RowReader | None = None


def _pool_start(root: str) -> None:
    global _POOL_READER
    _POOL_READER = indexbuild.RowReader(Path(root), _summary_from_record, with_live_status)


def _pool_read(names: list[str]) -> int:
    assert _POOL_READER is not None
    rows, _summaries, _gone = _POOL_READER.read(names)
    return len(rows)


def pool_figures(root: Path) -> dict[str, float]:
    names = sorted(runindex.run_folder_names(root), reverse=True)
    chunks = [names[start:start + CHUNK] for start in range(0, len(names), CHUNK)]
    started = time.perf_counter()
    _pool_start(str(root))
    for chunk in chunks:
        _pool_read(chunk)
    out = {"rows read, this process": time.perf_counter() - started}
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(2, _pool_start, (str(root),)) as pool:
        sum(pool.imap(_pool_read, chunks))
    out["rows read, 2 forked processes"] = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--pool", action="store_true")
    args = parser.parse_args()
    count = len(runindex.run_folder_names(args.root))
    print(f"== {count} runs in {args.root} · load {os.getloadavg()[0]:.1f} (2 cores)")
    for round_ in range(1, args.repeat + 1):
        print(f"  cold build, round {round_}: {cold_build(args.root):7.2f} s · load "
              f"{os.getloadavg()[0]:.1f}", flush=True)
    if args.breakdown:
        spent, runs = breakdown(args.root)
        print(f"  breakdown ({runs} runs, each step timed alone) · load "
              f"{os.getloadavg()[0]:.1f}")
        for name, seconds in spent.items():
            print(f"    {name:<28} {seconds:7.2f} s  {1e6 * seconds / runs:6.1f} us/run")
        print(f"    {'sum':<28} {sum(spent.values()):7.2f} s")
    if args.pool:
        for name, seconds in pool_figures(args.root).items():
            print(f"  {name:<34} {seconds:7.2f} s · load {os.getloadavg()[0]:.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
