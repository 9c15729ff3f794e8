"""Published dashboards on the public site, on a real server: a project's dashboard is drawn
from its released tables and from nothing else. The attack: the same job wrote three tables;
one was released, one is still under review and one was never asked for. Neither of the last
two may show anywhere on the dashboard, its charts or the list; and a release altered after it
was published takes the whole dashboard down rather than be shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from browser_support import Visit, serious_findings, shot

from api.api_support import Running, serving
from dashboards.accessibility import audit
from dashboards.dashboard_support import (
    ADMISSIONS,
    CONVEYANCES,
    HBA1C,
    admissions_csv,
    conveyances_csv,
    hba1c_csv,
    write_study,
)
from environment.environment_support import GRANT, PROJECT, approved_world, open_with_custodian
from fivesafes.governance import Role
from fivesafes.release import (
    ReleaseOffice,
    check_request_files,
    publish_release,
    request_release,
    review_release,
)
from fivesafes.release import Verdict as Vote
from fivesafes.store.config import DataDir
from governance.governance_support import job_record

UNRELEASED = (Path(HBA1C).stem, Path(CONVEYANCES).stem, "imd_quintile")
"""What only the tables that were not released hold: their names and a column."""


@dataclass(frozen=True)
class Site:
    running: Running
    data_dir: DataDir
    release_id: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("dashboards")
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    people = approved_world(open_with_custodian(data_dir), root)
    env, tokens = people.env, people.tokens
    try:
        for checker in ("chk1", "chk2"):
            people.add(checker, Role.OUTPUT_CHECKER)
        people.delegate("chk1", "chk2")
        files = {ADMISSIONS: admissions_csv(), HBA1C: hba1c_csv(), CONVEYANCES: conveyances_csv()}
        study = write_study(data_dir.jobs / "job-board" / "study", files)
        job_record(env.cp, data_dir, "job-board", PROJECT, GRANT)
        office = ReleaseOffice(env.cp, data_dir)
        assert not [c for c in check_request_files(office, PROJECT, study, [ADMISSIONS])
                    if c.needs_exception]  # fmt: skip
        released, _ = request_release(office, tokens["ana"], PROJECT, study, [ADMISSIONS], "board")
        for checker in ("chk1", "chk2"):
            review_release(
                office, tokens[checker], released, Vote.APPROVE, "ok", people.keys[checker]
            )
        publish_release(office, tokens["ana"], released)
        under_review, _ = request_release(office, tokens["ana"], PROJECT, study, [HBA1C], "more")
        review_release(
            office, tokens["chk1"], under_review, Vote.APPROVE, "ok", people.keys["chk1"]
        )
    finally:
        env.close()
    with serving(data_dir) as running:
        yield Site(running, data_dir, released)


def get(site: Site, path: str) -> httpx.Response:
    return httpx.get(site.running.base_url + path, timeout=120, follow_redirects=True)


def test_the_list_and_the_project_page_lead_to_the_dashboard(site: Site) -> None:
    listing = get(site, "/dashboards")
    assert listing.status_code == 200 and audit(listing.text).problems() == []
    assert 'href="/dashboards/heat/"' in listing.text
    project = get(site, f"/projects/{PROJECT}").text
    assert 'href="/dashboards/heat/"' in project and "1 released table." in project


def test_a_dashboard_shows_its_released_table_and_nothing_that_was_not_released(
    site: Site,
) -> None:
    answer = get(site, f"/dashboards/{PROJECT}")
    assert answer.status_code == 200 and answer.url.path == f"/dashboards/{PROJECT}/"
    page = answer.text
    assert audit(page).problems() == []
    assert Path(ADMISSIONS).stem in page and site.release_id in page
    drawn = [page]
    for src in sorted(set(re.findall(r'<img src="([^"]+)"', page))):
        chart = get(site, f"/dashboards/{PROJECT}/{src}")
        assert chart.status_code == 200, src
        drawn.append(chart.text)
    assert len(drawn) > 2  # charts were drawn, and each was looked at
    listing = get(site, "/dashboards").text
    for text in (*drawn, listing):
        for secret in UNRELEASED:
            assert secret not in text


def test_only_the_drawings_own_files_are_served(site: Site) -> None:
    for path in ("..%2F..%2Fcontrol.sqlite", "%2E%2E/ledger.sqlite", "figures/no-such.svg"):
        assert get(site, f"/dashboards/{PROJECT}/{path}").status_code == 404, path
    assert get(site, "/dashboards/no-such-project/").status_code == 404
    assert get(site, "/dashboards/cold-homes/").status_code == 404


def test_a_release_altered_after_publishing_takes_the_dashboard_down(site: Site) -> None:
    released = site.data_dir.root / "released" / PROJECT / site.release_id / ADMISSIONS
    original = released.read_bytes()
    released.write_bytes(original.replace(b"London", b"Londom", 1))
    try:
        assert get(site, f"/dashboards/{PROJECT}/").status_code == 404
        assert 'href="/dashboards/heat/"' not in get(site, "/dashboards").text
        assert "See this project's dashboard" not in get(site, f"/projects/{PROJECT}").text
    finally:
        released.write_bytes(original)
    assert get(site, f"/dashboards/{PROJECT}/").status_code == 200


def test_the_dashboards_in_chromium(browser: object, site: Site) -> None:
    """The list and the dashboard in Debian's Chromium: no console error, no failed request, no
    request to another host, no serious accessibility finding; a screenshot of each."""
    visit = Visit(browser, site.running)
    try:
        for path, name in (("/dashboards", "dashboards"), (f"/dashboards/{PROJECT}/", "dashboard")):
            visit.page.goto(site.running.base_url + path, wait_until="networkidle")
            assert visit.page.locator("h1").count() == 1
            serious = serious_findings(visit.page)
            shot(visit.page, name)
            assert visit.errors == [] and visit.failed == [] and visit.outside == [], path
            assert serious == [], (path, serious)
    finally:
        visit.close()
