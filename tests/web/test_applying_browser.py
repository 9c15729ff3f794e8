"""The analyst's journey in Chromium, end to end: an analyst signs in, starts an application,
saves it as a draft, comes back to it, is shown what it lacks, completes and submits it; an
approver signs in and approves it, signing with their key file; the analyst submits a job at a
commit of the approved repository from the project's page, a real worker runs it, the analyst
follows the job to its end, reads its outputs and disclosure report and requests a release.
Every page on the way: no console error, no failed request, no request elsewhere, nothing
serious or critical from axe-core, and a screenshot kept (test-artefacts/portal/journey-*)."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

from browser_support import Visit, serious_findings, shot, sign_in
from portal_support import OUTPUT, Portal

from api.api_support import Running, working

TITLE = "Heat and shared steps"
FOLLOW_SECONDS = 600
"""How long the journey waits for the worker to finish the job (not a timing check: a bound)."""


def _checked(visit: Visit, name: str) -> None:
    """The page as it stands: nothing serious for axe-core, a screenshot, one heading."""
    page = visit.page
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    assert page.locator("h1").count() == 1  # type: ignore[attr-defined]
    serious = serious_findings(page)
    shot(page, f"journey-{name}")
    assert serious == [], (name, serious)


NOTICE = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
"""What Chromium logs for a page answered 400: the form the journey sends unfinished, once."""


def _clean(visit: Visit, refusals: int) -> None:
    """Nothing went wrong but the refusals the step meant to be given (each a 400 page)."""
    assert [f.rsplit(": ", 1)[-1] for f in visit.failed] == ["400"] * refusals, visit.failed
    assert visit.errors == [NOTICE] * refusals and visit.outside == []


def _apply(visit: Visit, site: Running, portal: Portal) -> None:
    page = visit.page
    sign_in(page, site, portal.tokens["ana"])
    page.get_by_role("link", name="Applications", exact=True).click()
    page.get_by_role("button", name="Start a new application").click()
    page.wait_for_url("**/my/applications/new")
    _checked(visit, "apply-new")
    page.get_by_label("Short name for the project", exact=True).fill("heat-steps")
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Organisation", exact=True).fill("Test University")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url("**/my/drafts/*?saved=1")
    assert page.get_by_text("Your draft was saved").count() == 1
    _checked(visit, "apply-draft-saved")
    draft = page.url.split("?")[0]
    page.get_by_role("link", name="Applications", exact=True).first.click()  # away, and back
    page.get_by_role("link", name=TITLE).click()
    page.wait_for_url(draft)
    assert page.get_by_label("Title", exact=True).input_value() == TITLE
    page.get_by_role("button", name="Submit application").click()
    assert page.get_by_text("There is a problem").count() == 1
    _checked(visit, "apply-refused")
    page.locator(".nhsuk-error-summary a[href='#legal_basis']").click()
    page.get_by_label("Legal basis", exact=True).fill("UK GDPR 6(1)(e) and 9(2)(j)")
    page.get_by_label("Research", exact=True).check()
    page.get_by_label("What the project is for, in plain words", exact=True).fill(
        "Heat and activity."
    )
    page.get_by_label("How the public will benefit", exact=True).fill("Better heatwave advice.")
    page.get_by_label("Code repository", exact=True).fill(str(portal.repository))
    page.get_by_label("Planned outputs", exact=True).fill("a note of the method")
    for table, columns in (
        ("patients", ("patient_id", "sex")),
        ("wearable_observations", ("patient_id", "date", "kind", "value")),
    ):
        summary = page.locator("summary", has_text=table).first
        if summary.locator("xpath=..").get_attribute("open") is None:
            summary.click()
        for column in columns:
            page.locator(f"input[value='{table}.{column}']").check()
    page.get_by_role("button", name="Submit application").click()
    page.wait_for_url("**/my/applications?submitted=heat-steps")
    assert page.get_by_text("was submitted").count() == 1
    _checked(visit, "apply-submitted")


def _approve(visit: Visit, site: Running, portal: Portal, key: Path) -> None:
    page = visit.page
    sign_in(page, site, portal.tokens["val"])
    page.get_by_role("link", name="Applications", exact=True).click()
    page.get_by_role("link", name=TITLE).click()
    page.get_by_label("Approve", exact=True).check()
    until = date.today() + timedelta(days=90)
    page.get_by_label("If you approve: approved until").fill(until.isoformat())
    page.get_by_label("Your reasons").fill("a sound plan, on the data it needs")
    page.get_by_label("Your signing key file").set_input_files(str(key))
    page.get_by_role("button", name="Send my decision").click()
    page.wait_for_url("**/my/applications/heat-steps")
    assert page.get_by_text("signature verifies").count() >= 1
    _checked(visit, "apply-approved")


def _run_and_release(visit: Visit, site: Running, portal: Portal) -> None:
    page = visit.page
    sign_in(page, site, portal.tokens["ana"])
    page.get_by_role("link", name=TITLE).click()
    _checked(visit, "apply-project")
    page.get_by_label("Commit to run").fill(portal.commit)
    page.get_by_role("button", name="Submit job").click()
    page.wait_for_url("**/my/jobs/job-*")
    assert page.get_by_text("Check again").count() == 1
    _checked(visit, "apply-job-queued")
    with working(portal.data_dir):
        deadline = time.monotonic() + FOLLOW_SECONDS
        while page.get_by_text("Check again").count() and time.monotonic() < deadline:
            time.sleep(1)
            page.get_by_role("link", name="Check again").click()
            page.wait_for_load_state("networkidle")
    assert page.locator(".nhsuk-tag", has_text="Succeeded").count() == 1, page.content()
    page.get_by_text(f"Disclosure report for {OUTPUT}").click()
    _checked(visit, "apply-job-succeeded")
    page.get_by_label(OUTPUT, exact=False).first.check()
    page.get_by_label(f"Why {OUTPUT} is safe", exact=False).fill("a method note, no figures")
    page.get_by_label("What the release is for").fill("the method, for the paper")
    page.get_by_role("button", name="Request release").click()
    page.wait_for_url("**/my/releases/*")
    assert page.get_by_text("Submitted").count() >= 1
    _checked(visit, "apply-release-requested")


def test_an_analyst_applies_is_approved_submits_follows_the_job_and_requests_release(
    browser: object, site: Running, portal: Portal, tmp_path: Path
) -> None:
    key = tmp_path / "val.pem"
    key.write_bytes(portal.keys["val"])
    for step, refusals in (
        (lambda visit: _apply(visit, site, portal), 1),
        (lambda visit: _approve(visit, site, portal, key), 0),
        (lambda visit: _run_and_release(visit, site, portal), 0),
    ):
        visit = Visit(browser, site)
        try:
            step(visit)
            _clean(visit, refusals)
        finally:
            visit.close()
