"""The ``densexp`` command: parses arguments and calls core/engine; rendering is in report.py.

Exit codes: 0 success, 1 the run failed (failed, diverged, cancelled), 2 bad input (one line
on stderr, no traceback, no run directory). Machine output (``--json``) goes to stdout,
diagnostics to stderr. TensorFlow is imported only by ``run`` and ``export`` (inside the
engine), so ``runs``, ``show``, ``datasets`` and ``models`` answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from densexp_tui import __version__, cli_ensemble, cli_evaluation
from densexp_tui.core.errors import EXIT_INTERRUPTED, BadInput

Handler = Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------------------------------
# Parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densexp",
        description="A terminal workbench for training text and tabular classifiers. "
                    "With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"densexp {__version__}")
    parser.add_argument("--launch", metavar="CONFIG", type=Path,
                        help="open the app and start training CONFIG.toml")
    _add_runs_dir(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="train a run config headless, with progress")
    run.add_argument("config", type=Path, metavar="CONFIG.toml")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config key, e.g. --set train.learning_rate=3e-5")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--notify", action="store_true",
                     help="ring the bell and send a desktop notification when the run ends")
    run.add_argument("--detach", action="store_true",
                     help="start in the background and return (follow it in the app)")
    # The id a detached parent announced before its child started (not for people).
    run.add_argument("--run-id", default=None, help=argparse.SUPPRESS)
    cli_evaluation.add_run_arguments(run)  # --seeds
    _add_runs_dir(run)
    run.set_defaults(handler=cmd_run)

    runs = sub.add_parser("runs", help="list runs, newest first")
    runs.add_argument("--json", action="store_true")
    from densexp_tui.cli_runs import add_runs_arguments

    add_runs_arguments(runs)
    _add_runs_dir(runs)
    runs.set_defaults(handler=cmd_runs)

    show = sub.add_parser("show", help="one run: summary, epochs, test metrics, config")
    show.add_argument("run", metavar="RUN", help="run id, unique id prefix, or name")
    show.add_argument("--json", action="store_true")
    cli_evaluation.add_show_arguments(show)
    _add_runs_dir(show)
    show.set_defaults(handler=cmd_show)

    for name, handler, text in (("datasets", cmd_datasets, "datasets the catalog finds"),
                                ("models", cmd_models, "models the catalog finds")):
        catalog = sub.add_parser(name, help=text)
        catalog.add_argument("--json", action="store_true")
        catalog.set_defaults(handler=handler)

    export = sub.add_parser("export", help="write a run's model as a Hugging Face folder")
    export.add_argument("run", metavar="RUN")
    export.add_argument("--merged", required=True, type=Path, metavar="DIR",
                        help="output folder (LoRA adapters merged into the weights)")
    export.add_argument("--checkpoint", choices=("best", "last"), default="best")
    export.add_argument("--overwrite", action="store_true", help="allow a non-empty DIR")
    _add_runs_dir(export)
    export.set_defaults(handler=cmd_export)

    replay = sub.add_parser("replay", help="open the app replaying a past run")
    replay.add_argument("run", metavar="RUN")
    _add_runs_dir(replay)
    replay.set_defaults(handler=cmd_replay)

    resume = sub.add_parser("resume", help="continue an interrupted or cancelled run")
    resume.add_argument("run", metavar="RUN")
    _add_runs_dir(resume)
    resume.set_defaults(handler=cmd_resume)

    sweep = sub.add_parser("sweep", help="run or join a hyperparameter study")
    sweep.add_argument("config", type=Path, metavar="SWEEP.toml")
    sweep.add_argument("--storage", metavar="URL",
                       help="Optuna storage shared by several machines (e.g. postgresql://...)")
    sweep.add_argument("--n-trials", type=int, metavar="N",
                       help="finished trials the study aims for (overrides [sweep] n_trials)")
    sweep.add_argument("--json", action="store_true")
    sweep.add_argument("--workers", type=int, metavar="N",
                       help="start N local worker processes on the study")
    sweep.add_argument("--gpus", metavar="0,1,2,3",
                       help="one worker per GPU, each seeing only its own GPU")
    # A --workers/--gpus worker: its parent checked the sweep's devices (not for people).
    sweep.add_argument("--devices-checked", action="store_true", help=argparse.SUPPRESS)
    _add_runs_dir(sweep)
    sweep.set_defaults(handler=cmd_sweep)
    cli_evaluation.add_parsers(sub, _add_runs_dir)  # evaluate, compare

    from densexp_tui.share.cli_report import add_report_parser

    report_parser = add_report_parser(sub)
    _add_runs_dir(report_parser)
    report_parser.set_defaults(handler=cmd_report)

    from densexp_tui.share.cli_serve import add_serve_parser

    serve_parser = add_serve_parser(sub)
    _add_runs_dir(serve_parser)
    serve_parser.set_defaults(handler=cmd_serve)

    from densexp_tui.cli_config import add_config_parser

    add_config_parser(sub).set_defaults(handler=cmd_config)
    cli_ensemble.add_parser(sub, _add_runs_dir)
    return parser


def _add_runs_dir(parser: argparse.ArgumentParser, top_level: bool = False) -> None:
    # SUPPRESS on subcommands: otherwise a subparser's default would overwrite a
    # --runs-dir given before the command (an argparse quirk).
    parser.add_argument("--runs-dir", metavar="DIR",
                        default=None if top_level else argparse.SUPPRESS,
                        help="runs directory (default: $DENSEXP_RUNS_DIR, else ./runs)")


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _default_runs_dir_from_user_config(args)
        if args.command is None:
            return open_app(args)
        return args.handler(args)
    except BadInput as err:
        print(f"densexp: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C before a command's own handler is in place (imports take a second or
        # more), or a second Ctrl-C the command lets through: one line, never a traceback.
        print("densexp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# ---------------------------------------------------------------------------------------
# run


def cmd_run(args: argparse.Namespace) -> int:
    from densexp_tui.core.config import apply_overrides, load_config
    from densexp_tui.core.runstore import RunStore

    cfg = apply_overrides(load_config(args.config), args.set)
    store = RunStore(args.runs_dir)
    if getattr(args, "seeds", None) is not None:
        return cli_evaluation.cmd_run_seeds(cfg, store, args)
    if args.detach:
        from densexp_tui.engine.detach import run_detached

        return run_detached(cfg, store, args)
    run_id = getattr(args, "run_id", None)
    return run_headless(cfg, store, as_json=args.json, run_id=run_id,
                        notify=getattr(args, "notify", False))


def run_headless(cfg: Any, store: Any, as_json: bool = False, run_id: str | None = None,
                 notify: bool = False) -> int:
    """Train in this process: live progress on the terminal, library output in log.txt."""
    from densexp_tui.engine.trainer import train

    return _train_with_progress(
        lambda cancel, on_event: train(cfg, store, cancel=cancel, on_event=on_event,
                                       run_id=run_id),
        as_json, notify=notify, name=cfg.run.name)


def _train_with_progress(start: Callable[[threading.Event, Any], Any], as_json: bool,
                         notify: bool = False, name: str = "") -> int:
    """Run ``start(cancel, on_event)`` with rich progress (or quiet for --json), Ctrl-C
    cancelling, and the result printed; the exit code says how the run ended."""
    from densexp_tui import report

    cancel = threading.Event()
    console = _console(sys.stderr if as_json else sys.stdout)
    with _ctrl_c_cancels(cancel, console):
        if as_json:
            result = start(cancel, None)
        else:
            with report.RunProgress(console) as progress:
                result = start(cancel, progress.on_event)
    if as_json:
        print(json.dumps(report.to_jsonable(result), indent=2))
    else:
        log = result.run_dir / "log.txt" if result.run_dir else None
        for line in report.result_lines(result, log_hint=log):
            console.print(line)
    if notify:
        from densexp_tui.share.notify import end_message, notify_terminal

        notify_terminal(*end_message("run", name or str(result.run_id), str(result.status)))
    return 0 if result.status == "completed" else 1


@contextlib.contextmanager
def _ctrl_c_cancels(cancel: threading.Event, console: Any) -> Iterator[None]:
    """First Ctrl-C cancels the run cleanly (it stops at the next batch); a second one
    quits at once. Only the main thread may install signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        console.print("[yellow]cancelling at the next batch… (Ctrl-C again to quit now)")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------------------------------
