"""The portal in a real browser: Debian's Chromium driven by Playwright (never a downloaded
browser). Every public page loads with no console error, no failed request and no request to
any host but the portal's own; axe-core finds no serious or critical accessibility fault; and a
screenshot of each is kept under test-artefacts/portal/. Then the public journey by clicking.

Without Chromium (or Playwright) the tests are skipped and say why, except in CI (CI=true),
where a missing browser must fail rather than pass quietly."""

from __future__ import annotations

import pytest
from browser_support import Visit, serious_findings, shot
from portal_pages import PAGES
from portal_support import Portal

from api.api_support import Running


def _name(path: str) -> str:
    return path.strip("/").replace("/", "-") or "home"


@pytest.mark.parametrize("path", PAGES)
def test_every_public_page_in_chromium(browser: object, site: Running, path: str) -> None:
    visit = Visit(browser, site)
    try:
        visit.page.goto(site.base_url + path, wait_until="networkidle")
        assert visit.page.locator("h1").count() == 1
        serious = serious_findings(visit.page)
        shot(visit.page, _name(path))
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
        shot(page, "journey-ledger-steps", full_page=False)
        # a click leaves a page while it may still fetch its icon: that abort is the browser's
        failed = [f for f in visit.failed if not f.endswith("net::ERR_ABORTED")]
        assert visit.errors == [] and failed == [] and visit.outside == []
    finally:
        visit.close()
