"""``densexp config path | init | check``: where the user config is, a commented one, and
whether the one there is usable (unknown settings, bad keys, keymap ids no binding has).

Top level (like cli.py), not in share/: `check` asks the TUI which binding ids exist."""

from __future__ import annotations

import argparse
import os
import sys


def add_config_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> \
        argparse.ArgumentParser:
    parser = sub.add_parser("config", help="the user config: theme, runs dir, notifications, "
                                           "keymap")
    parser.add_argument("action", choices=("path", "init", "check"),
                        help="path: print where it is; init: write a commented one (never "
                             "overwrites); check: validate it (exit 2 when it is unusable)")
    return parser


def config_command(args: argparse.Namespace) -> int:
    from densexp_tui.core.userconfig import load_user_config, user_config_path, write_template

    if args.action == "path":
        print(user_config_path())
        return 0
    if args.action == "init":
        path = write_template()
        print(f"wrote {path}; every setting in it is commented out or a default",
              file=sys.stderr)
        return 0
    config = load_user_config()  # BadInput: one line, exit 2
    from densexp_tui.core.userconfig import check_keymap_ids
    from densexp_tui.tui.keymap import known_binding_ids  # Textual, but no TensorFlow

    problems = check_keymap_ids(config, known_binding_ids())
    if problems:
        print(f"densexp: {problems[0]}", file=sys.stderr)
        return 2
    where = "exists" if config.path and config.path.is_file() else "does not exist (defaults)"
    print(f"{config.path}: {where}; ok", file=sys.stderr)
    return 0


def user_runs_dir() -> str | None:
    """The user config's runs_dir when neither --runs-dir nor $DENSEXP_RUNS_DIR is given;
    a broken config is ignored here (the app says why, ``config check`` too)."""
    from densexp_tui.core.runstore import RUNS_DIR_ENV
    from densexp_tui.core.userconfig import UserConfigError, load_user_config

    if os.environ.get(RUNS_DIR_ENV):
        return None
    try:
        runs_dir = load_user_config().runs_dir
    except UserConfigError:
        return None
    return os.path.expanduser(runs_dir) if runs_dir else None
