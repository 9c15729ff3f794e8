"""No role reaches a code-list page it lacks: for random (person, page) pairs the page answers
as the environment layer answers the same person (the page's status is the refusal's kind, or
success), and each refusal is a ``refusal`` entry in the ledger, naming the use case. A
custodian, an approver and an analyst on no approved project build nothing; an analyst on the
project who does not own a list cannot publish it.

Each page, when allowed, leaves the next answer as it was: a new list has a fresh slug each
time, and the version published is one already published (publishing it again writes nothing).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson
import pytest
from codelist_support import Coded
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from signed_in_support import form_token, signed_in

from api.api_support import Running
from fivesafes.environment import Environment, RefusalKind, Refused, codelists

PEOPLE = ("cus", "val", "ana", "bob", "eve")
"""A custodian, an approver, the list's owner and another analyst on the approved project,
and an analyst on no project."""
LIST = "roles-asthma"
FRESH = itertools.count()
STATUS_OF = {RefusalKind.FORBIDDEN: 403, RefusalKind.INVALID: 400, RefusalKind.UNAVAILABLE: 503}


@dataclass(frozen=True)
class Page:
    """One page: its use case's name in the ledger, how the browser asks for it (a form's
    fields, if it posts) and the environment layer's call for the same person."""

    name: str
    action: str
    path: str
    form: Callable[[], dict[str, str]] | None
    direct: Callable[[Environment, str], object]


def _slug() -> str:
    return f"page-made-{next(FRESH)}"


PAGES = (
    Page("the code lists", "list_codelists", "/my/codelists", None,
         lambda env, c: codelists.listing(env, c)),
    Page("a list", "show_codelist", f"/my/codelists/{LIST}", None,
         lambda env, c: codelists.show(env, c, LIST)),
    Page("a search", "search_codes", "/my/codes?term=asthma", None,
         lambda env, c: codelists.search(env, c, "asthma")),
    Page("make a list", "new_codelist", "/my/codelists",
         lambda: {"name": "Made", "system": "snomedct", "slug": _slug()},
         lambda env, c: codelists.new(env, c, "Made", "snomedct", _slug())),
    Page("publish a version", "publish_codelist", f"/my/codelists/{LIST}/publish",
         lambda: {"version": "1"}, lambda env, c: codelists.publish(env, c, f"{LIST}/1")),
)  # fmt: skip


@pytest.fixture(scope="module")
def env(coded: Coded) -> Iterator[Environment]:
    with Environment.open(coded.data_dir) as opened:
        ana = coded.tokens["ana"]
        codelists.new(opened, ana, "Asthma", "snomedct", LIST)
        codelists.add(opened, ana, LIST, {"195967001": None})
        codelists.publish(opened, ana, f"{LIST}/1")
        yield opened


def directly(env: Environment, coded: Coded, page: Page, who: str) -> RefusalKind | None:
    try:
        page.direct(env, coded.tokens[who])
    except Refused as refused:
        return refused.kind
    return None


def _refusals(env: Environment) -> list[dict[str, object]]:
    found = map(orjson.loads, env.cp.ledger.entries())
    return [e["subject"] for e in found if e["kind"] == "refusal"]


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(who=st.sampled_from(PEOPLE), page=st.sampled_from(PAGES))
def test_each_page_answers_each_person_as_the_environment_does_and_logs_each_refusal(
    coded_site: Running, coded: Coded, env: Environment, who: str, page: Page
) -> None:
    expected = directly(env, coded, page, who)
    with signed_in(coded_site, coded.tokens[who]) as client:
        if page.form is None:
            logged = len(_refusals(env))
            answer = client.get(page.path)
        else:
            token = form_token(client.get("/my/projects").text)
            logged = len(_refusals(env))
            answer = client.post(page.path, data={**page.form(), "csrf_token": token})
    if expected is None:
        assert answer.status_code in (200, 303), (who, page.name, answer.text)
        assert "There is a problem" not in answer.text
        return
    assert answer.status_code == STATUS_OF[expected], (who, page.name, answer.status_code)
    assert "There is a problem" in answer.text
    new = _refusals(env)[logged:]
    assert [(r["action"], r["kind"]) for r in new] == [(page.action, expected.value)], new


def test_only_the_people_the_rules_name_get_through(coded: Coded, env: Environment) -> None:
    allowed = {p.name: {w for w in PEOPLE if directly(env, coded, p, w) is None} for p in PAGES}
    assert allowed == {
        p.name: {"ana"} if p.name == "publish a version" else {"ana", "bob"} for p in PAGES
    }
