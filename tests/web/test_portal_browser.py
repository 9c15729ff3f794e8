"""The portal in a real browser: Debian's Chromium driven by Playwright (never a downloaded
browser). Every public page loads with no console error, no failed request and no request to
any host but the portal's own; axe-core finds no serious or critical accessibility fault; and a
screenshot of each is kept under test-artefacts/portal/. Then the public journey by clicking.

Without Chromium (or Playwright) the tests are skipped and say why, except in CI (CI=true),
where a missing browser must fail rather than pass quietly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from portal_pages import PAGES
from portal_support import Portal

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


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    problem = _missing()
    if problem:
        if in_ci():
            pytest.fail(f"CI must run the portal's browser tests: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
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
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        self.page.on(
            "response", lambda r: r.status >= 400 and self.failed.append(f"{r.url}: {r.status}")
        )
        self.context.route("**/*", self._only_here)

    def _only_here(self, route: object) -> None:
        url = urlsplit(route.request.url)  # type: ignore[attr-defined]
        if url.scheme in ("data", "blob") or url.netloc == self.site.netloc:
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.outside.append(route.request.url)  # type: ignore[attr-defined]
            route.abort()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.context.close()


def _name(path: str) -> str:
    return path.strip("/").replace("/", "-") or "home"


@pytest.mark.parametrize("path", PAGES)
def test_every_public_page_in_chromium(browser: object, site: Running, path: str) -> None:
    visit = Visit(browser, site)
    try:
        visit.page.goto(site.base_url + path, wait_until="networkidle")
        assert visit.page.locator("h1").count() == 1
        visit.page.add_script_tag(path=str(AXE))
        found = visit.page.evaluate(
            "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',"
            " 'wcag21aa', 'wcag22aa', 'best-practice']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"
        )
        serious = [v for v in found if v["impact"] in ("serious", "critical")]
        SHOTS.mkdir(parents=True, exist_ok=True)
        visit.page.screenshot(path=str(SHOTS / f"{_name(path)}.png"), full_page=True)
        assert visit.errors == [] and visit.failed == [] and visit.outside == []
        assert serious == [], serious
    finally:
        visit.close()


def test_the_pages_work_without_javascript(browser: object, site: Running) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(site.base_url + "/projects")
        page.get_by_role("link", name="Asthma admissions after heatwaves").click()
        assert page.locator("h1").inner_text() == "Asthma admissions after heatwaves"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    finally:
        context.close()


def test_the_public_journey_by_clicking(browser: object, site: Running, portal: Portal) -> None:
    """A visitor clicks from the home page to the project, sees its job and release, and
    follows the release's link to the ledger's steps for that very entry."""
    visit = Visit(browser, site)
    try:
        page = visit.page
        page.goto(site.base_url + "/")
        page.get_by_role("link", name="Projects", exact=True).first.click()
        page.get_by_role("link", name="Asthma admissions after heatwaves").click()
        assert page.get_by_text(portal.job_id).count() >= 1
        assert page.get_by_text("Signature verifies").count() == 1
        page.locator("a", has_text="Check its ledger entry").click()
        page.wait_for_load_state("networkidle")
        assert "/ledger?entry=" in page.url
        assert page.get_by_text("a release entry").count() == 1
        steps = page.locator("pre.portal-command").all_inner_texts()
        entry = page.url.split("=")[1].split("#")[0]
        assert len(steps) == 4 and f"/ledger/entries/{entry}.json" in steps[3]
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "journey-ledger-steps.png"), full_page=False)
        # a click leaves a page while it may still fetch its icon: that abort is the browser's
        failed = [f for f in visit.failed if not f.endswith("net::ERR_ABORTED")]
        assert visit.errors == [] and failed == [] and visit.outside == []
    finally:
        visit.close()
