"""Bodies of `densexp evaluate`, `densexp compare`, `densexp show --errors` and
`densexp run --seeds` (cli.py only parses and calls these)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from densexp_tui.core.errors import BadInput

if TYPE_CHECKING:
    from densexp_tui.core.comparing import CompareReport
    from densexp_tui.core.config import RunConfig
    from densexp_tui.core.misclassified import ErrorRow
    from densexp_tui.core.runstore import RunStore


def add_parsers(sub: Any, add_runs_dir: Any) -> None:
    """The evaluate and compare subcommands (``sub`` is build_parser's subparsers)."""
    evaluate = sub.add_parser("evaluate", help="re-score a finished run's best checkpoint on "
                                               "its test split and write its predictions")
    evaluate.add_argument("run", metavar="RUN")
    evaluate.add_argument("--json", action="store_true")
    add_runs_dir(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)

    compare = sub.add_parser("compare", help="is B better than A? two runs (paired test) or "
                                             "two groups (seeds as samples)")
    compare.add_argument("a", metavar="A", help="run id/prefix/name, or a run.group")
    compare.add_argument("b", metavar="B")
    compare.add_argument("--metric", default="test.f1",
                         help="test.accuracy, test.f1 (default), test.precision, test.recall, "
                              "test.loss, test.ece, test.brier, test.roc_auc, test.pr_auc")
    compare.add_argument("--json", action="store_true")
    add_runs_dir(compare)
    compare.set_defaults(handler=cmd_compare)


def add_show_arguments(show: argparse.ArgumentParser) -> None:
    show.add_argument("--errors", action="store_true",
                      help="the misclassified test examples, most confidently wrong first")
    show.add_argument("--limit", type=int, default=20, metavar="N",
                      help="how many errors to print (default 20; 0 = all)")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from densexp_tui.core.runstore import RunStore
    from densexp_tui.engine.rescore import evaluate_run

    result = evaluate_run(args.run, RunStore(args.runs_dir))
    test = result.test
    if args.json:
        print(json.dumps({"run_id": result.run_id, "predictions": str(result.predictions),
                          "test": {k: v for k, v in test.items() if k != "report"}}, indent=2))
        return 0
    print(f"{result.run_id}: test accuracy {test['accuracy']:.3f}  F1 {test['f1']:.3f}  "
          f"ECE {_fmt(test.get('ece'))}  Brier {_fmt(test.get('brier'))}  "
          f"ROC-AUC {_fmt(test.get('roc_auc'))}  PR-AUC {_fmt(test.get('pr_auc'))}")
    print(f"predictions: {result.predictions}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from densexp_tui.cli_runs import cli_store
    from densexp_tui.core.comparing import compare

    report = compare(cli_store(args.runs_dir), args.a, args.b, args.metric)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    for line in compare_lines(report):
        print(line)
    return 0


def compare_lines(report: CompareReport) -> list[str]:
    """The comparison for people: both sides, the difference, the test, the verdict."""
    result = report.comparison
    low, high = result.ci95
    unit = "test examples (paired)" if report.a.kind == "run" else "seeds"
    return [
        f"A  {report.a.label}: {result.metric} = {_fmt(result.a)}",
        f"B  {report.b.label}: {result.metric} = {_fmt(result.b)}",
        (f"B - A = {_fmt(result.diff, signed=True)}, 95% CI [{_fmt(low, signed=True)}, "
         f"{_fmt(high, signed=True)}], p = {_fmt_p(result.p_value)}"),
        f"test: {result.test}; n = {result.n} {unit}",
        result.sentence,
    ]


def cmd_show_errors(args: argparse.Namespace) -> int:
    from densexp_tui.cli_runs import cli_store
    from densexp_tui.core.comparing import load_run_predictions
    from densexp_tui.core.misclassified import error_count, misclassified

    if args.limit < 0:
        raise BadInput(f"--limit {args.limit} is negative; allowed: 0 (all) or more",
                       key="--limit")
    store = cli_store(args.runs_dir)
    summary = store.get(args.run)
    preds = load_run_predictions(store, summary)
    rows = misclassified(preds, limit=args.limit or None)
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    total = error_count(preds)
    print(f"{summary.run_id}: {total} of {len(preds)} test examples misclassified"
          f"{f' (showing {len(rows)}, most confidently wrong first)' if rows else ''}")
    for row in rows:
        print(_error_line(row))
    return 0


def _error_line(row: ErrorRow) -> str:
    text = " ".join((row.text or "").split())
    if len(text) > 100:
        text = text[:99] + "…"
    where = f"row {row.row:>5}"
    return f"{where}  {row.confidence:6.1%}  true {row.true}  pred {row.pred}" + (
        f"  {text}" if text else "")


def _fmt_p(p_value: float | None) -> str:
    """Three significant digits: a bootstrap p at its floor, 1/1001, reads 0.000999 and
    agrees with the verdict's "p < 0.001" (four decimals rounded it up to 0.0010)."""
    return "n/a" if p_value is None else f"{p_value:.3g}"


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--seeds", metavar="1,2,3",
                     help="run the config once per seed, as one group (run.group)")


def cmd_run_seeds(cfg: RunConfig, store: RunStore, args: argparse.Namespace) -> int:
    """Each seed after the other, headless, then the group's test metrics."""
    from densexp_tui.cli import run_headless
    from densexp_tui.core.seeds import parse_seeds, seed_configs

    seeds = parse_seeds(args.seeds)
    if args.detach:
        raise BadInput("--seeds runs in the foreground; allowed: --seeds without --detach",
                       key="--detach")
    configs = seed_configs(cfg, seeds)
    codes = [run_headless(one, store, as_json=args.json) for one in configs]
    group = configs[0].run.group
    for line in group_lines(store, group):
        print(line, file=sys.stderr if args.json else sys.stdout)
    return 0 if all(code == 0 for code in codes) else 1


def group_lines(store: RunStore, group: str) -> list[str]:
    """``group NAME: N seeds, test F1 mean ± std ...`` for the finished seeds."""
    from densexp_tui.core.seeds import mean_and_std

    members = [run for run in store.runs_with("group", group) if run.status == "completed"]
    parts = []
    for key in ("accuracy", "f1"):
        values = [float(run.test[key]) for run in members if run.test.get(key) is not None]
        if values:
            mean, std = mean_and_std(values)
            parts.append(f"test {key} {mean:.4f} ± {std:.4f}")
    return [f"group {group}: {len(members)} finished seed(s); " + ("; ".join(parts) or
            "no test metrics"),
            f"compare it with another group: densexp compare {group} OTHER_GROUP"]
