"""The custodian's and the operator's pages in Chromium, checked as every portal page is: no
console error, no failed request, no request to another host, nothing serious or critical for
axe-core, and a screenshot kept. Then the walk a custodian takes by clicking, with JavaScript
off (nothing on these pages needs it): from their projects to the loads, from a load's rejected
count to the quarantine, and through the operator's pages by their contents list."""

from __future__ import annotations

import pytest
from browser_support import Visit, serious_findings, shot
from staff_support import BAD_ID, StaffWorld

from api.api_support import Running

PAGES = (
    "/my/data/loads",
    "/my/data/quarantine",
    "/my/data/opt-outs",
    "/my/operations/workers",
    "/my/operations/queues",
    "/my/operations/storage",
)


def _sign_in(page: object, site: Running, token: str) -> None:
    page.goto(site.base_url + "/sign-in")  # type: ignore[attr-defined]
    page.get_by_label("Personal token").fill(token)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/my/projects")  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", PAGES)
def test_every_staff_page_in_chromium(
    browser: object, staff_site: Running, staff: StaffWorld, path: str
) -> None:
    visit = Visit(browser, staff_site)
    try:
        _sign_in(visit.page, staff_site, staff.tokens["cus"])
        visit.page.wait_for_load_state("networkidle")
        visit.page.goto(staff_site.base_url + path, wait_until="networkidle")
        assert visit.page.locator("h1").count() == 1
        assert staff.tokens["cus"] not in visit.page.url + visit.page.content()
        serious = serious_findings(visit.page)
        shot(visit.page, "staff-" + path.strip("/").split("/", 1)[1].replace("/", "-"))
        assert visit.errors == [] and visit.failed == [] and visit.outside == []
        assert serious == [], serious
    finally:
        visit.close()


def test_a_custodian_walks_from_a_load_to_its_rejects_and_on_to_the_operations(
    browser: object, staff_site: Running, staff: StaffWorld
) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        _sign_in(page, staff_site, staff.tokens["cus"])
        page.get_by_role("link", name="Data", exact=True).click()
        page.wait_for_url("**/my/data/loads")
        load = page.locator(".nhsuk-card", has_text=staff.load_id)
        load.get_by_role("link", name="see why in the quarantine").click()
        page.wait_for_url("**/my/data/quarantine")
        assert page.get_by_text(f"Patient/{BAD_ID}").count() == 1
        page.get_by_label("Only findings under the rule").fill("fhir.format")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**/my/data/quarantine?rule=fhir.format")
        assert page.get_by_text(f"Patient/{BAD_ID}").count() == 1
        shot(page, "staff-journey-quarantine", full_page=False)
        page.get_by_role("link", name="Operations", exact=True).click()
        page.wait_for_url("**/my/operations/workers")
        assert page.get_by_text(staff.worker).count() == 1
        page.get_by_role("link", name="Queues", exact=True).click()
        page.wait_for_url("**/my/operations/queues")
        assert page.get_by_text(staff.waiting_job).count() >= 1
        page.get_by_role("link", name="Storage", exact=True).click()
        page.wait_for_url("**/my/operations/storage")
        assert page.locator("figure.portal-chart svg rect").count() == 6
        shot(page, "staff-journey-storage", full_page=False)
    finally:
        context.close()
