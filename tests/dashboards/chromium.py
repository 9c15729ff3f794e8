"""Headless Chromium for the dashboard tests: load a page, collect console errors, screenshot.

Console messages are read from Chromium's own log (``--enable-logging=stderr``), where each
message the page logs appears as a ``CONSOLE`` line with its level; that needs no DevTools
client. Flags keep the browser offline and quiet (no sync, updates or background fetches).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--hide-scrollbars",
    "--window-size=1280,2400",
)
# e.g. '[...:INFO:CONSOLE:1] "Uncaught ReferenceError: x is not defined", source: file:///...'
# (older builds write CONSOLE(1)). The log does not say the level, so every console line counts:
# the dashboard has no scripts, so any console message at all is a fault.
_CONSOLE = re.compile(r"CONSOLE[:(]")
# Chromium makes its profile's Unix socket under $TMPDIR, and a socket's path holds at most 107
# bytes: under a deeply nested TMPDIR the browser would stop at once, so the profile (which is
# given as TMPDIR too) is made in /tmp instead.
_SOCKET_ROOM = 60


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class PageRun:
    console: tuple[str, ...]
    screenshot: Path


def open_page(page: Path, screenshot: Path) -> PageRun:
    """Load ``page`` once in a fresh profile, save a screenshot, return the console lines."""
    binary = chromium()
    assert binary is not None
    base = tempfile.gettempdir()
    with tempfile.TemporaryDirectory(dir=base if len(base) <= _SOCKET_ROOM else "/tmp") as profile:
        done = subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={screenshot}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "TMPDIR": profile},
            timeout=120,
            check=False,
        )
    lines = tuple(line for line in done.stderr.splitlines() if _CONSOLE.search(line))
    return PageRun(lines, screenshot)
