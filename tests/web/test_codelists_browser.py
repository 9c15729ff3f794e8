"""A code list built, published and used by a study, in Chromium: an analyst makes a list from
the codes in the data (searching, ticking what they want), publishes it; the public finds it and
downloads its CSV; a study that reads that file (and a second list nobody in the data matches)
runs as a job; the job's page says which published version the list is and warns of the other.
Every page loads with no console error, no failed request and no request elsewhere, axe-core
finds nothing serious or critical, and a screenshot is kept. Then the same forms without
JavaScript: a second list is made, given a code and published with scripts off."""

from __future__ import annotations

from pathlib import Path

from browser_support import Visit, serious_findings, shot
from codelist_support import Coded

from api.api_support import Running
from environment.codelists_support import ASTHMA, PROJECT, study_with_lists
from fivesafes.environment import Environment, codelists, jobs
from jobs.jobs_support import needs_sandbox

SLUG = "asthma-in-chromium"


def _sign_in(page: object, site: Running, token: str) -> None:
    page.goto(site.base_url + "/sign-in")  # type: ignore[attr-defined]
    page.get_by_label("Personal token").fill(token)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/my/projects")  # type: ignore[attr-defined]


def _checked(visit: Visit, name: str) -> None:
    """The page as it is now: one heading, axe-core's serious findings none, a screenshot."""
    page = visit.page
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").count() == 1, page.url
    serious = serious_findings(page)
    shot(page, f"codelists-{name}")
    assert serious == [], (name, serious)
    assert visit.errors == [] and visit.outside == [], (name, visit.errors, visit.outside)
    assert visit.failed == [], (name, visit.failed)


@needs_sandbox
def test_a_code_list_is_built_published_and_used_by_a_study(
    browser: object, coded_site: Running, coded: Coded, tmp_path: Path
) -> None:
    ana = coded.tokens["ana"]
    visit = Visit(browser, coded_site)
    try:
        page = visit.page
        _sign_in(page, coded_site, ana)
        assert ana not in page.content()
        page.get_by_role("link", name="Build code lists").click()
        _checked(visit, "mine")
        page.get_by_label("Name", exact=True).fill("Asthma in Chromium")
        page.get_by_label("Code system").select_option("snomedct")
        page.get_by_label("Short name for studies (optional)").fill(SLUG)
        page.get_by_role("button", name="Make code list").click()
        page.wait_for_url(f"**/my/codelists/{SLUG}")
        _checked(visit, "new-list")
        page.get_by_label("Search the snomedct codes in the data").fill("asthma")
        page.get_by_role("button", name="Search codes").click()
        page.wait_for_url("**/my/codes?*")
        _checked(visit, "search")
        page.get_by_label(ASTHMA).check()
        page.get_by_role("button", name="Add ticked codes to Asthma in Chromium").click()
        page.wait_for_url(f"**/my/codelists/{SLUG}")
        assert page.get_by_text("Added 195967001").count() == 1
        page.get_by_role("button", name="Publish version 1").click()
        page.wait_for_url(f"**/my/codelists/{SLUG}")
        assert page.get_by_text("Published by ana").count() == 1
        _checked(visit, "published")
        page.get_by_role("navigation", name="Menu").get_by_role("link", name="Code lists").click()
        _checked(visit, "public-list")
        page.get_by_role("link", name="Asthma in Chromium").click()
        _checked(visit, "public-one")
        with page.expect_download() as downloading:
            page.get_by_role("link", name="Download version 1 as CSV").click()
        saved = tmp_path / "downloaded.csv"
        downloading.value.save_as(saved)
        with Environment.open(coded.data_dir) as env:
            assert saved.read_text() == codelists.export_csv(env, ana, f"{SLUG}/1")
            folder = study_with_lists(tmp_path / "study", saved.read_text())
            job = jobs.wait(env, ana, jobs.submit(env, ana, PROJECT, folder).job_id)
        assert job.state == "succeeded", job.record.error
        page.goto(f"{coded_site.base_url}/my/jobs/{job.job_id}")
        _checked(visit, "job")
        used = page.get_by_role("table", name="Code lists used")
        assert used.get_by_role("link", name=f"{SLUG}/1").count() == 1
        assert used.get_by_text("Not a code list published here").count() == 1
        warning = page.locator(".nhsuk-warning-callout")
        assert warning.count() == 1
        assert "analysis/codelists/fractures.csv" in warning.inner_text()
        assert "Fewer than 10 people in the data have any of its 1 codes" in warning.inner_text()
        used.get_by_role("link", name=f"{SLUG}/1").click()
        page.wait_for_url(f"**/codelists/{SLUG}#version-1")
    finally:
        visit.close()


def test_the_forms_work_without_javascript(
    browser: object, coded_site: Running, coded: Coded
) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        _sign_in(page, coded_site, coded.tokens["bob"])
        page.goto(coded_site.base_url + "/my/codelists")
        page.get_by_label("Name", exact=True).fill("Asthma without scripts")
        page.get_by_role("button", name="Make code list").click()
        page.wait_for_url("**/my/codelists/asthma-without-scripts")
        page.get_by_label("Search the snomedct codes in the data").fill("195967")
        page.get_by_role("button", name="Search codes").click()
        page.get_by_label(ASTHMA).check()
        page.get_by_role("button", name="Add ticked codes to Asthma without scripts").click()
        page.get_by_role("button", name="Publish version 1").click()
        page.wait_for_url("**/my/codelists/asthma-without-scripts")
        assert "There is a problem" not in page.content()
        assert page.get_by_text("Published by bob").count() == 1
        shot(page, "codelists-without-javascript", full_page=False)
    finally:
        context.close()
