"""Debian's Chromium through Playwright for the portal's browser tests: one page in a fresh
context, recording what the browser logged, failed or fetched (any host but the portal's is
refused), and axe-core's serious or critical findings."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.api_support import Running
from shared_files import in_ci

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-artefacts" / "portal"


def _missing() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
    if not AXE.is_file():
        return f"axe-core is not installed at {AXE} (make test runs npm ci --prefix tests/web/axe)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


SOCKET_ROOM = 60
"""The longest TMPDIR left as it is: room for Chromium's own folder and socket names after it."""


def launched_browser() -> Iterator[object]:
    problem = _missing()
    if problem:
        if in_ci():
            pytest.fail(f"CI must run the portal's browser tests: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    # Chromium makes its profile's Unix socket under $TMPDIR, and a socket's path holds at most
    # 107 bytes: under a deeply nested TMPDIR the browser would close at once, so the driver
    # (which makes the profile) and the browser get a short TMPDIR in /tmp instead.
    base = tempfile.gettempdir()
    with (
        tempfile.TemporaryDirectory(dir=base if len(base) <= SOCKET_ROOM else "/tmp") as short,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("TMPDIR", short)
        with sync_playwright() as driver:
            launched = driver.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu"],
                env={**os.environ, "TMPDIR": short},
            )
            yield launched
            launched.close()


class Visit:
    """One page open in a fresh context: what the browser logged, failed or fetched."""

    def __init__(self, browser: object, site: Running) -> None:
        self.site = urlsplit(site.base_url)
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", self._failed)
        self.page.on(
            "response", lambda r: r.status >= 400 and self.failed.append(f"{r.url}: {r.status}")
        )
        self.context.route("**/*", self._only_here)

    def _failed(self, request: object) -> None:
        """A request that failed, except one the browser itself cancelled (``ERR_ABORTED``):
        the page was left, by a click or a form sent, before a script it asked for arrived,
        which a busy machine makes likely and which is no fault of the site. A refused or
        broken request fails otherwise (``ERR_CONNECTION_*``, or a status over 400 above), and
        a request to another host is refused and counted in ``outside``."""
        failure = request.failure  # type: ignore[attr-defined]
        if failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.url}: {failure}")  # type: ignore[attr-defined]

    def _only_here(self, route: object) -> None:
        url = urlsplit(route.request.url)  # type: ignore[attr-defined]
        if url.scheme in ("data", "blob") or url.netloc == self.site.netloc:
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.outside.append(route.request.url)  # type: ignore[attr-defined]
            route.abort()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.context.close()


def serious_findings(page: object) -> list[dict[str, object]]:
    """What axe-core finds serious or critical on ``page`` (WCAG 2.2 AA and best practice)."""
    page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    found = page.evaluate(  # type: ignore[attr-defined]
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',"
        " 'wcag21aa', 'wcag22aa', 'best-practice']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def shot(page: object, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)  # type: ignore[attr-defined]


def sign_in(page: object, site: Running, token: str) -> None:
    """Sign in on the portal's page with a personal token, as a person does."""
    page.goto(site.base_url + "/sign-in")  # type: ignore[attr-defined]
    page.get_by_label("Personal token").fill(token)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/my/projects")  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