# runs, show


def _console(file: Any = None) -> Any:
    """A rich console on ``file`` (stdout); for a file or pipe, wide enough that lines
    never wrap and tables never squash to '…'."""
    from rich.console import Console

    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console = Console(file=file, highlight=False, width=200)
    return console


def cmd_runs(args: argparse.Namespace) -> int:
    from densexp_tui.cli_runs import runs_command

    return runs_command(args)


def cmd_show(args: argparse.Namespace) -> int:
    from densexp_tui import report
    from densexp_tui.cli_runs import cli_store
    from densexp_tui.core.events import read_events
    from densexp_tui.core.tokens import run_padding_efficiency
    from densexp_tui.core.tomlfile import toml_tables_or_empty

    if args.errors:
        return cli_evaluation.cmd_show_errors(args)
    store = cli_store(args.runs_dir)
    summary = store.get(args.run)
    run_dir = store.run_dir(summary.run_id)
    log = read_events(run_dir / "events.jsonl")
    epochs = [e.data for e in log.events if e.kind == "epoch"]
    tests = [e.data for e in log.events if e.kind == "test"]
    test = tests[-1] if tests else None
    config_path = run_dir / "config.toml"
    config_text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    if args.json:
        print(json.dumps({"summary": summary.to_dict(),
                          "trainable_fraction": summary.trainable_fraction,
                          "padding_efficiency": run_padding_efficiency(epochs),
                          "config": toml_tables_or_empty(config_text),
                          "epochs": epochs, "test": test, "skipped_lines": log.skipped},
                         indent=2))
        return 0
    console = _console()
    for part in report.run_detail(summary, config_text, epochs, test):
        console.print(part)
    return 0



