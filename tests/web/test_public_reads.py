"""The public portal's promises about what a read may do and show: a project's opt-out figure
is one rounded, suppressed count per project that no history of jobs lets anyone undo; reading
the public site (pages, receipts, the API's ledger) writes nothing at all; and the ledger is
read a page at a time, never the whole log at once."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portal_pages import PAGES
from portal_support import Portal
from sqlalchemy import delete

from api.api_support import Running, serving
from environment.environment_support import PROJECT, approved_world, open_with_custodian
from fivesafes.environment import Environment, consent, public, public_ledger
from fivesafes.environment.catalogue import public_profile
from fivesafes.governance import record_opt_outs_applied
from fivesafes.governance.tables import OptOutApplied
from fivesafes.store.config import DataDir
from governance.governance_support import application


def _figure(page: str) -> str:
    found = re.search(
        r'<dt class="nhsuk-summary-list__key">People left out</dt>\s*<dd[^>]*>(.*?)</dd>',
        page,
        re.S,
    )
    assert found, "the project page shows no opt-out figure"
    return found.group(1).strip()


def test_a_project_whose_extract_left_out_a_few_people_shows_no_exact_count(
    site: Running, portal: Portal
) -> None:
    """The attack: the heat project's job ran with one person opted out. The custodian's report
    says exactly how many its extract lost; the public page must not."""
    env = Environment.open(portal.data_dir)
    try:
        exact = [c.excluded for c in consent.report(env, portal.tokens["cus"]) if c.project_id]
        threshold = public_profile(env.data_dir).threshold
    finally:
        env.close()
    assert exact and all(0 < n < threshold for n in exact)  # the test can tell them apart
    shown = _figure(httpx.get(site.base_url + "/projects/heat", timeout=60).text)
    assert re.findall(r"\d+", shown) == [str(threshold)], shown  # "fewer than 10", no more
    assert shown.startswith(f"fewer than {threshold}")
    waiting = httpx.get(site.base_url + "/projects/cold-homes", timeout=60).text
    assert "No study has run for this project yet" in waiting


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    root = tmp_path_factory.mktemp("opt-outs")
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    people = approved_world(open_with_custodian(data_dir), root)
    yield people.env
    people.env.close()


def _published(env: Environment, history: list[int]) -> int | None:
    """The figure after the project's extracts left out ``history``'s counts, one a job, each
    recorded as extraction records it."""
    with env.cp.transaction() as session:
        session.execute(delete(OptOutApplied).where(OptOutApplied.project_id == PROJECT))
    for excluded in history:
        record_opt_outs_applied(env.cp, "research", excluded, PROJECT)
    return public.project(env, PROJECT).opt_outs.people


SMALL = st.integers(min_value=1, max_value=9)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=st.lists(SMALL, min_size=1, max_size=12), more=SMALL)
def test_no_number_of_small_extracts_adds_up_to_a_published_figure(
    world: Environment, history: list[int], more: int
) -> None:
    """The differencing attack: watch the page before and after one more job. Were the figure
    per job, or their sum, the change (or the total over the jobs the page lists) would give a
    count under the threshold away. However many jobs left out a few people each, the page
    says the same before and after: nothing."""
    assert public_profile(world.data_dir).threshold == 10  # SMALL is under it
    before = _published(world, history)
    after = _published(world, [*history, more])
    assert before is None and after is None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=8))
def test_a_published_figure_is_a_rounded_count_the_threshold_or_more(
    world: Environment, history: list[int]
) -> None:
    rules = public_profile(world.data_dir)
    shown = _published(world, history)
    most = max(history)
    if most == 0:
        assert shown == 0  # nobody left out hides nobody
    elif most < rules.threshold:
        assert shown is None
    else:
        assert shown is not None and shown >= rules.threshold and shown % 5 == 0
        assert abs(shown - most) <= 2  # the nearest multiple of five: the most any one lost


def _state(root: Path) -> dict[str, object]:
    """Everything the environment holds on disk: each SQLite database (control plane, ledger,
    ...) as its rows, every other file as its hash. A reader's lock files are left out."""
    found: dict[str, object] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = str(path.relative_to(root))
        if name.endswith(("-wal", "-shm", "-journal")):
            continue
        head = path.read_bytes()[:16]
        if head == b"SQLite format 3\x00":
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                found[name] = list(con.iterdump())
            finally:
                con.close()
        elif path.suffix != ".duckdb":
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def test_reading_the_public_site_writes_nothing(portal: Portal) -> None:
    """An analyst applies for a project through the API, so the server's ledger holds a public
    entry; then a visitor reads every public page, every receipt and the API's ledger. The
    write signed its checkpoint itself: every receipt proves its entry, and not one byte of
    the control plane, the ledger or anything else in the data directory changed."""
    with serving(portal.data_dir) as fresh:  # a server whose ledger signed nothing yet
        form = application("ana", title="Read-only visits").to_dict()
        made = httpx.post(
            f"{fresh.base_url}/api/v1/projects/read-only/application",
            json=form,
            headers={"Authorization": f"Bearer {portal.tokens['ana']}"},
            timeout=60,
        )
        assert made.status_code == 201, made.text
        before = _state(portal.data_dir.root)
        listing = httpx.get(fresh.base_url + "/ledger", timeout=60).text
        newest = max(int(i) for i in re.findall(r'href="/ledger\?entry=(\d+)#verify"', listing))
        for path in (*PAGES, "/projects/read-only", "/ledger/checkpoint", "/ledger/key"):
            assert httpx.get(fresh.base_url + path, timeout=60).status_code == 200, path
        proved = 0
        for index in range(newest + 3):
            for path in (f"/ledger/entries/{index}.json", f"/api/v1/ledger/entries/{index}"):
                answer = httpx.get(fresh.base_url + path, timeout=60)
                if answer.status_code == 200 and path.endswith(".json"):
                    assert orjson.loads(answer.content)["proof"] is not None, index
                    proved += 1
        page = httpx.get(f"{fresh.base_url}/ledger?entry={newest}", timeout=60)
        assert page.status_code == 200, page.text
        receipt = httpx.get(f"{fresh.base_url}/ledger/entries/{newest}.json", timeout=60)
        after = _state(portal.data_dir.root)
    entry = orjson.loads(orjson.loads(receipt.content)["entry"])
    assert entry["kind"] == "project" and entry["subject"]["project_id"] == "read-only"
    assert proved and before == after


