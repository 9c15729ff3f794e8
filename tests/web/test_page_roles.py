"""No role reaches a signed-in page it lacks: every signed-in route of the application
``fivesafes serve`` builds answers each person exactly as the environment layer answers the same
person called directly (its oracle, the use case the page calls), against a real server.

The table ``ROUTES`` gives each route how its path is filled from the world and its oracle; the
code-list pages and the custodian's and operator's pages are checked the same way by their own
tests (``DELEGATED``), whose tables are read here. The first test fails if the application has a
signed-in route (a path under ``/my``, or a form posted with the session's token) that neither
covers, so a new page cannot skip the property. For every route and person: the page succeeds
(200, or 303 after a POST) exactly when the oracle does; when the oracle is refused the page's
status is the refusal's kind and, when forbidden, a ``refusal`` is in the ledger; a page (a
POST above all) so refused writes nothing else but the uses of the credential (``login``
entries). Without a
session every route sends the person to sign in (and no other route does); a POST without the
session's form token is refused (403) before anything is called or written.

Posts that succeed change the world, so each is made against a target of its own where a second
success would differ (a fresh release request to vote on, a fresh application to decide, a fresh
code list to change); the rest (queue a job, request a release, save a draft, reuse a study)
succeed again for the same person, so the answer is the same each time it is asked.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from page_roles_support import PEOPLE, STUDY, RolesWorld, build_roles_world, saved_form
from portal_support import OUTPUT, Portal
from signed_in_support import form_token, signed_in
from test_codelist_page_roles import PAGES as CODELIST_PAGES
from test_staff_pages import PAGES as STAFF_PAGES

from api.api_support import Running, serving
from environment.environment_support import PROJECT
from fivesafes.api.app import create_app
from fivesafes.api.config import ServerConfig
from fivesafes.environment import (
    Environment,
    RefusalKind,
    Refused,
    applications,
    codelists,
    jobs,
    projects,
    public,
    releases,
)
from fivesafes.environment import reuse as reusing
from fivesafes.governance import Verdict as Decision
from fivesafes.release import Verdict as Vote
from governance.governance_support import application

STATUS_OF = {RefusalKind.FORBIDDEN: 403, RefusalKind.INVALID: 400, RefusalKind.UNAVAILABLE: 503}
NOTE = "a note of the method, no figures"
FRESH = itertools.count()
UNCHANGING = {"refusal", "login"}
"""The ledger's entries that record no change: a refusal, and each use of a credential (a
``login``, allowed or refused, logged by every authentication)."""
Params = dict[str, str]
Oracle = Callable[[Environment, str, Params, RolesWorld, str], object]
"""The environment's use cases the page calls: (env, credential, params, world, person)."""


@dataclass(frozen=True)
class Route:
    """One signed-in route: how its path is filled (fresh targets made through the
    environment as their owners would make them), the form it posts, the key file it uploads
    (whose key is chosen by those with none of their own) and its oracle; None when the page
    calls no use case with the person's credential (what it shows is anyone's to see)."""

    method: str
    template: str
    oracle: Oracle | None
    fill: Callable[[Environment, RolesWorld], Params] = lambda env, world: {}
    form: Callable[[Params], dict[str, str]] = lambda params: {}
    key_of: str | None = None
    why_no_oracle: str = field(default="", compare=False)


def _fresh(prefix: str) -> str:
    return f"{prefix}-{next(FRESH)}"


def _job_page(env: Environment, c: str, p: Params, *_: object) -> None:
    view = jobs.status(env, c, p["job_id"])
    jobs.log(env, c, p["job_id"])
    jobs.codelist_checks(env, c, p["job_id"])
    releasable = [o.path for o in view.record.outputs if o.privacy == "moderately_sensitive"]
    if releasable and view.state == "succeeded":
        releases.check(env, c, view.record.project_id, p["job_id"], releasable)


def _release_request(env: Environment, c: str, p: Params, *_: object) -> None:
    view = jobs.status(env, c, p["job_id"])
    project = view.record.project_id
    releases.request(env, c, project, p["job_id"], [OUTPUT], "roles", {OUTPUT: NOTE})


def _to_vote(env: Environment, world: RolesWorld) -> Params:
    ana = world.tokens["ana"]
    made = releases.request(env, ana, PROJECT, world.job_id, [OUTPUT], "to vote", {OUTPUT: NOTE})
    return {"release_id": made.release_id}


def _to_decide(env: Environment, world: RolesWorld) -> Params:
    project_id = _fresh("roles-app")
    projects.apply(env, world.tokens["ana"], project_id, application("ana", title="To decide"))
    return {"project_id": project_id}


