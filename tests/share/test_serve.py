"""``densexp serve`` for real: the app through textual-serve, driven by chromium (runs screen,
a key that changes the screen, the report key handing the file over as a download, and a run
set up in the New experiment form, launched and watched live on its dashboard to the end).

The terminal in the page is drawn on a canvas (xterm.js), so the test reads what the
browser received over the app's websocket (the app's screen output) and looks at the
screenshot; it types a key in the page and sees the next screen arrive.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from densexp_tui.cli import main
from tests.share.fake_sweep import copy_runs, make_sweep

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: Callable[[], bool], timeout: float, page: Any | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s")
        if page is not None:
            page.wait_for_timeout(200)  # lets the page's event loop run
        else:
            time.sleep(0.2)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    runs = tmp_path / "runs"
    copy_runs(runs, 2)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "DENSEXP_CONFIG_DIR": str(tmp_path / "cfg")}
    proc = subprocess.Popen([sys.executable, "-m", "densexp_tui", "serve", "--port", str(port),
                             "--runs-dir", str(runs)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _wait(lambda: _accepts(port) or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield port, proc
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to the server's group (it and the app processes it started), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def test_served_app_shows_the_runs_and_answers_keys(served: tuple[int, Any], tmp_path: Path,
                                                    browser_page: Any) -> None:
    port, _ = served
    received: list[str] = []

    def on_socket(websocket: Any) -> None:
        websocket.on("framereceived", lambda payload: received.append(
            payload.decode("utf-8", "ignore") if isinstance(payload, bytes) else payload))

    browser_page.on("websocket", on_socket)
    browser_page.goto(f"http://127.0.0.1:{port}/")

    def screen_text() -> str:
        return ANSI.sub("", "".join(received))

    _wait(lambda: "copy-1" in screen_text() and "copy-0" in screen_text(), 120, browser_page)
    assert "completed" in screen_text()
    shots = Path(os.environ.get("DENSEXP_SHOT_DIR") or tmp_path)
    browser_page.screenshot(path=str(shots / "serve-runs.png"))
    before = len(received)
    browser_page.locator(".textual-terminal").click()
    browser_page.keyboard.type("?")  # the help screen
    _wait(lambda: "Mark or unmark the selected run" in ANSI.sub("", "".join(received[before:])),
          60, browser_page)
    browser_page.screenshot(path=str(shots / "serve-help.png"))
    back = len(received)
    browser_page.keyboard.press("Escape")  # back to the runs
    # Wait for the runs screen before the next key: ESC then x at once would read as alt+x.
    _wait(lambda: "copy-1" in ANSI.sub("", "".join(received[back:])), 60, browser_page)
    with browser_page.expect_download(timeout=150_000) as download_info:
        browser_page.keyboard.type("x")  # the selected run's report, as a download
    download = download_info.value
    assert download.suggested_filename == "20250102-000001-copy-0001.html"
    saved = tmp_path / "downloaded.html"
    download.save_as(str(saved))
    assert "Validation at the best epoch" in saved.read_text()
    hosts = {re.sub(r"^(\w+)://([^/]+).*$", r"\2", url) for url in browser_page.requests_seen}
    assert hosts == {f"127.0.0.1:{port}"}  # no CDN font: the page works offline


TINY_RUN = """\
[run]
name = "browser-iris"
seed = 1

[data]
source = "builtin"
name = "iris"

[model]
name = "mlp"
hidden_units = [8]

[train]
epochs = 3
batch_size = 16
learning_rate = 0.01
log_every_steps = 1

