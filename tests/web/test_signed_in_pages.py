"""The portal's signed-in pages over HTTP, against the real server: sign-in and its cookie, an
analyst's projects, jobs, outputs and release request, an output checker's queue and blind vote.
Each form is refused without the session's form token, a person outside the project is refused
by the environment (and the refusal is in the ledger), and no credential is ever in a URL or a
page."""

from __future__ import annotations

import re
import time

import httpx
import orjson
from portal_support import OUTPUT, WAITING, Portal
from signed_in_support import form_token, signed_in

from api.api_support import Running, serving
from fivesafes.environment import Environment, onboarding
from fivesafes.governance.totp import from_b32, hotp, step_at


def test_without_a_session_every_page_goes_to_sign_in(site: Running, portal: Portal) -> None:
    with httpx.Client(base_url=site.base_url) as client:
        for path in (
            "/my/projects",
            f"/my/jobs/{portal.job_id}",
            "/my/reviews",
            f"/my/releases/{portal.release_id}",
        ):
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"
        posted = client.post(f"/my/jobs/{portal.job_id}/release", data={"file": OUTPUT})
        assert posted.status_code == 303 and posted.headers["location"] == "/sign-in"
        client.cookies.set("fivesafes_session", "not-a-session")
        assert client.get("/my/projects").status_code == 303


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(
    site: Running, portal: Portal
) -> None:
    with httpx.Client(base_url=site.base_url) as client:
        answer = client.post("/sign-in", data={"token": portal.tokens["ana"]})
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # served over plain HTTP on loopback here
        assert portal.tokens["ana"] not in cookie
        page = client.get("/my/projects").text
        assert "Signed in as ana" in page and portal.tokens["ana"] not in page
        assert client.post("/sign-out", data={}).status_code == 403  # no form token
        out = client.post("/sign-out", data={"csrf_token": form_token(page)})
        assert out.status_code == 303 and "fivesafes_session=" in out.headers["set-cookie"]
        assert client.get("/my/projects").status_code == 303


def test_a_wrong_token_is_refused_on_the_page_and_in_the_ledger(
    site: Running, portal: Portal
) -> None:
    with httpx.Client(base_url=site.base_url) as client:
        answer = client.post("/sign-in", data={"token": "fst_not-a-real-token"})
        assert answer.status_code in (400, 403) and "There is a problem" in answer.text
        assert "set-cookie" not in answer.headers
        assert client.post("/sign-in", data={"token": ""}).status_code == 400


def test_an_analyst_follows_a_job_and_requests_a_release(site: Running, portal: Portal) -> None:
    with signed_in(site, portal.tokens["ana"]) as client:
        mine = client.get("/my/projects").text
        assert 'href="/my/projects/heat"' in mine
        project = client.get("/my/projects/heat").text
        assert f'href="/my/jobs/{portal.job_id}"' in project
        assert f'href="/my/releases/{portal.release_id}"' in project
        job = client.get(f"/my/jobs/{portal.job_id}").text
        assert "Succeeded" in job and OUTPUT in job and "Disclosure report for" in job
        token = form_token(job)
        asked = {"file": OUTPUT, "justification": "the method note, again"}
        asked[f"exception:{OUTPUT}"] = "a note of the method, no figures"
        refused = client.post(f"/my/jobs/{portal.job_id}/release", data=asked)
        assert refused.status_code == 403  # no form token: nothing was asked
        made = client.post(f"/my/jobs/{portal.job_id}/release", data={**asked, "csrf_token": token})
        assert made.status_code == 303, made.text
        release = client.get(made.headers["location"]).text
        assert "Submitted" in release and "the method note, again" in release
        assert "Your vote" not in release  # an analyst has no vote to cast
        for answer in (made, client.get(made.headers["location"])):
            assert portal.tokens["ana"] not in str(answer.url) + answer.text


def test_a_person_outside_the_project_is_refused_and_it_is_logged(
    site: Running, portal: Portal
) -> None:
    with signed_in(site, portal.tokens["val"]) as client:
        assert 'href="/my/projects/heat"' not in client.get("/my/projects").text
        for path in ("/my/projects/heat", f"/my/jobs/{portal.job_id}"):
            answer = client.get(path)
            assert answer.status_code == 403 and "There is a problem" in answer.text
    with Environment.open(portal.data_dir, recover=False) as env:
        refused = {
            e["subject"]["action"]
            for e in map(orjson.loads, env.cp.ledger.entries())
            if e["kind"] == "refusal" and e["actor"] == "val"
        }
    assert {"list_jobs", "job_status"} <= refused