# ---------------------------------------------------------------------------------------
# datasets, models


def cmd_datasets(args: argparse.Namespace) -> int:
    from densexp_tui import report
    from densexp_tui.core.catalog import list_datasets

    datasets = list_datasets()
    if args.json:
        print(json.dumps(report.to_jsonable(datasets), indent=2))
    else:
        _console().print(report.datasets_table(datasets))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from densexp_tui import report
    from densexp_tui.core import catalog

    models = catalog.list_models()
    if args.json:
        print(json.dumps(report.to_jsonable(models), indent=2))
    else:
        _console().print(report.models_table(models))
    return 0


# ---------------------------------------------------------------------------------------
# export


def cmd_export(args: argparse.Namespace) -> int:
    from densexp_tui.cli_runs import cli_store
    from densexp_tui.engine.logcapture import capture_library_output

    store = cli_store(args.runs_dir)
    summary = store.get(args.run)
    run_dir = store.run_dir(summary.run_id)
    # TensorFlow and transformers print while they load: into the run's log, not the screen.
    with capture_library_output(run_dir / "log.txt"):
        from densexp_tui.engine.export import export_merged

        out = export_merged(run_dir, args.merged, checkpoint=args.checkpoint,
                            overwrite=args.overwrite)
    print(f"exported {summary.run_id} to {out}")
    return 0


# ---------------------------------------------------------------------------------------
# The app, resume, sweeps


def open_app(args: argparse.Namespace, replay: str | None = None) -> int:
    """The TUI (home: runs), optionally launching a config or replaying a run."""
    from densexp_tui.tui.app import run_app  # no TensorFlow: the app paints first

    # run_app keeps library output off the screen itself (logcapture.redirect_fd2_for_process).
    return int(run_app(runs_dir=args.runs_dir, launch=args.launch, replay=replay) or 0)


def cmd_replay(args: argparse.Namespace) -> int:
    from densexp_tui.cli_runs import cli_store

    args.launch = None
    # Resolved here, where a long lookup may say how far it is on stderr (not in the app).
    return open_app(args, replay=cli_store(args.runs_dir).get(args.run).run_id)


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue an interrupted or cancelled run in place, with the same progress as run."""
    from densexp_tui.cli_runs import cli_store
    from densexp_tui.engine.resume import plan_resume, resume

    store = cli_store(args.runs_dir)
    plan = plan_resume(args.run, store)  # bad input: one line, exit 2, nothing touched
    return _train_with_progress(
        lambda cancel, on_event: resume(plan.run_id, store, cancel=cancel, on_event=on_event,
                                        plan=plan),
        as_json=False)


def cmd_sweep(args: argparse.Namespace) -> int:
    from densexp_tui.sweep.cli import sweep_command
    from densexp_tui.sweep.cli_workers import wants_workers, workers_command

    if wants_workers(args):
        return workers_command(args)
    return int(sweep_command(args))


def cmd_report(args: argparse.Namespace) -> int:
    from densexp_tui.share.cli_report import report_command

    return report_command(args)


def _default_runs_dir_from_user_config(args: argparse.Namespace) -> None:
    if getattr(args, "runs_dir", None) is None:
        from densexp_tui.cli_config import user_runs_dir

        args.runs_dir = user_runs_dir()


def cmd_config(args: argparse.Namespace) -> int:
    from densexp_tui.cli_config import config_command

    return config_command(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from densexp_tui.share.cli_serve import serve_command

    return serve_command(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
