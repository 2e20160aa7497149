"""Headless Chromium for the page tests: Debian's ``chromium``, started on a free port and
driven with Playwright over the DevTools protocol (no browser download).

``.ci/run`` installs ``chromium`` with apt-get and axe-core from the npm registry; the
tests skip with the reason when either is missing on a developer's machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
#: Where axe-core's browser script lies (``.ci/run`` installs it there).
AXE_DEFAULT = REPO / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
#: Screenshots and PDFs the browser tests keep.
ARTIFACTS = Path(os.environ.get("AARSHJUL_TEST_ARTIFACTS", REPO / "tests" / "artifacts"))
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def _missing(reason: str) -> None:
    """Skip on a developer's machine; in CI (``CI`` set, as ``.ci/run`` does) a missing
    browser is a failed install step, not a reason to pass."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must install it")
    pytest.skip(reason)


def chromium_path() -> str:
    found = os.environ.get("AARSHJUL_CHROMIUM") or shutil.which("chromium")
    if not found:
        _missing("Debian's chromium is not installed (.ci/run installs it with apt-get)")
    assert found is not None
    return found


def axe_script() -> str:
    path = Path(os.environ.get("AARSHJUL_AXE_JS", AXE_DEFAULT))
    if not path.is_file():
        _missing(f"axe-core is not installed at {path} (.ci/run installs it with npm)")
    return path.read_text(encoding="utf-8")


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A Playwright ``Browser`` connected to a Chromium process of its own."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    binary = chromium_path()
    # Chromium's helper processes may still write to the profile for a moment after the
    # browser itself exits; a leftover file in a temporary folder is not a test failure.
    with tempfile.TemporaryDirectory(
        prefix="aarshjul-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = await asyncio.create_subprocess_exec(
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group, so the teardown stops its helper processes too.
            start_new_session=True,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            for _ in range(300):
                if port_file.is_file() and port_file.read_text().strip():
                    break
                if process.returncode is not None:
                    pytest.fail(f"chromium exited with {process.returncode} before it listened")
                await asyncio.sleep(0.05)
            else:
                pytest.fail("chromium did not open its DevTools port within 15 s")
            port = int(port_file.read_text().splitlines()[0])
            async with async_playwright() as p:
                browser = await p.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
                try:
                    yield browser
                finally:
                    await browser.close()
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()