def test_a_checker_votes_blind_and_a_forged_vote_is_refused(site: Running, portal: Portal) -> None:
    with signed_in(site, portal.tokens["ana"]) as analyst:
        job = analyst.get(f"/my/jobs/{portal.job_id}").text
        asked = {"file": OUTPUT, "justification": "for the vote", "csrf_token": form_token(job)}
        asked[f"exception:{OUTPUT}"] = "a note of the method, no figures"
        release_path = analyst.post(f"/my/jobs/{portal.job_id}/release", data=asked).headers[
            "location"
        ]
    release_id = release_path.rsplit("/", 1)[1]
    votes: list[str] = []
    for checker in ("chk1", "chk2"):
        with signed_in(site, portal.tokens[checker]) as client:
            queue = client.get("/my/reviews").text
            assert f'href="{release_path}"' in queue
            page = client.get(release_path).text
            assert "Your vote" in page and "Disclosure report" in page
            votes.append(page)
            key = {"key": ("key.pem", portal.keys[checker], "application/x-pem-file")}
            ballot = {"verdict": "approve", "comments": f"fine by {checker}"}
            forged = client.post(f"{release_path}/vote", data=ballot, files=key)
            assert forged.status_code == 403
            theirs = {**ballot, "csrf_token": form_token(job)}  # another session's token
            assert client.post(f"{release_path}/vote", data=theirs, files=key).status_code == 403
            cast = client.post(
                f"{release_path}/vote", data={**ballot, "csrf_token": form_token(page)}, files=key
            )
            assert cast.status_code == 303, cast.text
    assert "fine by chk1" not in votes[1]  # sealed: the second checker did not see the first
    with signed_in(site, portal.tokens["chk1"]) as client:
        done = client.get(release_path).text
        assert "Approved" in done and "fine by chk2" in done
        assert f'href="{release_path}"' not in client.get("/my/reviews").text
    assert release_id


def test_an_analyst_cannot_vote_on_their_own_request(site: Running, portal: Portal) -> None:
    with signed_in(site, portal.tokens["ana"]) as client:
        page = client.get(f"/my/jobs/{portal.job_id}").text
        asked = {"file": OUTPUT, "justification": "mine", "csrf_token": form_token(page)}
        asked[f"exception:{OUTPUT}"] = "a note of the method, no figures"
        path = client.post(f"/my/jobs/{portal.job_id}/release", data=asked).headers["location"]
        key = {"key": ("key.pem", portal.keys["chk1"], "application/x-pem-file")}
        ballot = {"verdict": "approve", "comments": "self", "csrf_token": form_token(page)}
        answer = client.post(f"{path}/vote", data=ballot, files=key)
        assert answer.status_code == 403 and "There is a problem" in answer.text
        assert re.search(r"Votes sealed</dt><dd[^>]*>0<", client.get(path).text)


def test_an_approver_decides_an_application_signed_with_their_key(
    site: Running, portal: Portal
) -> None:
    key = {"key": ("val.pem", portal.keys["val"], "application/x-pem-file")}
    with signed_in(site, portal.tokens["ana"]) as analyst:
        page = analyst.get(f"/my/applications/{WAITING}").text
        assert "Your decision" not in page  # an analyst has no decision to make
    with signed_in(site, portal.tokens["val"]) as client:
        assert f'href="/my/applications/{WAITING}"' in client.get("/my/applications").text
        page = client.get(f"/my/applications/{WAITING}").text
        assert "Your decision" in page
        ballot = {"verdict": "approve", "reasons": "sound", "until": "2099-01-01"}
        path = f"/my/applications/{WAITING}/decision"
        assert client.post(path, data=ballot, files=key).status_code == 403  # no form token
        ballot["csrf_token"] = form_token(page)
        wrong_key = {"key": ("chk1.pem", portal.keys["chk1"], "application/x-pem-file")}
        refused = client.post(path, data=ballot, files=wrong_key)
        assert refused.status_code == 403 and "There is a problem" in refused.text
        decided = client.post(path, data=ballot, files=key)
        assert decided.status_code == 303, decided.text
        after = client.get(f"/my/applications/{WAITING}").text
        assert "signature verifies" in after and "Your decision" not in after
    assert "Signature verifies" in httpx.get(f"{site.base_url}/projects/{WAITING}").text


def test_a_person_with_an_authenticator_signs_in_with_its_code(
    site: Running, portal: Portal
) -> None:
    """The exchange of ``fivesafes sign-in``: token and current code for a signed-in token that
    the session then holds; a wrong code is refused by the environment and logged."""
    with Environment.open(portal.data_dir, recover=False) as env:
        secret = from_b32(onboarding.set_up_second_factor(env, portal.tokens["val"]).secret)
        now = step_at(time.time())
        onboarding.confirm_second_factor(env, portal.tokens["val"], hotp(secret, now - 1))
    with httpx.Client(base_url=site.base_url) as client:
        wrong = client.post("/sign-in", data={"token": portal.tokens["val"], "code": "000000"})
        assert wrong.status_code in (400, 403) and "set-cookie" not in wrong.headers
        code = hotp(secret, step_at(time.time()) + 1)
        answer = client.post("/sign-in", data={"token": portal.tokens["val"], "code": code})
        assert answer.status_code == 303, answer.text
        page = client.get("/my/projects").text
        assert "Signed in as val" in page and code not in page
    with Environment.open(portal.data_dir, recover=False) as env:
        refused = [
            e["subject"]["action"]
            for e in map(orjson.loads, env.cp.ledger.entries())
            if e["kind"] == "refusal" and e["actor"] == "val"
        ]
    assert "sign_in" in refused


def test_behind_tls_the_session_cookie_is_secure(portal: Portal) -> None:
    """A portal whose public address is https:// (TLS ended in front of it) marks the cookie
    Secure, so a browser never sends it over plain HTTP."""
    behind_tls = serving(portal.data_dir, base_url="https://portal.example.nhs.uk")
    with behind_tls as running, httpx.Client(base_url=running.base_url) as client:
        answer = client.post("/sign-in", data={"token": portal.tokens["ana"]})
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"] and "HttpOnly" in answer.headers["set-cookie"]
