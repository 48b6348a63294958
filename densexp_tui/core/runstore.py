"""Run directories: ids, creation, summaries, status (incl. interrupted), listing, lineage."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psutil

from densexp_tui.core.config import RunConfig, config_hash, dumps_config, write_text_atomic
from densexp_tui.core.errors import RunStoreError
from densexp_tui.core.events import EventWriter
from densexp_tui.core.folderlisting import list_folders
from densexp_tui.core.runindex import SUMMARY_NAME, RunIndex
from densexp_tui.core.runquery import RunFilter, SortSpec
from densexp_tui.core.runresolve import (
    ReadProgress,
    find_by_name,
    folders_starting_with,
    name_slug,
)

RUNS_DIR_ENV = "DENSEXP_RUNS_DIR"
RUNS_DIR_SOURCES = f"an existing folder from --runs-dir, ${RUNS_DIR_ENV} or ./runs"
STATUSES = ("running", "completed", "failed", "cancelled", "diverged", "interrupted")
FINAL_STATUSES = ("completed", "failed", "cancelled", "diverged")
HEARTBEAT_SECONDS = 5.0
# Kept free inside each running run: when the disk fills mid-run, deleting it leaves room to
# record that the run failed and why (events, summary).
RESERVE_BYTES = 256 * 1024
RESERVE_NAME = ".reserve"
# A run on another host (shared filesystem) is declared dead after this long without a beat.
HEARTBEAT_STALE_SECONDS = 60.0


def resolve_runs_dir(arg: str | Path | None = None) -> Path:
    """--runs-dir, else $DENSEXP_RUNS_DIR, else ./runs."""
    chosen = arg or os.environ.get(RUNS_DIR_ENV) or "runs"
    return Path(chosen).expanduser().resolve()


@dataclass
class RunSummary:
    run_id: str
    name: str = ""
    status: str = "running"
    dataset: str = ""
    model: str = ""
    finetune: str = ""
    started: float = 0.0
    finished: float | None = None
    duration: float | None = None
    best_epoch: int | None = None
    best: dict[str, Any] = field(default_factory=dict)  # loss, accuracy, f1 of the best epoch
    test: dict[str, Any] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)  # trainable, total
    epochs_done: int = 0
    epochs: int = 0
    pid: int | None = None
    pid_started: float | None = None
    host: str = ""
    replicas: list[str] = field(default_factory=list)  # devices it trained on
    visible_gpus: str | None = None  # CUDA_VISIBLE_DEVICES the run saw (sweep --gpus)
    xla: str = ""  # the train step's XLA as it ran, and why (engine/throughput.py xla_outcome)
    heartbeat: float | None = None
    parent: str = ""
    sweep: str = ""
    trial: int = -1
    config_hash: str = ""
    message: str = ""
    reused_from: str = ""
    group: str = ""  # run.group: the seed group (`densexp run --seeds`) this run belongs to
    kind: str = "run"  # "run" (trained) | "ensemble" (core/ensemble.py: averaged members)
    members: list[str] = field(default_factory=list)  # an ensemble's member run ids

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> RunSummary:
        return cls(**{k: v for k, v in record.items() if k in _SUMMARY_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def trainable_fraction(self) -> float | None:
        total = self.params.get("total")
        return self.params.get("trainable", 0) / total if total else None


_SUMMARY_FIELDS = frozenset(f.name for f in dataclasses.fields(RunSummary))


def load_summary_file(run_dir: Path) -> RunSummary:
    """The run's summary.json as written (raises OSError/ValueError when unreadable)."""
    record = json.loads((run_dir / SUMMARY_NAME).read_text(encoding="utf-8"))
    if not isinstance(record, dict):
        raise TypeError(f"{run_dir / SUMMARY_NAME} is not a JSON object")
    return RunSummary.from_dict(record)


def read_summary_file(run_dir: Path) -> RunSummary | None:
    """The run's summary as written, or None when it is missing or unreadable."""
    try:
        return load_summary_file(run_dir)
    except (OSError, ValueError, TypeError):
        return None


def read_live_summary(run_dir: Path) -> RunSummary | None:
    """The summary with its real status (a 'running' run whose process died: interrupted)."""
    summary = read_summary_file(run_dir)
    return None if summary is None else with_live_status(summary, run_dir)


