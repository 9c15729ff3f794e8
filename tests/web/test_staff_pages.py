"""The custodian's and the operator's pages over HTTP, against a real server on a world where
the custodian loaded a file with a bad record and two jobs wait in the queue, one claimed by a
worker holding its lease.

Who may see which page is the role model's (``PERMISSIONS``): the test asks each person of the
world for every page and expects it exactly when one of their roles has the page's action, a
403 (and a refusal in the ledger) otherwise, and the sign-in page without a session. Then the
attack: the quarantined record's id and the wrong value it holds are looked for on every page
anyone but the custodian can reach, by following every link from every page they are shown."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from portal_pages import PAGES as PUBLIC_PAGES
from portal_pages import links, row_cells
from signed_in_support import signed_in
from staff_support import BAD_BIRTH, BAD_ID, LOAD_FILE, WAITING, StaffWorld

from api.api_support import Running
from dashboards.accessibility import audit
from fivesafes.environment import Environment, accounts
from fivesafes.governance import Action, Role
from fivesafes.governance.roles import allowed

PAGES: dict[str, Action] = {
    "/my/data/loads": Action.MANAGE_DATA,
    "/my/data/quarantine": Action.MANAGE_DATA,
    "/my/data/opt-outs": Action.VIEW_OPT_OUT_COUNTS,
    "/my/operations/workers": Action.OPERATE,
    "/my/operations/queues": Action.OPERATE,
    "/my/operations/storage": Action.OPERATE,
}
"""Every custodian's and operator's page, with the action its read needs."""
PEOPLE: dict[str, frozenset[Role]] = {
    "cus": frozenset({Role.DATA_CUSTODIAN}),
    "ana": frozenset({Role.ANALYST}),
    "chk1": frozenset({Role.OUTPUT_CHECKER}),
    "val": frozenset({Role.APPROVER}),
}
"""The world's people and the roles they were given (tests/web/portal_support.py)."""


def _roles_held(world: StaffWorld) -> dict[str, frozenset[Role]]:
    with Environment.open(world.data_dir, recover=False) as env:
        return {p: accounts.whoami(env, world.tokens[p]).roles for p in PEOPLE}


