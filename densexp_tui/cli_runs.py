"""`densexp runs`: the newest runs (or all), filtered and sorted like the runs screen.

Without a filter, a sort key or ``--all`` only the newest ``--limit`` summaries are read
(run ids sort by creation time), so the answer takes the same time at 10 or 100,000 runs.
Anything else checks every summary against its folder through the runs index
(core/runindex.py), then filters and sorts in SQL; ``--json`` streams the index's stored JSON
text of each run, one per line of a JSON array, without building the runs as objects.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

from densexp_tui.core.errors import BadInput
from densexp_tui.core.rungroups import GroupSummary, fold_groups
from densexp_tui.core.runquery import SORT_KEYS, parse_filter, parse_sort
from densexp_tui.core.runstore import RunStore, RunSummary

DEFAULT_LIMIT = 50
# Reading this many summaries takes a few seconds: say so while it goes.
MANY_READS = 5000


def add_runs_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `densexp runs` (besides --json and --runs-dir)."""
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                        help=f"show the newest N runs (default {DEFAULT_LIMIT})")
    amount.add_argument("--all", action="store_true", help="show every run")
    parser.add_argument("--filter", default="", metavar="WORDS",
                        help='the runs screen\'s filter: words, field:value, acc>0.8, '
                             '-word; e.g. "status:completed model:tiny-bert"')
    parser.add_argument("--sort", default="started", metavar="KEY",
                        help=f"order (best first; KEY:asc or KEY:desc): {', '.join(SORT_KEYS)}")
    parser.add_argument("--groups", action="store_true",
                        help="fold each seed group into one row: mean ± std over its seeds")


def runs_command(args: argparse.Namespace) -> int:
    store = RunStore(args.runs_dir)
    if args.limit is not None and args.limit < 1 and not args.all:
        raise BadInput(f"--limit {args.limit}: allowed: a whole number >= 1, or --all")
    run_filter = parse_filter(args.filter)
    sort = parse_sort(args.sort)
    limit = None if args.all else args.limit
    if run_filter.empty and sort.key == "started" and sort.descending and limit is not None \
            and not args.groups:
        runs, total = store.newest_runs(limit)
    else:
        # Every summary checked against its folder first (a cold index reads them all).
        store.index.update(full=True, progress=IndexProgress(sys.stderr))
        total = store.index.count()
        if args.json and not args.groups:
            write_json_texts(store.index.iter_json(run_filter, sort, limit), sys.stdout)
            return 0
        runs = store.index.query(run_filter, sort, None if args.groups else limit)
    rows: Sequence[RunSummary | GroupSummary] = fold_groups(runs) if args.groups else runs
    shown = rows if limit is None else rows[:limit]
    if args.json:
        write_json_rows(shown, sys.stdout)
        return 0
    if not shown:
        _say_none(store, total, args.filter)
        return 0
    _print_table(shown)
    if len(shown) < total:
        print(f"{len(shown)} of {total} runs shown (--all for every run, --filter to narrow)",
              file=sys.stderr)
    return 0


class IndexProgress:
    """What stderr says while the index reads many summaries (a first use, an index
    deleted, a runs dir copied in), so ``densexp runs --all`` or a name looked up on a
    cold index does not look hung: a line rewritten in place on a terminal, one line
    otherwise; nothing for a few reads."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()
        self._said = False
        self._line_open = False  # a terminal line not ended yet

    def __call__(self, read: int, to_read: int) -> None:
        if to_read < MANY_READS:
            return
        if self.live:
            self._line_open = read < to_read
            end = "" if self._line_open else "\n"
            self.out.write(f"\rindexing runs: {read:,} of {to_read:,} summaries read{end}")
        elif not self._said:
            self.out.write(f"indexing runs: reading {to_read:,} summaries…\n")
        self._said = True
        self.out.flush()

    def finish(self) -> None:
        """A lookup that stopped before reading all it planned ends the line it left."""
        if self._line_open:
            self.out.write("\n")
            self.out.flush()
            self._line_open = False


def cli_store(runs_dir: str | None) -> RunStore:
    """The runs dir of a command that resolves runs: a long lookup says how far it is."""
    return RunStore(runs_dir, progress=IndexProgress(sys.stderr))


def write_json_rows(rows: Iterable[RunSummary | GroupSummary], out: TextIO) -> None:
    """A JSON array, one run (or group) per line, written as it goes."""
    out.write("[")
    first = True
    for row in rows:
        out.write("\n" if first else ",\n")
        out.write(json.dumps(row.to_dict(), separators=(",", ":")))
        first = False
    out.write("\n]\n" if not first else "]\n")
    out.flush()


def write_json_texts(texts: Iterable[str], out: TextIO) -> None:
    """A JSON array of runs already encoded (the index's stored rows), written as it goes."""
    out.write("[")
    first = True
    for text in texts:
        out.write("\n" if first else ",\n")
        out.write(text)
        first = False
    out.write("\n]\n" if not first else "]\n")
    out.flush()


def _say_none(store: RunStore, total: int, filter_text: str) -> None:
    if total and filter_text:
        print(f"no run of {total} matches the filter {filter_text!r}", file=sys.stderr)
    else:
        missing = "" if store.root.is_dir() else " (no such folder yet)"
        print(f"no runs in {store.root}{missing}; start one with `densexp run "
              "examples/quickstart.toml`", file=sys.stderr)


def _print_table(rows: Sequence[RunSummary | GroupSummary]) -> None:
    from densexp_tui import report
    from densexp_tui.cli import _console

    console = _console()
    runs = [row for row in rows if isinstance(row, RunSummary)]
    if len(runs) == len(rows):
        console.print(report.runs_table(runs, width=console.width))
        return
    console.print(_mixed_table(rows))


def _mixed_table(rows: Sequence[RunSummary | GroupSummary]) -> object:
    """Runs and folded groups: groups show n seeds and mean ± std."""
    from rich.table import Table
    from rich.text import Text

    from densexp_tui.report import fmt_metric, status_text

    table = Table(header_style="bold", box=None, pad_edge=False)
    for name in ("id / group", "name", "status", "seeds", "val acc", "val F1", "test acc",
                 "dataset", "model"):
        table.add_column(name, no_wrap=True)
    for row in rows:
        cells: list[str | Text]
        if isinstance(row, GroupSummary):
            cells = [row.group, row.name, status_text(row.status), str(row.size),
                     *(_stats(row, m) for m in ("best.accuracy", "best.f1", "test.accuracy")),
                     row.dataset, row.model]
        else:
            cells = [row.run_id, row.name, status_text(row.status), "",
                     fmt_metric(row.best.get("accuracy")), fmt_metric(row.best.get("f1")),
                     fmt_metric(row.test.get("accuracy")), row.dataset, row.model]
        table.add_row(*cells)
    return table


def _stats(group: GroupSummary, metric: str) -> str:
    stats = group.metrics.get(metric)
    return stats.format() if stats else "-"
