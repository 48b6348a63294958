"""The body of ``densexp report``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> \
        argparse.ArgumentParser:
    report = sub.add_parser("report", help="write one self-contained HTML (or Markdown) report "
                                           "of runs, groups or sweeps")
    report.add_argument("refs", nargs="+", metavar="RUN|GROUP|SWEEP",
                        help="run ids (or unique prefixes, or names), run groups, sweep names")
    report.add_argument("--out", required=True, type=Path, metavar="FILE.html|FILE.md",
                        help="HTML: one file, figures inline; Markdown: figures in FILE_files/")
    return report


def report_command(args: argparse.Namespace) -> int:
    # Imported here: building the parser must not cost every other command the import.
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.share.report_writer import write_report

    store = RunStore(args.runs_dir)
    written = write_report(store, list(args.refs), args.out)
    extra = f" (figures in {written.figures_dir})" if written.figures_dir else ""
    print(f"wrote {written.path}{extra}: {written.runs} run(s), {written.sweeps} sweep(s), "
          f"{written.size_bytes / 1024:.0f} KiB in {written.seconds:.1f} s", file=sys.stderr)
    return 0
