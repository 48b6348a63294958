"""Body of `densexp ensemble` (cli.py only registers the parser)."""

from __future__ import annotations

import argparse
from typing import Any

from densexp_tui.core.errors import BadInput


def add_parser(sub: Any, add_runs_dir: Any) -> None:
    ensemble = sub.add_parser(
        "ensemble", help="average several runs' test probabilities into a run of kind "
                         "ensemble, shown next to its best member")
    ensemble.add_argument("runs", nargs="*", metavar="RUN",
                          help="two or more runs (id, prefix or name) on one test split")
    ensemble.add_argument("--sweep", metavar="NAME",
                          help="take the members from this sweep's completed trials")
    ensemble.add_argument("--top", type=int, default=3, metavar="K",
                          help="with --sweep: the K trials with the best val F1 (default 3)")
    ensemble.add_argument("--name", default="", help="the ensemble run's name")
    ensemble.add_argument("--json", action="store_true")
    add_runs_dir(ensemble)
    ensemble.set_defaults(handler=cmd_ensemble)


def cmd_ensemble(args: argparse.Namespace) -> int:
    from densexp_tui.core.ensemble import (
        ensemble_lines,
        make_ensemble,
        to_json_text,
        top_trials,
    )
    from densexp_tui.core.runstore import RunStore

    store = RunStore(args.runs_dir)
    if args.sweep and args.runs:
        raise BadInput("give runs or --sweep NAME --top K, not both", key="ensemble")
    if not args.sweep and not args.runs:
        raise BadInput("no members; allowed: two or more runs, or --sweep NAME --top K",
                       key="ensemble")
    refs = top_trials(store, args.sweep, args.top) if args.sweep else list(args.runs)
    result = make_ensemble(store, refs, name=args.name)
    if args.json:
        print(to_json_text(result))
    else:
        print("\n".join(ensemble_lines(result)))
    return 0