def _until(env: Environment) -> str:
    return (env.cp.today() + timedelta(days=30)).isoformat()


def _decide(env: Environment, c: str, p: Params, world: RolesWorld, who: str) -> None:
    until = date.fromisoformat(p["until"])
    signer = world.signer(who, "val")
    projects.decision(env, c, p["project_id"], Decision.APPROVE, "ok", signer, until)


def _to_change(env: Environment, world: RolesWorld) -> Params:
    slug = _fresh("roles-list")
    codelists.new(env, world.tokens["ana"], "Roles", "snomedct", slug)
    codelists.add(env, world.tokens["ana"], slug, {"195967001": None})
    return {"slug": slug}


ROUTES: tuple[Route, ...] = (
    Route("GET", "/my", lambda env, c, *_: projects.projects_of(env, c)),
    Route("GET", "/my/projects", lambda env, c, *_: projects.projects_of(env, c)),
    Route("GET", "/my/projects/{project_id}",
          lambda env, c, p, *_: (jobs.listing(env, c, p["project_id"]),
                                 releases.listing(env, c, p["project_id"])),
          lambda env, world: {"project_id": PROJECT}),
    Route("POST", "/my/projects/{project_id}/jobs",
          lambda env, c, p, *_: jobs.submit_commit(env, c, p["project_id"], p["commit"]),
          lambda env, world: {"project_id": STUDY},
          lambda p: {"commit": p["commit"]}),
    Route("GET", "/my/jobs/{job_id}", _job_page,
          lambda env, world: {"job_id": world.job_id}),
    Route("POST", "/my/jobs/{job_id}/release", _release_request,
          lambda env, world: {"job_id": world.job_id},
          lambda p: {"file": OUTPUT, "justification": "roles", f"exception:{OUTPUT}": NOTE}),
    Route("GET", "/my/reviews", lambda env, c, *_: releases.review_queue(env, c)),
    Route("GET", "/my/releases/{release_id}",
          lambda env, c, p, *_: releases.show(env, c, p["release_id"]),
          lambda env, world: {"release_id": world.release_id}),
    Route("POST", "/my/releases/{release_id}/vote",
          lambda env, c, p, world, who: releases.review(
              env, c, p["release_id"], Vote.APPROVE, "ok", world.signer(who, "chk1")),
          _to_vote, lambda p: {"verdict": Vote.APPROVE.value, "comments": "ok"}, "chk1"),
    Route("GET", "/my/applications",
          lambda env, c, *_: (applications.mine(env, c), projects.awaiting_decision(env, c))),
    Route("GET", "/my/applications/{project_id}",
          lambda env, c, p, *_: public.project(env, p["project_id"]),
          lambda env, world: {"project_id": STUDY}),
    Route("POST", "/my/applications/{project_id}/decision", _decide, _to_decide,
          lambda p: {"verdict": Decision.APPROVE.value, "reasons": "ok", "until": p["until"]},
          "val"),
    Route("GET", "/my/applications/new", lambda env, c, *_: applications.start(env, c)),
    Route("POST", "/my/applications/new",
          lambda env, c, p, *_: applications.save(env, c, None, p["new"], saved_form("Roles")),
          lambda env, world: {"new": _fresh("roles-new")},
          lambda p: {"project_id": p["new"], "title": "Roles"}),
    Route("GET", "/my/drafts/{draft_id}",
          lambda env, c, p, *_: applications.draft(env, c, p["draft_id"]),
          lambda env, world: {"draft_id": world.draft_id}),
    Route("POST", "/my/drafts/{draft_id}",
          lambda env, c, p, *_: applications.save(
              env, c, p["draft_id"], "roles-draft", saved_form("Roles")),
          lambda env, world: {"draft_id": world.draft_id},
          lambda p: {"project_id": "roles-draft", "title": "Roles"}),
    Route("POST", "/my/codelists/{slug}/add",
          lambda env, c, p, *_: codelists.add(env, c, p["slug"], {"73211009": None}),
          _to_change, lambda p: {"code": "73211009"}),
    Route("POST", "/my/codelists/{slug}/remove",
          lambda env, c, p, *_: codelists.remove(env, c, p["slug"], ["195967001"]),
          _to_change, lambda p: {"code": "195967001"}),
    Route("POST", "/library/{project_id}/{commit}/reuse",
          lambda env, c, p, *_: reusing.reuse(env, c, p["project_id"], p["commit"]),
          lambda env, world: {"project_id": STUDY, "commit": world.commit}),
    Route("POST", "/sign-out", None,
          why_no_oracle="ends the session; the environment is not asked"),
)  # fmt: skip
"""Every signed-in route this test checks itself."""
DELEGATED: dict[str, tuple[tuple[str, str], ...]] = {
    "test_codelist_page_roles.py": tuple(
        ("GET" if p.form is None else "POST", p.path) for p in CODELIST_PAGES
    ),
    "test_staff_pages.py": tuple(("GET", path) for path in STAFF_PAGES),
}
"""The routes other tests hold to the same property, as those tests ask for them."""
NOT_SIGNED_IN = {("POST", "/sign-in")}
"""The one form posted without a session: how a session is started."""


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + r"(\?.*)?")


