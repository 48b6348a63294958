"""``densexp serve``: the same app in a browser, through textual-serve.

textual-serve starts one app process per browser tab (``python -m densexp_tui --runs-dir
DIR``) and relays the terminal over a websocket. The server binds 127.0.0.1 unless told
otherwise: the app can start, cancel and delete runs, so whoever reaches the port drives it.
The port is checked before the server starts, so a busy one is one line and exit 2.
"""

from __future__ import annotations

import atexit
import errno
import shlex
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from densexp_tui.core.errors import BadInput

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
GOOGLE_FONTS_LINK = ('<link\n      rel="stylesheet"\n'
                     '      href="https://fonts.googleapis.com/css?family=Roboto%20Mono"\n    />')
# textual-serve ships Roboto Mono itself; using it keeps the page working with no internet.
LOCAL_FONT_STYLE = """<style>
      @font-face { font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf"); }
    </style>"""


@dataclass
class ServePlan:
    host: str
    port: int
    public_url: str
    command: str

    @property
    def is_local(self) -> bool:
        return self.host in LOCAL_HOSTS


def plan_serve(host: str, port: int, runs_dir: Path, public_url: str | None = None) -> ServePlan:
    """Check the address (BadInput for a bad host or a busy port) and build the app command."""
    if not 0 < port < 65536:
        raise BadInput(f"--port {port}: must be between 1 and 65535")
    check_port_free(host, port)
    command = " ".join(shlex.quote(part) for part in
                       (sys.executable, "-m", "densexp_tui", "--runs-dir", str(runs_dir)))
    return ServePlan(host=host, port=port, public_url=public_url or _public_url(host, port),
                     command=command)


def check_port_free(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BadInput(f"--host {host}: not an address of this machine ({exc.strerror})") \
            from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Same option as the server's (aiohttp sets SO_REUSEADDR): a port in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise BadInput(f"port {port} on {host} is in use; pick another with --port") \
                    from None
            raise BadInput(f"--host {host} --port {port}: cannot listen there "
                           f"({exc.strerror or exc})") from None


def _public_url(host: str, port: int) -> str:
    """The address the page's own links use; a wildcard bind gets this machine's name."""
    shown = socket.getfqdn() if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def banner(plan: ServePlan) -> list[str]:
    """What ``serve`` prints before serving: where to go, and a warning off localhost."""
    lines = [f"densexp: serving the app on {plan.public_url} (Ctrl-C stops it)"]
    if plan.is_local:
        lines.append(f"  from another machine: ssh -L {plan.port}:127.0.0.1:{plan.port} "
                     f"{socket.gethostname()}   then open http://127.0.0.1:{plan.port}")
    else:
        lines.append(f"  warning: bound to {plan.host}: anyone who can reach port {plan.port} "
                     "can drive this app (start, cancel and delete runs); there is no login")
    return lines


def _offline_templates() -> Path | None:
    """textual-serve's page without its Google Fonts link (None: use the packaged page)."""
    import textual_serve

    original = Path(textual_serve.__file__).parent / "templates" / "app_index.html"
    try:
        text = original.read_text(encoding="utf-8")
    except OSError:
        return None
    if GOOGLE_FONTS_LINK not in text:
        return None
    folder = Path(tempfile.mkdtemp(prefix="densexp-serve-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    (folder / "app_index.html").write_text(text.replace(GOOGLE_FONTS_LINK, LOCAL_FONT_STYLE),
                                           encoding="utf-8")
    return folder


def serve(plan: ServePlan) -> int:
    from textual_serve.server import Server

    templates = _offline_templates()
    extra = {"templates_path": templates} if templates is not None else {}
    server = Server(plan.command, host=plan.host, port=plan.port, title="densexp",
                    public_url=plan.public_url, **extra)
    for line in banner(plan):
        print(line, file=sys.stderr, flush=True)
    server.serve()
    return 0
