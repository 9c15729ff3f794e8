"""The open library in Chromium, after a real job has run: each library page loads with no
console error, no failed request and no request to any other host, axe-core finds nothing
serious or critical, and a screenshot is kept (test-artefacts/portal/library-*.png). Then the
journey by clicking, from the home page to a file of the study, and an analyst reusing it; and
the pipeline drawn with JavaScript off."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import Visit, serious_findings, shot, sign_in
from library_portal import PROJECT, LibraryPortal

from api.api_support import Running


def _pages(portal: LibraryPortal) -> dict[str, str]:
    commit = portal.commit_page()
    return {
        "library": "/library",
        "library-study": f"/library/{PROJECT}",
        "library-commit": commit,
        "library-file": f"{commit}files/analysis/study.py",
        "library-not-found": f"{commit}files/..%2f..%2fetc%2fpasswd",
    }


NAMES = ("library", "library-study", "library-commit", "library-file", "library-not-found")


@pytest.mark.parametrize("name", NAMES)
def test_every_library_page_in_chromium(
    browser: object, library_site: Running, library_portal: LibraryPortal, name: str
) -> None:
    visit = Visit(browser, library_site)
    try:
        answer = visit.page.goto(
            library_site.base_url + _pages(library_portal)[name], wait_until="networkidle"
        )
        assert answer is not None
        assert answer.status == (404 if name == "library-not-found" else 200)
        assert visit.page.locator("h1").count() == 1
        serious = serious_findings(visit.page)
        shot(visit.page, name)
        missing = name == "library-not-found"  # the page itself is a 404, as it should be
        failed = [f for f in visit.failed if not (missing and f.endswith("passwd: 404"))]
        errors = [e for e in visit.errors if not (missing and "status of 404" in e)]
        assert errors == [] and failed == [] and visit.outside == []
        assert serious == [], serious
    finally:
        visit.close()


def test_a_visitor_clicks_to_a_file_and_an_analyst_reuses_the_study(
    browser: object, library_site: Running, library_portal: LibraryPortal
) -> None:
    visit = Visit(browser, library_site)
    try:
        page = visit.page
        page.goto(library_site.base_url + "/")
        page.get_by_role("link", name="Library", exact=True).first.click()
        page.get_by_role("link", name="Asthma admissions after heatwaves").click()
        page.get_by_role("link", name=library_portal.library.ran[:12], exact=False).click()
        page.wait_for_load_state("networkidle")
        assert page.locator("svg.portal-pipeline g.portal-pipeline__action").count() == 3
        page.evaluate("document.getElementById('pipeline').scrollIntoView()")
        shot(page, "library-pipeline", full_page=False)
        page.get_by_role("link", name="analysis/describe.py").first.click()
        assert page.locator("h1").inner_text() == "analysis/describe.py"
        assert "output/methods.md" in page.locator("pre").inner_text()

        sign_in(page, library_site, library_portal.tokens["ana"])
        page.goto(library_site.base_url + library_portal.commit_page())
        shot(page, "library-commit-signed-in")
        page.get_by_role("button", name="Reuse this study in a new project").click()
        page.wait_for_load_state("networkidle")
        arrived = urlsplit(page.url)
        assert arrived.path == "/my/applications/new"
        [repository] = parse_qs(arrived.query)["repository"]
        assert repository.startswith(str(library_portal.data_dir.root / "repositories"))
        # the draft application form is another page's work: only its own absence may fail
        failed = [
            f
            for f in visit.failed
            if "/my/applications/new" not in f and not f.endswith("net::ERR_ABORTED")
        ]
        # ...and the console's note of that one failed load, which names no address
        errors = [e for e in visit.errors if not e.startswith("Failed to load resource")]
        assert errors == [] and failed == [] and visit.outside == []
    finally:
        visit.close()


def test_the_pipeline_is_drawn_without_javascript(
    browser: object, library_site: Running, library_portal: LibraryPortal
) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(library_site.base_url + library_portal.commit_page())
        drawing = page.locator("svg.portal-pipeline")
        assert drawing.get_attribute("role") == "img"
        assert drawing.locator("rect").count() == 3
        assert drawing.locator("path.portal-pipeline__edge").count() == 3
        assert page.get_by_role("img", name="The pipeline of").count() == 1
    finally:
        context.close()
