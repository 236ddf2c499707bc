"""End-to-end fixtures: a local runtime on a free port, killed if a test leaves it running, and
headless Chromium from Debian's packages driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.cosmos_server import cosmos_app_settings
from tests.e2e.runtime import ROOT, Runtime, free_port

DOCS = ROOT / "docs"

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a machine with a closed network: no background calls home, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[str], Path]:
    """Where a browser test saves its screenshot: docs/ when UPDATE_SCREENSHOTS=1 (make
    screenshots), else the test's own folder, so a test run leaves the tree as it found it."""

    def path(name: str) -> Path:
        folder = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    return path


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    started = Runtime(tmp_path / "data", free_port())
    yield started
    if started.process is not None and started.process.poll() is None:
        started.stop(signal.SIGKILL)


@pytest.fixture(params=["sqlite", "cosmos"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A runtime's settings for each store; the local queue stays in the SQLite file either
    way."""
    if request.param == "sqlite":
        yield {}
        return
    database = "e2e-" + hashlib.sha256(bytes(tmp_path)).hexdigest()[:20]
    with cosmos_app_settings(database) as settings:
        yield settings


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
