"""A real headless chromium (Debian's, never a downloaded one) driven by Playwright.

When /usr/bin/chromium is missing the fixture installs it with apt-get (as the PostgreSQL
tests install their server). Under CI (env CI set) a browser that cannot be had fails the
test loudly instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.session_once import session_lock

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _install_chromium() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600,
                   check=False)
    subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env,
                   capture_output=True, timeout=1200, check=False)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs a real browser: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with session_lock(tmp_path_factory, "apt"):  # one apt-get at a time across workers
        if not CHROMIUM.exists():
            _install_chromium()
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found and apt-get could not install it")
    return CHROMIUM


@pytest.fixture()
def browser_page(chromium_path: Path) -> Iterator[Any]:
    """A fresh page in a fresh profile; ``page.requests_seen`` lists every URL it asked for."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - it is a test dependency
        _unavailable(f"playwright is not installed ({exc})")
    profile = tempfile.mkdtemp(prefix="densexp-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=str(chromium_path), headless=True,
                args=CHROMIUM_ARGS, viewport={"width": 1200, "height": 900},
                accept_downloads=True)
            page = context.pages[0] if context.pages else context.new_page()
            seen: list[str] = []
            page.on("request", lambda request: seen.append(request.url))
            page.requests_seen = seen
            try:
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
