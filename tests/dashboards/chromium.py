"""Headless Chromium for the dashboard tests: load a page, collect console errors, screenshot,
and see which of its images the browser could draw.

Console messages are read from Chromium's own log (``--enable-logging=stderr``), where each
message the page logs appears as a ``CONSOLE`` line with its level; that needs no DevTools
client. Flags keep the browser offline and quiet (no sync, updates or background fetches).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SHOTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "dashboards"
"""Where the screenshots of whole pages are kept (docs/statistics.md shows two of them)."""

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
    screenshot.parent.mkdir(parents=True, exist_ok=True)
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


# Reported into the DOM once the page (and so every image) has loaded; the page itself has no
# scripts, so this goes only into a probe copy beside it.
_PROBE = (
    '<script>window.addEventListener("load", () => { document.body.dataset.images = '
    "JSON.stringify([...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])) })"
    "</script>"
)
_IMAGES = re.compile(r'data-images="([^"]*)"')


def drawn_images(page: Path) -> dict[str, int]:
    """Each image of ``page`` with the width Chromium decoded it at (0: it could not draw it),
    from a probe copy of the page beside it (so relative paths resolve the same way)."""
    binary = chromium()
    assert binary is not None
    probe = page.with_name(f".probe-{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", f"{_PROBE}</body>"))
    base = tempfile.gettempdir()
    try:
        with tempfile.TemporaryDirectory(dir=base if len(base) <= _SOCKET_ROOM else "/tmp") as p:
            done = subprocess.run(
                [binary, *FLAGS, f"--user-data-dir={p}", "--dump-dom", probe.resolve().as_uri()],
                capture_output=True,
                text=True,
                env={**os.environ, "TMPDIR": p},
                timeout=120,
                check=False,
            )
    finally:
        probe.unlink()
    found = _IMAGES.search(done.stdout)
    assert found, f"Chromium reported no images: {done.stderr[-500:]}"
    return {src: width for src, width in json.loads(html.unescape(found.group(1)))}
