"""The signed-in pages in Chromium, as the public pages are checked: each page loads with no
console error, no failed request and no request elsewhere, axe-core finds nothing serious or
critical, and a screenshot is kept. Then the journey: an analyst signs in, follows a job and
requests a release of its output; an output checker signs in and votes on it, with JavaScript
off (every form works without it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import Visit, serious_findings, shot, sign_in
from portal_support import OUTPUT, Portal

from api.api_support import Running

PAGES = (
    ("ana", "/my/projects"),
    ("ana", "/my/projects/heat"),
    ("ana", "/my/jobs/{job}"),
    ("ana", "/my/releases/{release}"),
    ("chk1", "/my/reviews"),
    ("chk1", "/my/releases/{release}"),
    ("val", "/my/applications"),
    ("val", "/my/applications/cold-homes"),
)


def test_the_sign_in_page_in_chromium(browser: object, site: Running) -> None:
    visit = Visit(browser, site)
    try:
        visit.page.goto(site.base_url + "/sign-in", wait_until="networkidle")
        assert visit.page.locator("h1").count() == 1
        serious = serious_findings(visit.page)
        shot(visit.page, "sign-in")
        assert visit.errors == [] and visit.failed == [] and visit.outside == []
        assert serious == [], serious
    finally:
        visit.close()


@pytest.mark.parametrize(("who", "path"), PAGES)
def test_every_signed_in_page_in_chromium(
    browser: object, site: Running, portal: Portal, who: str, path: str
) -> None:
    visit = Visit(browser, site)
    try:
        sign_in(visit.page, site, portal.tokens[who])
        where = path.format(job=portal.job_id, release=portal.release_id)
        visit.page.goto(site.base_url + where, wait_until="networkidle")
        assert visit.page.locator("h1").count() == 1
        assert portal.tokens[who] not in visit.page.url + visit.page.content()
        serious = serious_findings(visit.page)
        name = who + "-" + path.strip("/").replace("/", "-").replace("{", "").replace("}", "")
        shot(visit.page, name)
        assert visit.errors == [] and visit.failed == [] and visit.outside == []
        assert serious == [], serious
    finally:
        visit.close()


def test_an_analyst_requests_a_release_and_two_checkers_vote_blind(
    browser: object, site: Running, portal: Portal, tmp_path: Path
) -> None:
    visit = Visit(browser, site)
    try:
        page = visit.page
        sign_in(page, site, portal.tokens["ana"])
        page.get_by_role("link", name="Asthma admissions after heatwaves").click()
        page.get_by_role("link", name=portal.job_id).click()
        assert page.get_by_text("Succeeded").count() >= 1
        page.get_by_label(OUTPUT, exact=False).first.check()
        page.get_by_label(f"Why {OUTPUT} is safe", exact=False).fill("a method note, no figures")
        page.get_by_label("What the release is for").fill("the methods, for the report")
        page.get_by_role("button", name="Request release").click()
        page.wait_for_url("**/my/releases/*")
        release_path = page.url.split(site.base_url, 1)[1]
        assert page.get_by_text("Submitted").count() >= 1
        shot(page, "journey-release-requested", full_page=False)
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/sign-in")
        failed = [f for f in visit.failed if not f.endswith("net::ERR_ABORTED")]
        assert visit.errors == [] and failed == [] and visit.outside == []
    finally:
        visit.close()
    key = tmp_path / "chk1.pem"
    key.write_bytes(portal.keys["chk1"])
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        sign_in(page, site, portal.tokens["chk1"])
        page.get_by_role("link", name="Output checking", exact=True).click()
        page.locator(f'a[href="{release_path}"]').click()
        page.get_by_label("Approve").check()
        page.get_by_label("Your reasons").fill("a note of method only")
        page.get_by_label("Your signing key file").set_input_files(str(key))
        page.get_by_role("button", name="Send my vote").click()
        page.wait_for_url(f"**{release_path}")
        assert "Votes sealed" in page.content() and "There is a problem" not in page.content()
        shot(page, "journey-checker-voted", full_page=False)
    finally:
        context.close()
    second = tmp_path / "chk2.pem"
    second.write_bytes(portal.keys["chk2"])
    visit = Visit(browser, site)
    try:
        page = visit.page
        sign_in(page, site, portal.tokens["chk2"])
        page.get_by_role("link", name="Output checking", exact=True).click()
        page.locator(f'a[href="{release_path}"]').click()
        assert "a note of method only" not in page.content()  # the first vote is sealed
        page.get_by_label("Approve").check()
        page.get_by_label("Your reasons").fill("safe: no figures")
        page.get_by_label("Your signing key file").set_input_files(str(second))
        page.get_by_role("button", name="Send my vote").click()
        page.wait_for_url(f"**{release_path}")
        page.wait_for_load_state("networkidle")
        content = page.content()
        assert "There is a problem" not in content
        assert "a note of method only" in content and "safe: no figures" in content  # unsealed
        assert page.get_by_role("definition").filter(has_text="Approved").count() == 1
        shot(page, "journey-checkers-approved", full_page=False)
        assert visit.errors == [] and visit.failed == [] and visit.outside == []
    finally:
        visit.close()