def new_run_id(name: str, now: float | None = None) -> str:
    """Sortable by time, readable, and unique across processes thanks to the random suffix."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now or time.time()))
    return f"{stamp}-{name_slug(name)}-{secrets.token_hex(3)}"


def run_id_without_time(run_id: str) -> str:
    """The part of a new_run_id that tells runs of one study or day apart: name and suffix
    ("20261201-101500-quick-t3-a1b2c3" -> "quick-t3-a1b2c3"); other ids as they are."""
    stamp, _, rest = run_id.partition("-")
    clock, _, tail = rest.partition("-")
    if len(stamp) == 8 and len(clock) == 6 and (stamp + clock).isdigit() and tail:
        return tail
    return run_id


def _process_start_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def process_is_alive(pid: int | None, started: float | None) -> bool:
    """True only for the very process that wrote the run (a reused pid does not count)."""
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        # A killed process whose parent has not reaped it yet is a zombie: it is dead.
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        actual = process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return started is None or abs(actual - started) < 1.0


class RunStore:
    """A runs directory: creates runs, lists them and tells their real status."""

    def __init__(self, root: str | Path | None = None, progress: ReadProgress | None = None):
        """``progress``: told how far a lookup is that reads many summaries (the CLI's
        stderr line); None says nothing."""
        self.root = resolve_runs_dir(root)
        self.index = RunIndex(self.root, _summary_from_record, with_live_status)
        self.progress = progress

    # -- creating ---------------------------------------------------------------------------
    def ensure_writable(self) -> None:
        """Fail before training (with one clear line) if runs cannot be written here."""
        probe = self.root / f".write-test-{secrets.token_hex(4)}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # A block's worth, so a full disk fails here and not half-way through a run.
            probe.write_bytes(b"x" * 4096)
        except OSError as exc:
            with contextlib.suppress(OSError):  # e.g. ENOTDIR when the root is under a file
                probe.unlink(missing_ok=True)
            reason = exc.strerror or str(exc)
            raise RunStoreError(
                f"cannot write runs here ({reason}); allowed: a writable folder via --runs-dir "
                f"or ${RUNS_DIR_ENV}",
                file=self.root,
            ) from None
        probe.unlink()

    def create_run(self, cfg: RunConfig, run_id: str | None = None) -> RunHandle:
        """Make the run directory with its config and summary, appearing all at once."""
        self.ensure_writable()
        announced = run_id is not None
        run_id = run_id or new_run_id(cfg.run.name)
        final = self.root / run_id
        staging = self.root / f".{run_id}.creating"
        try:
            staging.mkdir()
            (staging / "checkpoints").mkdir()
            (staging / RESERVE_NAME).write_bytes(b"\0" * RESERVE_BYTES)
            write_text_atomic(staging / "config.toml", dumps_config(cfg))
            summary = self._initial_summary(cfg, run_id)
            write_text_atomic(staging / "summary.json", json.dumps(summary.to_dict(), indent=2))
            os.rename(staging, final)  # mkdir+rename: another process can never see half a run
        except FileExistsError:
            shutil.rmtree(staging, ignore_errors=True)
            if announced:
                # An id announced up front (run --detach) must be this run's, or nothing.
                raise RunStoreError(f"run {run_id} exists already", file=self.root) from None
            return self.create_run(cfg)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise RunStoreError(f"cannot create run ({exc.strerror or exc})",
                                file=final) from None
        return RunHandle(self, run_id)

    def _initial_summary(self, cfg: RunConfig, run_id: str) -> RunSummary:
        pid = os.getpid()
        return RunSummary(
            run_id=run_id,
            name=cfg.run.name,
            status="running",
            dataset=describe_dataset(cfg),
            model=Path(cfg.model.name).name if "/" in cfg.model.name else cfg.model.name,
            finetune=cfg.model.finetune,
            started=time.time(),
            epochs=cfg.train.epochs,
            pid=pid,
            pid_started=_process_start_time(pid),
            host=socket.gethostname(),
            heartbeat=time.time(),
            parent=cfg.run.parent,
            sweep=cfg.run.sweep,
            trial=cfg.run.trial,
            config_hash=config_hash(cfg),
            group=cfg.run.group,
        )

    def open_run(self, run_id: str) -> RunHandle:
        """A handle on an existing run (resume appends to it)."""
        if not (self.root / run_id / "summary.json").exists():
            raise RunStoreError(f"no run {run_id!r} here", file=self.root)
        return RunHandle(self, run_id)

    # -- reading ----------------------------------------------------------------------------
    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def read_summary(self, run_id: str) -> RunSummary:
        summary = read_summary_file(self.root / run_id)
        if summary is None:
            summary = RunSummary(run_id=run_id, status="interrupted",
                                 message="summary.json unreadable")
        elif summary.run_id != run_id:  # copied or renamed: the folder wins, as in the index
            summary = dataclasses.replace(summary, run_id=run_id)
        return with_live_status(summary, self.root / run_id)

    def list_runs(self) -> list[RunSummary]:
        """Every run, newest first, each checked against its folder through the runs index
        (core/runindex.py). Metric dicts hold their scalars only. At 100,000 runs this
        builds 100,000 objects: big listings use ``self.index`` (``update`` then ``query``,
        ``count``, ``iter_json``) instead."""
        if not self.root.is_dir():
            return []
        self.index.update(full=True)
        return self.index.query(RunFilter(), SortSpec())

    def newest_runs(self, limit: int) -> tuple[list[RunSummary], int]:
        """The newest ``limit`` runs without reading the others, and how many run folders
        there are: run ids start with their creation time, so folder names sort by age."""
        return self.index.newest(limit)

    def get(self, ref: str) -> RunSummary:
        """A run by id, unique id prefix, or name (the newest of that name).

        Fast at any scale: an id is its folder; a prefix is a range of the index's rows
        when no folder came or went since the index last listed them (else the folder
        names); a name is the index's name column after adding new folders, each candidate
        confirmed by reading its own summary; on a cold index only the folders whose name
        can hold that name are read (core/runresolve.py)."""
        ref = ref.rstrip("/").split("/")[-1]
        if ref and (self.root / ref / SUMMARY_NAME).is_file():
            return self.read_summary(ref)
        if not ref:
            raise RunStoreError(f"no run matches {ref!r}; `densexp runs` lists them",
                                file=self.root)
        if not self.root.is_dir():  # a mistyped --runs-dir: say so, not "no such run"
            raise RunStoreError(f"no run matches {ref!r}: this runs directory does not "
                                f"exist; allowed: {RUNS_DIR_SOURCES}", file=self.root)
        listing = None  # a cold index: the folders are listed once for prefix and name
        if self.index.names_current():  # every folder has its row: ask the index only
            prefixed = self.index.dirnames_where("dirname >= ? AND dirname < ?",
                                                 [ref, ref + "\U0010ffff"])
        else:
            listing = list_folders(self.root)
            prefixed = folders_starting_with(self.root, ref, listing)
        if len(prefixed) == 1 and (self.root / prefixed[0] / SUMMARY_NAME).is_file():
            return self.read_summary(prefixed[0])
        if len(prefixed) > 1:
            ids = ", ".join(prefixed[:3])
            raise RunStoreError(f"{ref!r} matches several runs ({ids}); give more of the id",
                                file=self.root)
        try:
            found = find_by_name(self.index, ref, self.read_summary, self.progress, listing)
        finally:
            if self.progress is not None:
                self.progress.finish()
        if found is not None:
            return found
        raise RunStoreError(f"no run matches {ref!r}; `densexp runs` lists them",
                            file=self.root)

    def runs_with(self, field: Literal["group", "sweep"], value: str) -> list[RunSummary]:
        """The runs whose ``run.<field>`` is exactly ``value``, oldest first: an indexed
        lookup whose rows are each checked against their folder, not a listing of every run
        (a group or a sweep is a handful of runs among up to 100,000)."""
        if not value or not self.root.is_dir():
            return []
        try:  # new folders get their rows (every one on a cold index); running ones re-read
            self.index.update(full=False, progress=self.progress)
        finally:
            if self.progress is not None:
                self.progress.finish()
        names = self.index.dirnames_where(f"t_{field} = ?", [value.lower()])
        found = [run for run in self.index.checked_runs(names) if getattr(run, field) == value]
        return sorted(found, key=lambda run: run.run_id)

    def sweep_counts(self) -> dict[str, int]:
        """Runs per sweep name (run.sweep), every summary checked first; no run objects."""
        if not self.root.is_dir():
            return {}
        self.index.update(full=True)
        return self.index.sweep_counts()

    def delete(self, run_id: str) -> None:
        summary = self.read_summary(run_id)
        if summary.status == "running":
            raise RunStoreError(f"run {run_id} is still running; cancel it first",
                                file=self.root)
        shutil.rmtree(self.root / run_id)

    def find_completed_by_hash(self, digest: str) -> RunSummary | None:
        """A finished run with the same canonical config (sweeps reuse its result)."""
        self.index.update(full=True)
        for run_id in self.index.dirnames_where("config_hash = ? AND t_status = 'completed'",
                                                [digest]):
            summary = self.read_summary(run_id)
            if summary.config_hash == digest and summary.status == "completed":
                return summary
        return None


def _summary_from_record(record: dict[str, Any], run_id: str) -> RunSummary:
    """An index record (already only RunSummary's fields) as a summary, cheaply."""
    try:
        summary = RunSummary(**record)
    except TypeError:  # an unreadable summary's stand-in, or a hand-edited odd one
        summary = RunSummary.from_dict({**record, "run_id": run_id})
    if summary.run_id != run_id:  # a folder copied under another name: the folder wins
        summary = dataclasses.replace(summary, run_id=run_id)
    return summary


def describe_dataset(cfg: RunConfig) -> str:
    if cfg.data.source in ("builtin", "keras"):
        return cfg.data.name
    return Path(cfg.data.path).name or cfg.data.source


def with_live_status(summary: RunSummary, run_dir: Path) -> RunSummary:
    """A 'running' run whose process is gone (or silent too long) is really 'interrupted'."""
    if summary.status != "running":
        return summary
    beat = heartbeat_time(run_dir) or summary.heartbeat or summary.started
    if summary.host == socket.gethostname():
        dead = not process_is_alive(summary.pid, summary.pid_started)
    else:
        dead = time.time() - beat > HEARTBEAT_STALE_SECONDS
    if dead:
        return dataclasses.replace(summary, status="interrupted", heartbeat=beat,
                                   message=summary.message or "the process stopped mid-run")
    return summary


def heartbeat_time(run_dir: Path) -> float | None:
    try:
        return (run_dir / "heartbeat").stat().st_mtime
    except OSError:
        return None


class RunHandle:
    """What a training process holds while it writes one run."""

    def __init__(self, store: RunStore, run_id: str):
        self.store = store
        self.run_id = run_id
        self.dir = store.run_dir(run_id)
        self.log_path = self.dir / "log.txt"
        self.events_path = self.dir / "events.jsonl"
        self.checkpoints_dir = self.dir / "checkpoints"
        self._events: EventWriter | None = None
        self._summary_lock = threading.Lock()
        self._beating = threading.Event()
        self._beat_thread: threading.Thread | None = None

    @property
    def events(self) -> EventWriter:
        if self._events is None:
            self._events = EventWriter(self.events_path)
        return self._events

    def summary(self) -> RunSummary:
        return load_summary_file(self.dir)

    def update_summary(self, **fields: Any) -> RunSummary:
        """Merge fields into summary.json atomically (temp file + rename)."""
        with self._summary_lock:
            summary = dataclasses.replace(self.summary(), **fields)
            write_text_atomic(self.dir / "summary.json", json.dumps(summary.to_dict(), indent=2))
            return summary

    def claim(self) -> None:
        """This process now owns the run (resume, detach): record pid and status running."""
        pid = os.getpid()
        self.update_summary(status="running", pid=pid, pid_started=_process_start_time(pid),
                            host=socket.gethostname(), heartbeat=time.time(), message="")

    def start_heartbeat(self) -> None:
        """Touch ``heartbeat`` every few seconds so other hosts can tell this run is alive."""
        self._beat()
        self._beating.set()
        self._beat_thread = threading.Thread(target=self._beat_loop, name="heartbeat",
                                             daemon=True)
        self._beat_thread.start()

    def _beat(self) -> None:
        try:
            (self.dir / "heartbeat").touch()
        except OSError:
            pass  # a full disk must not kill training; the run's status says the rest

    def _beat_loop(self) -> None:
        while self._beating.is_set():
            self._beat()
            time.sleep(HEARTBEAT_SECONDS)

    def release_reserve(self) -> None:
        """Give back the space kept for recording how the run ended."""
        (self.dir / RESERVE_NAME).unlink(missing_ok=True)

    def stop_heartbeat(self) -> None:
        self._beating.clear()

    def close(self) -> None:
        self.stop_heartbeat()
        if self._events is not None:
            self._events.close()
