"""No role reaches a code-list operation it lacks, through the API: for random (person,
operation) pairs the answer over HTTP is the environment layer's own answer for the same person
(the one ``fivesafes codelist`` gets), every refusal is a ``refusal`` entry in the ledger naming
the person and the use case, and the operations succeed only for those the rules name: an analyst
on an approved project builds and searches; only a list's owner changes or publishes it.

Each operation, when allowed, leaves the next answer as it was: a new list has a fresh slug each
time, an addition gives a code a fresh term, a removal is of a code put back first."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from api_support import Running, serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from v1_support import V1, V1World, build_v1_world

from environment.environment_support import GRANT, People
from fivesafes.environment import Environment, RefusalKind, Refused, codelists, projects
from fivesafes.governance import Role, Verdict
from governance.governance_support import application

PEOPLE = ("cara", "dana", "pat", "olly", "ana", "bob", "ben", "val", "oc1", "nobody", "forged")
"""A custodian, a clinician, a patient, an organisation's administrator, the list's owner (an
analyst on an approved project), an analyst on another approved project, an analyst on none, an
approver, an output checker; no token; a made-up token."""
LIST, CODE, SPARE = "diabetes", "44054006", "195967001"
SECOND = "cold-homes"
"""Bob's approved project."""
FRESH = itertools.count()
STATUS_OF = {RefusalKind.FORBIDDEN: {401, 403}, RefusalKind.INVALID: {400},
             RefusalKind.UNAVAILABLE: {503}}  # fmt: skip


@dataclass
class Target:
    v1: V1World
    running: Running
    env: Environment

    def token(self, who: str) -> str:
        made_up = {"nobody": "", "forged": "fse_made-up"}
        return made_up[who] if who in made_up else self.v1.tokens[who]

    def put_back(self) -> None:
        """The owner's list holds ``SPARE`` again, so that a removal has something to remove."""
        held = {
            c.code for c in codelists.show(self.env, self.v1.tokens["ana"], LIST).versions[-1].codes
        }
        if SPARE not in held:
            codelists.add(self.env, self.v1.tokens["ana"], LIST, {SPARE: None})


@dataclass(frozen=True)
class Operation:
    """One code-list operation: its use case's name in the ledger, as HTTP sends it (path and
    body made afresh for each call) and as the environment layer is called."""

    name: str
    action: str
    method: str
    path: str
    body: Callable[[], Any] | None
    direct: Callable[[Target, str], object]
    before: Callable[[Target], None] = lambda t: None


def _slug() -> str:
    return f"made-{next(FRESH)}"


def _term() -> str:
    return f"Diabetes, take {next(FRESH)}"


OPERATIONS = (
    Operation("search the codes", "search_codes", "GET", "/codes?term=diabetes", None,
              lambda t, c: codelists.search(t.env, c, "diabetes")),
    Operation("list the code lists", "list_codelists", "GET", "/codelists", None,
              lambda t, c: codelists.listing(t.env, c)),
    Operation("see a list", "show_codelist", "GET", f"/codelists/{LIST}", None,
              lambda t, c: codelists.show(t.env, c, LIST)),
    Operation("make a list", "new_codelist", "POST", "/codelists",
              lambda: {"name": "Mine", "system": "snomedct", "slug": _slug()},
              lambda t, c: codelists.new(t.env, c, "Mine", "snomedct", _slug())),
    Operation("add codes", "change_codelist", "POST", f"/codelists/{LIST}/additions",
              lambda: {"codes": {CODE: _term()}},
              lambda t, c: codelists.add(t.env, c, LIST, {CODE: _term()})),
    Operation("remove codes", "change_codelist", "POST", f"/codelists/{LIST}/removals",
              lambda: {"codes": [SPARE]},
              lambda t, c: codelists.remove(t.env, c, LIST, [SPARE]), Target.put_back),
    Operation("publish a version", "publish_codelist", "POST",
              f"/codelists/{LIST}/versions/1/publication", None,
              lambda t, c: codelists.publish(t.env, c, f"{LIST}/1")),
    Operation("download a version", "export_codelist", "GET",
              f"/codelists/{LIST}/versions/1/csv", None,
              lambda t, c: codelists.export_csv(t.env, c, f"{LIST}/1")),
)  # fmt: skip


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    v1 = build_v1_world(tmp_path_factory.mktemp("v1codelistroles"))
    with serving(v1.world.data_dir) as running, Environment.open(v1.world.data_dir) as env:
        people = People(env, v1.tokens, v1.keys, custodian="cara")
        people.add("bob", Role.ANALYST)
        projects.apply(env, v1.tokens["bob"], SECOND, application("bob", datasets=GRANT))
        until = env.cp.today() + timedelta(days=30)
        val = v1.tokens["val"]
        projects.decision(env, val, SECOND, Verdict.APPROVE, "ok", v1.keys["val"], until)
        ana = v1.tokens["ana"]
        codelists.new(env, ana, "Diabetes", "snomedct", LIST)
        codelists.add(env, ana, LIST, {CODE: None, SPARE: None})
        codelists.publish(env, ana, f"{LIST}/1")
        yield Target(v1, running, env)


def directly(target: Target, operation: Operation, who: str) -> RefusalKind | None:
    """The environment layer's answer: None for done, else the kind of its refusal."""
    operation.before(target)
    try:
        operation.direct(target, target.token(who))
    except Refused as refused:
        return refused.kind
    return None


def entries(env: Environment) -> list[dict[str, Any]]:
    return [orjson.loads(e) for e in env.cp.ledger.entries()]


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(who=st.sampled_from(PEOPLE), operation=st.sampled_from(OPERATIONS))
def test_the_api_answers_each_person_as_the_environment_does_and_logs_each_refusal(
    target: Target, who: str, operation: Operation
) -> None:
    token = target.token(who)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    expected = directly(target, operation, who)
    operation.before(target)
    logged = len(entries(target.env))
    body = operation.body() if operation.body else None
    url = f"{target.running.base_url}{V1}{operation.path}"
    answer = httpx.request(operation.method, url, headers=headers, json=body, timeout=120)
    if expected is None:
        assert answer.status_code < 300, (who, operation.name, answer.text)
        return
    assert answer.status_code in STATUS_OF[expected], (who, operation.name, answer.text)
    assert answer.headers["content-type"].startswith("application/problem+json")
    new = entries(target.env)[logged:]
    refused = [
        (e["subject"]["action"], e["subject"]["kind"]) for e in new if e["kind"] == "refusal"
    ]
    assert refused == [(operation.action, expected.value)], new
    if who not in ("nobody", "forged"):  # a known person is named: by the refusal, or by the
        # refused use of their credential when their role was what was missing
        named = {e["actor"] for e in new if e["kind"] == "refusal"}
        named |= {
            e["actor"] for e in new if e["kind"] == "login" and "refused" in str(e["subject"])
        }
        assert who in named, new


def test_only_the_people_the_rules_name_get_through(target: Target) -> None:
    """What the environment allows, written out: analysts on an approved project search,
    list, see, make and download; what changes or publishes a list is its owner's alone; every
    other role, and an analyst on no approved project, is refused."""
    allowed = {
        op.name: {who for who in PEOPLE if directly(target, op, who) is None} for op in OPERATIONS
    }
    owners = {"add codes", "remove codes", "publish a version"}
    assert allowed == {
        op.name: {"ana"} if op.name in owners else {"ana", "bob"} for op in OPERATIONS
    }