def test_the_ledger_page_gives_every_public_entry_a_page_at_a_time(tmp_path: Path) -> None:
    """120 public entries beside the environment's own: page after page, newest first, each
    public entry exactly once and no private one, each page linked to the next, and only the
    newest checkpoints; a page past the last (or before the first) is a page that says so."""
    data_dir = DataDir(tmp_path / "data", tmp_path / "data" / "keys" / "pseudonym.key")
    env = open_with_custodian(data_dir).env
    try:
        subject = {"title": "Paged", "purpose": "research", "status": "submitted"}
        for i in range(60):  # one at a time: each signs its checkpoint
            env.cp.ledger.append("project", {**subject, "project_id": f"p{i}"}, actor="cus")
        env.cp.ledger.append_many(
            ("project", "cus", {**subject, "project_id": f"q{i}"}) for i in range(60)
        )
        expected = [r.index for r in reversed(public_ledger.public_view(env).rows)]
        signed = len(env.cp.ledger.checkpoints())
    finally:
        env.close()
    seen: list[int] = []
    with serving(data_dir) as site:
        pages = -(-len(expected) // public.LEDGER_PAGE)
        for number in range(1, pages + 1):
            page = httpx.get(f"{site.base_url}/ledger?page={number}", timeout=60).text
            assert f"page {number} of {pages}" in page
            assert f"the newest {public.LEDGER_PAGE} of {signed}" in page  # checkpoints too
            shown = [int(i) for i in re.findall(r'href="/ledger\?entry=(\d+)#verify"', page)]
            assert 0 < len(shown) <= public.LEDGER_PAGE
            seen += shown
            assert (f'href="/ledger?page={number + 1}"' in page) == (number < pages)
            assert (f'href="/ledger?page={number - 1}"' in page) == (number > 1)
        for beyond in (0, pages + 1):
            answer = httpx.get(f"{site.base_url}/ledger?page={beyond}", timeout=60)
            assert answer.status_code == 404 and f"page {beyond}" in answer.text
    assert pages >= 3 and seen == expected