def _portal_routes(world: RolesWorld) -> set[tuple[str, str]]:
    """Every (method, path template) of the portal in the application ``fivesafes serve``
    builds: the routes kept out of the API's OpenAPI document."""
    app = create_app(ServerConfig(world.data_dir, "http://127.0.0.1"))
    found = set()
    for mounted in app.routes:
        for route in getattr(mounted, "effective_route_contexts", lambda: ())():
            if not route.include_in_schema:
                found |= {(m, route.path) for m in route.methods - {"HEAD"}}
    return found


def _signed_in_routes(routes: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(m, p) for m, p in routes if p.startswith("/my") or m == "POST"} - NOT_SIGNED_IN


@pytest.fixture(scope="module")
def world(portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> RolesWorld:
    return build_roles_world(portal, tmp_path_factory.mktemp("roles"))


@pytest.fixture(scope="module")
def roles_site(world: RolesWorld) -> Iterator[Running]:
    with serving(world.data_dir) as running:
        yield running


@pytest.fixture(scope="module")
def env(world: RolesWorld, roles_site: Running) -> Iterator[Environment]:
    with Environment.open(world.data_dir, recover=False) as opened:
        yield opened


def _filled(route: Route, env: Environment, world: RolesWorld) -> Params:
    """The route's path parameters, and what its forms take from the world (the study's
    commit, an approval's end)."""
    return route.fill(env, world) | {"commit": world.commit, "until": _until(env)}


def _oracle(env: Environment, world: RolesWorld, who: str, route: Route) -> RefusalKind | None:
    """How the environment answers ``who`` for the route's use cases, on a target of its own."""
    if route.oracle is None:
        return None
    try:
        route.oracle(env, world.tokens[who], _filled(route, env, world), world, who)
    except Refused as refused:
        return refused.kind
    return None


def _ask(
    client: httpx.Client, route: Route, params: Params, who: str, world: RolesWorld, token: str
) -> httpx.Response:
    path = route.template.format(**params)
    if route.method == "GET":
        return client.get(path)
    data = route.form(params) | ({"csrf_token": token} if token else {})
    files = None
    if route.key_of is not None:
        files = {"key": ("key.pem", world.key(who, route.key_of), "application/x-pem-file")}
    return client.post(path, data=data, files=files)


def _logged(env: Environment) -> int:
    """How many entries the ledger holds as stored (the server writes them, not this process)."""
    return sum(1 for _ in env.cp.ledger.entries())


def _entries(env: Environment, start: int) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in env.cp.ledger.entries(start)]


def _problem(page: str) -> str:
    """The error summary's words, to say in a failure what the page said."""
    found = re.search(r'nhsuk-error-summary__body">(.*?)</div>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def answers_as_the_environment(
    site: Running, env: Environment, world: RolesWorld, who: str, route: Route
) -> None:
    """The property for one person and one route (each ask signed in afresh: one route ends
    the session)."""
    expected = _oracle(env, world, who, route)
    params = _filled(route, env, world)
    with signed_in(site, world.tokens[who]) as client:
        token = form_token(client.get("/my/projects").text)
        before = _logged(env)
        answer = _ask(client, route, params, who, world, token)
    said = (who, route.method, route.template, answer.status_code)
    new = _entries(env, before)
    if expected is None:
        done = 303 if route.method == "POST" else 200
        assert answer.status_code == done, (said, _problem(answer.text))
        assert "There is a problem" not in answer.text, said
        return
    assert answer.status_code == STATUS_OF[expected], (said, expected, _problem(answer.text))
    assert "There is a problem" in answer.text, said
    refusals = [e["subject"] for e in new if e["kind"] == "refusal"]
    if expected is RefusalKind.FORBIDDEN:
        assert any(r["kind"] == "forbidden" for r in refusals), (said, new)
    # refused: nothing written but the refusal and the uses of the credential
    assert [e["kind"] for e in new if e["kind"] not in UNCHANGING] == [], (said, new)