[device]
device = "cpu"
"""


@pytest.mark.timeout(420)
def test_a_run_launched_in_the_browser_is_watched_live_to_its_end(
        served: tuple[int, Any], tmp_path: Path, browser_page: Any) -> None:
    """n, load a TOML into the form (ctrl+o), ctrl+l: the dashboard streams the epochs in
    (TensorFlow starts in the app process textual-serve started) and says it completed."""
    port, _ = served
    toml = tmp_path / "tiny.toml"
    toml.write_text(TINY_RUN)
    received: list[str] = []
    browser_page.on("websocket", lambda websocket: websocket.on("framereceived", lambda data:
                    received.append(data.decode("utf-8", "ignore")
                                    if isinstance(data, bytes) else data)))

    def text_since(start: int) -> str:
        return ANSI.sub("", "".join(received[start:]))

    browser_page.goto(f"http://127.0.0.1:{port}/")
    _wait(lambda: "copy-1" in text_since(0), 120, browser_page)
    browser_page.locator(".textual-terminal").click()
    start = len(received)
    browser_page.keyboard.type("n")
    _wait(lambda: "4 Review" in text_since(start), 60, browser_page)
    start = len(received)
    browser_page.keyboard.press("Control+o")
    _wait(lambda: "path/to/file.toml" in text_since(start), 30, browser_page)
    browser_page.keyboard.type(str(toml))
    browser_page.keyboard.press("Enter")
    # The form now previews the TOML's dataset (the default one is the reviews).
    _wait(lambda: "150 rows · tabular · builtin:iris" in text_since(start), 60, browser_page)
    launched = len(received)
    browser_page.keyboard.press("Control+l")
    _wait(lambda: "browser-iris completed: best val accuracy" in text_since(launched), 300,
          browser_page)
    seen = text_since(launched)
    # The dashboard followed it live: drawn while running, from the first epoch to the last.
    assert "▶ running" in seen
    assert {"0", "3"} <= set(re.findall(r"Epoch (\d)/3", seen))
    _wait(lambda: "✓ completed" in text_since(launched), 30, browser_page)
    shots = Path(os.environ.get("DENSEXP_SHOT_DIR") or tmp_path)
    browser_page.screenshot(path=str(shots / "serve-live-run.png"))
    (run_dir,) = (tmp_path / "runs").glob("*-browser-iris-*")
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"


def _arrived(received: list[str], start: int, text: str) -> bool:
    return text in ANSI.sub("", "".join(received[start:]))


def test_the_other_screens_work_in_the_browser(served: tuple[int, Any], tmp_path: Path,
                                               browser_page: Any) -> None:
    """A run's dashboard (replay), Compare on two marked runs, and the Sweeps screen."""
    port, _ = served
    make_sweep(tmp_path / "runs", "lr-search", 4)
    received: list[str] = []
    browser_page.on("websocket", lambda websocket: websocket.on("framereceived", lambda data:
                    received.append(data.decode("utf-8", "ignore")
                                    if isinstance(data, bytes) else data)))
    browser_page.goto(f"http://127.0.0.1:{port}/")
    _wait(lambda: "copy-1" in ANSI.sub("", "".join(received)), 120, browser_page)
    browser_page.locator(".textual-terminal").click()
    shots = Path(os.environ.get("DENSEXP_SHOT_DIR") or tmp_path)
    # Each screen's own text, drawn from the run's or the study's data.
    for keys, shown, name in ((["Enter"], "Val confusion · epoch", "dashboard"),
                              (["Escape"], "copy-0", "runs"),
                              (["Space", "ArrowDown", "Space", "c"], "Comparing 2 runs",
                               "compare"),
                              (["Escape"], "copy-0", "runs"),
                              (["w"], "val.accuracy (maximize)", "sweeps")):
        start = len(received)
        for key in keys:  # one at a time: ESC then a key at once would read as alt+key
            browser_page.keyboard.press(key)
            browser_page.wait_for_timeout(300)
        _wait(functools.partial(_arrived, received, start, shown), 60, browser_page)
        browser_page.screenshot(path=str(shots / f"serve-{name}.png"))


def test_serve_banner_says_how_to_tunnel(served: tuple[int, Any]) -> None:
    port, proc = served
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode is not None
    assert f"http://127.0.0.1:{port}" in err
    assert f"ssh -L {port}:127.0.0.1:{port}" in err and "warning" not in err


def test_a_port_in_use_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"densexp: port {port} on 127.0.0.1 is in use; pick another with --port"


def test_another_host_prints_a_warning() -> None:
    from densexp_tui.share.serve import banner, plan_serve

    plan = plan_serve("0.0.0.0", _free_port(), Path("/tmp"))
    text = "\n".join(banner(plan))
    assert "warning" in text and "anyone who can reach port" in text
    assert "0.0.0.0" not in plan.public_url  # links in the page use this machine's name
