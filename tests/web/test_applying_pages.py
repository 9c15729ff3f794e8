"""Applying through the portal over HTTP, against the real server: a draft saved unfinished,
shown again with what it lacks, refused at submission with each field named and linked, then
submitted and followed with its waits; and the attacks: another analyst reading, changing or
submitting someone's draft by its address, a form without the session's token, a draft looked
for on the public site. The project page's job form refuses what it must."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
from portal_support import Portal
from signed_in_support import form_token, signed_in

from api.api_support import Running
from environment.environment_support import PROJECT
from fivesafes.environment import Environment

COLUMNS = ["patients.patient_id", "patients.sex"]


def _answers(page: str, **given: Any) -> dict[str, Any]:
    return {"csrf_token": form_token(page), "intent": "save", **given}


def _draft_path(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/my/drafts/draft-[0-9a-f]{16}\?saved=1", location), location
    return location.split("?")[0]


def test_an_analyst_saves_a_draft_comes_back_and_submits_it(site: Running, portal: Portal) -> None:
    with signed_in(site, portal.tokens["ana"]) as client:
        blank = client.get("/my/applications/new", params={"repository": "https://x.org/s"})
        assert blank.status_code == 200 and 'value="https://x.org/s"' in blank.text
        assert 'value="ana"' in blank.text  # the applicant is a member to begin with
        first = _answers(blank.text, project_id="drafted", title="Drafted study", members="ana")
        path = _draft_path(client.post("/my/applications/new", data=first))
        page = client.get(path + "?saved=1").text
        assert "Your draft was saved" in page and 'value="Drafted study"' in page
        assert "Your draft was saved" not in client.get(path).text
        assert "Before you can submit" in page and 'href="#legal_basis"' in page
        assert "Drafted study" in client.get("/my/applications").text  # listed, as a draft
        early = {**_answers(page, project_id="drafted", title="Drafted study", members="ana")}
        refused = client.post(path, data={**early, "intent": "submit"})
        assert refused.status_code == 400 and "There is a problem" in refused.text
        for field in ("legal_basis", "public_benefit", "datasets", "planned_outputs"):
            assert f'<a href="#{field}">' in refused.text  # the summary links to the field
            assert f'id="{field}-error"' in refused.text  # and the field says what is wrong
        assert 'id="datasets"' in refused.text and 'id="legal_basis"' in refused.text
        whole = _answers(
            refused.text,
            intent="submit",
            project_id="drafted",
            title="Drafted study",
            organisation="Test University",
            purpose="research",
            purpose_description="Whether drafts work.",
            public_benefit="Applications made in one sitting or several.",
            legal_basis="UK GDPR 6(1)(e) and 9(2)(j)",
            repository=str(portal.repository),
            members="ana",
            planned_outputs="a table\na note",
            column=COLUMNS,
        )
        done = client.post(path, data=whole)
        assert done.status_code == 303 and done.headers["location"].endswith("submitted=drafted")
        listed = client.get(done.headers["location"]).text
        assert "was submitted" in listed and "Submitted" in listed and "waiting since" in listed
        assert client.post(path, data=whole).status_code == 400  # once only
    public = httpx.get(f"{site.base_url}/projects/drafted").text
    assert "Whether drafts work." in public


def test_another_analyst_cannot_see_change_or_submit_my_draft(
    site: Running, portal: Portal
) -> None:
    with signed_in(site, portal.tokens["ana"]) as ana:
        blank = ana.get("/my/applications/new").text
        mine = _answers(blank, project_id="private-one", title="Only mine", members="ana")
        path = _draft_path(ana.post("/my/applications/new", data=mine))
    with signed_in(site, portal.tokens["bea"]) as bea:
        own = bea.get("/my/applications").text
        assert "Only mine" not in own and path not in own
        seen = bea.get(path)
        nothing = bea.get("/my/drafts/draft-0000000000000000")
        assert seen.status_code == nothing.status_code == 403
        assert "Only mine" not in seen.text and "There is a problem" in seen.text
        token = form_token(own)
        for intent in ("save", "submit"):
            theirs = {"csrf_token": token, "intent": intent, "title": "Taken", "members": "bea"}
            answer = bea.post(path, data={**theirs, "project_id": "private-one"})
            assert answer.status_code == 403 and "Taken" not in answer.text
    with signed_in(site, portal.tokens["ana"]) as ana:
        page = ana.get(path).text
        assert 'value="Only mine"' in page and "Taken" not in page
        forged = {k: v for k, v in mine.items() if k != "csrf_token"}
        assert ana.post(path, data=forged).status_code == 403  # no form token
    assert "Only mine" not in httpx.get(f"{site.base_url}/projects").text
    assert httpx.get(f"{site.base_url}/projects/private-one").status_code == 404
    with Environment.open(portal.data_dir, recover=False) as env:
        refused = [
            e["subject"]["action"]
            for e in map(orjson.loads, env.cp.ledger.entries())
            if e["kind"] == "refusal" and e["actor"] == "bea"
        ]
    assert {"show_application_draft", "save_application_draft"} <= set(refused)


def test_the_project_page_submits_a_job_only_with_its_token_and_for_a_member(
    site: Running, portal: Portal
) -> None:
    """The refusals of the project page's job form (its success, queued and run by a worker, is
    the browser journey's): no form token, a commit that is no commit (linked to the field, and
    refused before anything is fetched), someone off the project."""
    path = f"/my/projects/{PROJECT}/jobs"
    with signed_in(site, portal.tokens["ana"]) as client:
        page = client.get(f"/my/projects/{PROJECT}").text
        assert f'action="{path}"' in page and 'id="commit"' in page
        assert client.post(path, data={"commit": portal.commit}).status_code == 403  # no token
        bad = client.post(path, data={"commit": "not-a-commit", "csrf_token": form_token(page)})
        assert bad.status_code == 400 and '<a href="#commit">' in bad.text
        assert 'id="commit-error"' in bad.text and 'value="not-a-commit"' in bad.text
    with signed_in(site, portal.tokens["bea"]) as stranger:
        page = stranger.get("/my/applications").text
        answer = stranger.post(path, data={"commit": portal.commit, "csrf_token": form_token(page)})
        assert answer.status_code == 403 and "There is a problem" in answer.text


def test_an_answer_too_long_is_refused_and_the_form_stays_with_its_draft(
    site: Running, portal: Portal
) -> None:
    with signed_in(site, portal.tokens["ana"]) as client:
        blank = client.get("/my/applications/new").text
        kept = _answers(blank, project_id="long-one", title="Kept title", members="ana")
        path = _draft_path(client.post("/my/applications/new", data=kept))
        page = client.get(path).text
        answer = client.post(path, data=_answers(page, title="x" * 20_001, members="ana"))
        assert answer.status_code == 400 and "title is longer than" in answer.text
        assert f'action="{path}"' in answer.text  # saving again changes this draft, no other
        assert 'value="Kept title"' in client.get(path).text