def test_every_signed_in_route_of_the_application_is_held_to_the_property(
    world: RolesWorld,
) -> None:
    signed = _signed_in_routes(_portal_routes(world))
    mine = {(r.method, r.template) for r in ROUTES}
    assert len(mine) == len(ROUTES), "a route is in the table twice"
    assert [r.template for r in ROUTES if r.oracle is None and not r.why_no_oracle] == []
    delegated = set()
    for test, asked in DELEGATED.items():
        for method, path in asked:
            matched = {(m, t) for m, t in signed if m == method and _pattern(t).fullmatch(path)}
            assert len(matched) == 1, (test, method, path, matched)
            delegated |= matched
    assert mine & delegated == set(), "a route is checked here and delegated"
    assert signed - mine - delegated == set(), "signed-in routes no test holds to the property"
    assert mine - signed == set(), "the table names a route the application does not have"


def test_without_a_session_every_signed_in_route_goes_to_sign_in(
    roles_site: Running, env: Environment, world: RolesWorld
) -> None:
    signed = _signed_in_routes(_portal_routes(world))
    with httpx.Client(base_url=roles_site.base_url) as client:
        for method, template in sorted(signed):
            path = re.sub(r"\{[^}]+\}", "x", template)
            answer = client.request(method, path)
            assert answer.status_code == 303, (method, path)
            assert answer.headers["location"] == "/sign-in", (method, path)
        for method, template in sorted(_portal_routes(world) - signed):  # and no other asks
            path = re.sub(r"\{[^}]+\}", "x", template)
            answer = client.request(method, path)
            assert answer.headers.get("location") != "/sign-in", (method, path)


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.method == "POST"], ids=lambda r: r.template
)
def test_a_post_without_the_session_form_token_is_refused_before_anything_is_called(
    roles_site: Running, env: Environment, world: RolesWorld, route: Route
) -> None:
    params = _filled(route, env, world)
    for who in PEOPLE:
        with signed_in(roles_site, world.tokens[who]) as client:
            before = _logged(env)
            answer = _ask(client, route, params, who, world, token="")
            assert answer.status_code == 403, (who, route.template)
            assert "There is a problem" in answer.text
            assert _logged(env) == before, (who, route.template)  # not even a refusal


@pytest.mark.parametrize("who", PEOPLE)
def test_every_route_answers_every_person_as_the_environment_does(
    roles_site: Running, env: Environment, world: RolesWorld, who: str
) -> None:
    for route in ROUTES:
        answers_as_the_environment(roles_site, env, world, who, route)


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(who=st.sampled_from(PEOPLE), route=st.sampled_from(ROUTES))
def test_a_route_answers_a_person_as_the_environment_does_in_any_order(
    roles_site: Running, env: Environment, world: RolesWorld, who: str, route: Route
) -> None:
    answers_as_the_environment(roles_site, env, world, who, route)


def test_the_rules_let_through_only_the_people_they_name(
    env: Environment, world: RolesWorld
) -> None:
    """What the property compares to is the role model, not an accident of the world: each
    use case lets in exactly these people."""
    allowed = {
        f"{r.method} {r.template}": {w for w in PEOPLE if _oracle(env, world, w, r) is None}
        for r in ROUTES
        if r.oracle is not None
    }
    everyone = set(PEOPLE)
    assert allowed == {
        "GET /my": everyone,
        "GET /my/projects": everyone,
        "GET /my/projects/{project_id}": {"ana", "cus"},  # the custodian oversees jobs
        "POST /my/projects/{project_id}/jobs": {"ana"},
        "GET /my/jobs/{job_id}": {"ana"},
        "POST /my/jobs/{job_id}/release": {"ana"},
        "GET /my/reviews": {"chk1", "chk2"},
        "GET /my/releases/{release_id}": {"ana", "chk1", "chk2"},
        "POST /my/releases/{release_id}/vote": {"chk1", "chk2"},
        "GET /my/applications": everyone,
        "GET /my/applications/{project_id}": everyone,
        "POST /my/applications/{project_id}/decision": {"val"},
        "GET /my/applications/new": {"ana", "bea"},
        "POST /my/applications/new": {"ana", "bea"},
        "GET /my/drafts/{draft_id}": {"ana"},
        "POST /my/drafts/{draft_id}": {"ana"},
        "POST /my/codelists/{slug}/add": {"ana"},
        "POST /my/codelists/{slug}/remove": {"ana"},
        "POST /library/{project_id}/{commit}/reuse": {"ana", "bea"},
    }