def _ledger(world: StaffWorld, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """The world's ledger entries of ``kind``, with their index, oldest first."""
    with Environment.open(world.data_dir, recover=False) as env:
        entries = [(i, orjson.loads(raw)) for i, raw in enumerate(env.cp.ledger.entries())]
    return [(i, e) for i, e in entries if e["kind"] == kind]


def test_the_world_gives_its_people_the_roles_this_test_expects(staff: StaffWorld) -> None:
    assert _roles_held(staff) == PEOPLE


def test_without_a_session_every_page_goes_to_sign_in(staff_site: Running) -> None:
    with httpx.Client(base_url=staff_site.base_url) as client:
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/sign-in", path


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_each_page_is_shown_exactly_to_the_roles_given_its_action(
    staff_site: Running, staff: StaffWorld, who: str
) -> None:
    with signed_in(staff_site, staff.tokens[who]) as client:
        for path, action in PAGES.items():
            answer = client.get(path)
            if allowed(PEOPLE[who], action):
                assert answer.status_code == 200, (who, path)
            else:
                assert answer.status_code == 403, (who, path)
                assert "There is a problem" in answer.text
                assert BAD_ID not in answer.text and LOAD_FILE not in answer.text


def test_every_page_is_a_whole_accessible_page(staff_site: Running, staff: StaffWorld) -> None:
    with signed_in(staff_site, staff.tokens["cus"]) as client:
        for path in PAGES:
            page = client.get(path).text
            assert audit(page).problems() == [], path  # a language, one h1, captions...
            assert 'aria-current="page"><span class="nhsuk-contents-list__current">' in page
            pointed = re.findall(r'(?:src|href|action)="([^"]*)"', page)
            assert [p for p in pointed if not p.startswith(("/", "#"))] == [], path


def test_a_refused_page_is_a_refusal_in_the_ledger(staff_site: Running, staff: StaffWorld) -> None:
    with signed_in(staff_site, staff.tokens["ana"]) as client:
        assert client.get("/my/operations/storage").status_code == 403
    _, last = _ledger(staff, "refusal")[-1]
    assert last["subject"]["action"] == "view_storage" and last["subject"]["kind"] == "forbidden"


def test_the_custodian_sees_the_load_and_its_rejected_record_exactly(
    staff_site: Running, staff: StaffWorld
) -> None:
    with signed_in(staff_site, staff.tokens["cus"]) as client:
        loads = client.get("/my/data/loads").text
        quarantine = client.get("/my/data/quarantine").text
        only_format = client.get("/my/data/quarantine", params={"rule": "fhir.format"}).text
        other_rule = client.get("/my/data/quarantine", params={"rule": "fhir.required"}).text
    card = loads.split(f"Load <code>{staff.load_id}</code>", 1)[1].split('class="nhsuk-card"')[0]
    (index,) = [
        i for i, e in _ledger(staff, "load") if e["subject"].get("load_id") == staff.load_id
    ]
    for key, value in (
        ("Loaded by", "cus"),
        ("Records accepted", "1"),
        ("Records rejected", '1: <a href="/my/data/quarantine">'),
        ("Ledger entry", f"entry {index} (fivesafes ledger prove {index})<"),
    ):
        assert re.search(f"{key}</dt><dd[^>]*>{re.escape(value)}", card), key
    assert f"/{LOAD_FILE}</li>" in card
    assert row_cells(card, "Patient") == ["Patient", "1", "1"]
    finding = row_cells(quarantine, f"File {staff.data_dir.root.parent / LOAD_FILE}")
    assert finding[1:5] == [
        "Record line 2",
        f"Resource Patient/{BAD_ID}",
        "Field Patient.birthDate",
        "Rule fhir.format",
    ]
    assert BAD_BIRTH in finding[5]
    assert BAD_ID in only_format and BAD_ID not in other_rule
    assert "No rejected record under fhir.required" in other_rule


def test_the_custodian_sees_opt_outs_held_and_what_they_took_out(
    staff_site: Running, staff: StaffWorld
) -> None:
    """One national opt-out is held (person 1 of the portal's world), added by hand; each of the
    project's extracts left that person out: exact counts, for the custodian."""
    with signed_in(staff_site, staff.tokens["cus"]) as client:
        page = client.get("/my/data/opt-outs").text
    assert re.search(r"National data opt-outs</dt><dd[^>]*>1<", page)
    assert re.search(r"How</dt><dd[^>]*>one added by hand<", page)
    heat = row_cells(page, "heat")
    assert heat[1] == "Research" and int(heat[2]) >= 1 and heat[3] == "1" and heat[4] == heat[2]


def test_the_operator_sees_the_worker_its_lease_and_the_queue(
    staff_site: Running, staff: StaffWorld
) -> None:
    with signed_in(staff_site, staff.tokens["cus"]) as client:
        workers = client.get("/my/operations/workers").text
        queues = client.get("/my/operations/queues").text
        storage = client.get("/my/operations/storage").text
    held = row_cells(workers, f"Worker {staff.worker}")
    assert held[2] == "State Holding a lease" and held[3] == f"Holding {staff.claimed_job}"
    assert re.search(r"Queued</dt><dd[^>]*>2<", queues)
    assert row_cells(queues, staff.claimed_job)[4] == staff.worker
    assert row_cells(queues, staff.waiting_job)[4] == "nobody yet"
    for area in ("Store", "Workspaces", "Releases", "Ledger", "Control plane", "Other"):
        assert row_cells(storage, area)[2].endswith(("bytes", "kB", "MB", "GB"))
    assert "1 record, " in storage
    assert "<script" not in storage.split("</head>", 1)[1]  # the drawing is the server's SVG


def _crawl(client: httpx.Client, start: list[str]) -> Iterator[tuple[str, str]]:
    """Every page of the site reachable by links from ``start``, GET only, as (path, body)."""
    seen: set[str] = set()
    todo = list(start)
    while todo and len(seen) < 400:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = client.get(path)
        yield path, answer.text
        if "text/html" not in answer.headers.get("content-type", ""):
            continue
        for href in links(answer.text):
            where = urlsplit(href)
            if where.netloc or href.startswith(("#", "/assets", "/static", "mailto:")):
                continue
            todo.append(where.path + (f"?{where.query}" if where.query else ""))


def _where_the_record_shows(site: Running, world: StaffWorld, who: str | None) -> list[str]:
    """Follow every link from every page ``who`` (None: the public) is shown, and from the
    custodian's pages' addresses with rule filters: the pages that show the quarantined
    record's id or the wrong value it quotes."""
    start = [*PUBLIC_PAGES, "/my/projects", "/my/reviews", "/my/applications", *PAGES]
    start += [f"/my/data/quarantine?rule={r}" for r in ("fhir.format", "", "%", "*")]
    start += [f"/my/jobs/{world.claimed_job}", "/ledger/checkpoint", "/catalogue/patients"]
    visitor = (
        httpx.Client(base_url=site.base_url, timeout=60)
        if who is None
        else signed_in(site, world.tokens[who])
    )
    shown, visited = [], 0
    with visitor as client:
        for path, body in _crawl(client, start):
            visited += 1
            text = html.unescape(body)
            if BAD_ID in text or BAD_BIRTH in text:
                shown.append(path)
    assert visited > len(start)
    return shown


@pytest.mark.parametrize("who", ["ana", "chk1", "val", None])
def test_nobody_but_the_custodian_reaches_a_quarantined_record(
    staff_site: Running, staff: StaffWorld, who: str | None
) -> None:
    """The attack: by any page they can reach, nobody else sees the rejected record."""
    assert _where_the_record_shows(staff_site, staff, who) == []


def test_the_same_crawl_finds_the_record_as_the_custodian(
    staff_site: Running, staff: StaffWorld
) -> None:
    """The crawl above can see the record where it is: the custodian's quarantine pages."""
    shown = _where_the_record_shows(staff_site, staff, "cus")
    assert shown and {p.split("?")[0] for p in shown} == {"/my/data/quarantine"}


def test_the_signed_in_lists_are_the_environments_reads(
    staff_site: Running, staff: StaffWorld
) -> None:
    """A person's projects are those they are a member of; the review queue is an output
    checker's alone (anyone else is refused it, and it is logged); applications waiting are
    listed to anyone signed in (which wait is public)."""
    with signed_in(staff_site, staff.tokens["ana"]) as analyst:
        assert 'href="/my/projects/heat"' in analyst.get("/my/projects").text
        assert analyst.get("/my/reviews").status_code == 403
        assert f'href="/my/applications/{WAITING}"' in analyst.get("/my/applications").text
    with signed_in(staff_site, staff.tokens["chk1"]) as checker:
        assert 'href="/my/projects/heat"' not in checker.get("/my/projects").text
        assert checker.get("/my/reviews").status_code == 200
    assert "review_queue" in [e["subject"]["action"] for _, e in _ledger(staff, "refusal")]
