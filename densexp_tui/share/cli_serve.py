"""The body of ``densexp serve``."""

from __future__ import annotations

import argparse

DEFAULT_PORT = 8000


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> \
        argparse.ArgumentParser:
    parser = sub.add_parser("serve", help="the same app in a browser (textual-serve)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: reach it over an SSH tunnel); "
                             "any other lets everyone who reaches the port drive the app")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default 8000")
    parser.add_argument("--public-url", metavar="URL", default=None,
                        help="the address browsers use, when it is not http://HOST:PORT "
                             "(a tunnel to another local port, a reverse proxy)")
    return parser


def serve_command(args: argparse.Namespace) -> int:
    from densexp_tui.core.runstore import resolve_runs_dir
    from densexp_tui.share.serve import plan_serve, serve

    runs_dir = resolve_runs_dir(args.runs_dir)
    plan = plan_serve(args.host, args.port, runs_dir, args.public_url)
    return serve(plan)
