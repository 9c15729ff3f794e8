"""The code-list pages over HTTP, against the real server: an analyst makes a list, searches the
codes in the data and adds what they tick, removes one, and publishes a version; the public sees
the published version (author by public name, date, codes) and downloads it as the CSV the API
and the command line give, and never a version that is not published. Every form is refused
without the session's form token; an analyst on no project, or one who does not own the list,
is refused by the environment and the refusal is in the ledger; and no search page shows a code
held by fewer people than the disclosure threshold, whatever is searched for."""

from __future__ import annotations

import html
import re

import httpx
import orjson
from codelist_support import Coded
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portal_pages import row_cells
from signed_in_support import form_token, signed_in

from api.api_support import Running
from environment.codelists_support import ABSENT, ASTHMA, ASTHMA_PEOPLE, RARE
from fivesafes.disclosure import profile
from fivesafes.disclosure.public import public_count
from fivesafes.environment import Environment, codelists

SLUG = "asthma-diagnosis"


def _refusals(coded: Coded, actor: str) -> list[dict[str, object]]:
    with Environment.open(coded.data_dir) as env:
        found = map(orjson.loads, env.cp.ledger.entries())
        return [e["subject"] for e in found if e["kind"] == "refusal" and e["actor"] == actor]


def test_without_a_session_the_pages_go_to_sign_in(coded_site: Running) -> None:
    with httpx.Client(base_url=coded_site.base_url) as client:
        for path in ("/my/codelists", f"/my/codelists/{SLUG}", "/my/codes?term=asthma"):
            answer = client.get(path)
            assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in")
        posted = client.post(f"/my/codelists/{SLUG}/publish", data={"version": "1"})
        assert (posted.status_code, posted.headers["location"]) == (303, "/sign-in")


def test_an_analyst_builds_and_publishes_a_list_and_the_public_downloads_it(
    coded_site: Running, coded: Coded
) -> None:
    with signed_in(coded_site, coded.tokens["ana"]) as client:
        page = client.get("/my/codelists").text
        made = {"name": "Asthma diagnosis", "system": "snomedct", "slug": ""}
        assert client.post("/my/codelists", data=made).status_code == 403  # no form token
        answer = client.post("/my/codelists", data={**made, "csrf_token": form_token(page)})
        assert (answer.status_code, answer.headers["location"]) == (303, f"/my/codelists/{SLUG}")
        found = client.get("/my/codes", params={"term": "asthma", "codelist": SLUG}).text
        people = public_count(ASTHMA_PEOPLE, profile("default"))
        cells = row_cells(found, ASTHMA)
        assert cells[1:5] == ["Asthma", "snomedct", "clinical_events.snomedct_code", str(people)]
        assert f'name="code" type="checkbox" value="{ASTHMA}"' in found
        token = form_token(found)
        added = client.post(
            f"/my/codelists/{SLUG}/add", data={"code": [ASTHMA, ABSENT], "csrf_token": token}
        )
        assert added.status_code == 303, added.text
        removed = client.post(
            f"/my/codelists/{SLUG}/remove", data={"code": ABSENT, "csrf_token": token}
        )
        assert removed.status_code == 303, removed.text
        mine = client.get(f"/my/codelists/{SLUG}").text
        assert "Version 2" in mine and "Publish version 2" in mine and "Publish version 1" in mine
        assert client.get(f"/codelists/{SLUG}").status_code == 404  # nothing published yet
        published = client.post(
            f"/my/codelists/{SLUG}/publish", data={"version": "2", "csrf_token": token}
        )
        assert published.status_code == 303, published.text
        assert "Publish version 2" not in client.get(f"/my/codelists/{SLUG}").text
    with httpx.Client(base_url=coded_site.base_url) as public:
        listed = public.get("/codelists").text
        cells = row_cells(listed, "Asthma diagnosis")
        assert cells[1] == "snomedct" and cells[2].startswith("Version 2, ")
        assert cells[3:] == ["1", "Person Ana"]  # by public name, not the person's id
        shown = public.get(f"/codelists/{SLUG}").text
        assert "Version 2" in shown and "Version 1" not in shown  # a draft stays the owner's
        assert row_cells(shown, ASTHMA)[1] == "Asthma" and ABSENT not in shown
        csv = public.get(f"/codelists/{SLUG}/2.csv")
        assert csv.headers["content-type"].startswith("text/csv")
        with Environment.open(coded.data_dir) as env:
            assert csv.text == codelists.export_csv(env, coded.tokens["ana"], f"{SLUG}/2")
        assert public.get(f"/codelists/{SLUG}/1.csv").status_code == 404  # not published
        assert public.get("/codelists/no-such-list/1.csv").status_code == 404
        assert public.get(f"/codelists/{SLUG}/two.csv").status_code == 404


def test_only_the_owner_publishes_and_an_analyst_on_no_project_builds_nothing(
    coded_site: Running, coded: Coded
) -> None:
    with Environment.open(coded.data_dir) as env:
        codelists.new(env, coded.tokens["ana"], "Chest pain", "snomedct", "chest-pain")
        codelists.add(env, coded.tokens["ana"], "chest-pain", {"29857009": None})
    with signed_in(coded_site, coded.tokens["bob"]) as client:
        page = client.get("/my/codelists/chest-pain").text
        asked = {"version": "1", "csrf_token": form_token(page)}
        refused = client.post("/my/codelists/chest-pain/publish", data=asked)
        assert refused.status_code == 403 and "There is a problem" in refused.text
        assert "chest-pain is ana&#39;s to change" in refused.text
    assert any(r["action"] == "publish_codelist" for r in _refusals(coded, "bob"))
    with signed_in(coded_site, coded.tokens["eve"]) as client:
        answer = client.get("/my/codelists")
        assert answer.status_code == 403 and "eve is not a member of any approved project" in (
            html.unescape(answer.text)
        )
        assert client.get("/my/codes", params={"term": "asthma"}).status_code == 403
    assert {r["action"] for r in _refusals(coded, "eve")} >= {"list_codelists", "search_codes"}
    with Environment.open(coded.data_dir) as env:
        assert (
            codelists.show(env, coded.tokens["ana"], "chest-pain").versions[0].published_at is None
        )


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(term=st.sampled_from([*RARE, "disorder", "pain", "influenza", "covid", "1", "0", "5"]))
def test_attack_no_search_page_names_a_code_held_by_too_few_people(
    coded_site: Running, coded: Coded, term: str
) -> None:
    with signed_in(coded_site, coded.tokens["ana"]) as client:
        page = client.get("/my/codes", params={"term": term, "system": "snomedct"}).text
    shown = set(re.findall(r"<code>(\d+)</code>", page))
    assert shown <= {ASTHMA}, (term, shown)
    # no rare code anywhere on the page, but as the term the page repeats back
    assert not (set(RARE) - {term}) & set(re.findall(r"\d{6,}", page)), term
    if term in RARE:  # searched for by its very code: still only counted, never listed
        assert "No code held by at least 10 people matches" in html.unescape(page), term
