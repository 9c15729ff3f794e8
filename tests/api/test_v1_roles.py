"""No role reaches a management operation it lacks: for random (person, operation) pairs the
API's answer over HTTP is the environment layer's own answer for the same person (the one the
command line gets, from the same governance code), and the operation succeeds only for those
the rules name.

Each operation is one the environment can answer more than once without changing what the next
answer is: reads, a dry-run disclosure check, and a job submitted with a commit the study's
repository does not hold (authorised first, so only a member gets as far as "no commit")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from api_support import Running, serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from v1_support import V1, V1World, build_v1_world

from environment.environment_support import PROJECT
from fivesafes.environment import Environment, RefusalKind, Refused, jobs, releases
from fivesafes.environment.catalogue import catalogue_of
from jobs.jobs_support import needs_sandbox

pytestmark = needs_sandbox
PEOPLE = ("cara", "dana", "pat", "olly", "ana", "ben", "val", "oc1", "nobody", "forged")
"""A custodian, a clinician, a patient, an organisation's administrator, the project's
analyst, an analyst off it, an approver, an output checker; no token; a made-up token."""
ABSENT = "0" * 40
"""A commit the study's repository does not hold."""


@dataclass
class Target:
    v1: V1World
    running: Running
    env: Environment
    job_id: str

    def token(self, who: str) -> str:
        made_up = {"nobody": "", "forged": "fse_made-up"}
        return made_up[who] if who in made_up else self.v1.tokens[who]


@dataclass(frozen=True)
class Operation:
    """One management operation, as HTTP sends it and as the environment layer is called."""

    name: str
    method: str
    path: Callable[[Target], str]
    body: Callable[[Target], Any] | None
    direct: Callable[[Target, str], object]


OPERATIONS = (
    Operation("list the project's jobs", "GET", lambda t: f"/projects/{PROJECT}/jobs", None,
              lambda t, c: jobs.listing(t.env, c, PROJECT)),
    Operation("see a job", "GET", lambda t: f"/jobs/{t.job_id}", None,
              lambda t, c: jobs.status(t.env, c, t.job_id)),
    Operation("read a job's log", "GET", lambda t: f"/jobs/{t.job_id}/log", None,
              lambda t, c: jobs.log(t.env, c, t.job_id)),
    Operation("check outputs for release", "POST",
              lambda t: f"/projects/{PROJECT}/jobs/{t.job_id}/disclosure-checks",
              lambda t: {"files": ["output/count.csv"]},
              lambda t, c: releases.check(t.env, c, PROJECT, t.job_id, ["output/count.csv"])),
    Operation("list release requests", "GET", lambda t: "/releases", None,
              lambda t, c: releases.listing(t.env, c)),
    Operation("submit a job", "POST", lambda t: f"/projects/{PROJECT}/jobs",
              lambda t: {"commit": ABSENT},
              lambda t, c: jobs.submit_commit(t.env, c, PROJECT, ABSENT)),
    Operation("read the catalogue", "GET", lambda t: "/catalogue", None,
              lambda t, c: catalogue_of(t.env, c or None)),
)  # fmt: skip
STATUS_OF = {RefusalKind.FORBIDDEN: {401, 403}, RefusalKind.INVALID: {400},
             RefusalKind.UNAVAILABLE: {503}}  # fmt: skip


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    v1 = build_v1_world(tmp_path_factory.mktemp("v1roles"))
    with serving(v1.world.data_dir) as running, Environment.open(v1.world.data_dir) as env:
        queued = jobs.submit_commit(env, v1.tokens["ana"], PROJECT, v1.commit)
        job = jobs.wait(env, v1.tokens["ana"], queued.job_id)
        assert job.state == "succeeded", job.record.error
        yield Target(v1, running, env, job.job_id)


def directly(target: Target, operation: Operation, who: str) -> RefusalKind | None:
    """The environment layer's answer: None for done, else the kind of its refusal."""
    try:
        operation.direct(target, target.token(who))
    except Refused as refused:
        return refused.kind
    return None


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(who=st.sampled_from(PEOPLE), operation=st.sampled_from(OPERATIONS))
def test_the_api_answers_each_person_as_the_environment_does(
    target: Target, who: str, operation: Operation
) -> None:
    token = target.token(who)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{target.running.base_url}{V1}{operation.path(target)}"
    body = operation.body(target) if operation.body else None
    answer = httpx.request(operation.method, url, headers=headers, json=body, timeout=120)
    expected = directly(target, operation, who)
    if expected is None:
        assert answer.status_code < 300, (who, operation.name, answer.text)
    else:
        assert answer.status_code in STATUS_OF[expected], (who, operation.name, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_only_the_people_the_rules_name_get_through(target: Target) -> None:
    """What the environment allows, written out: the project's analyst (and for its jobs the
        custodian), listing release requests and the catalogue for every valid token (the catalogue
    without one too: its public view)."""
    allowed = {
        op.name: {who for who in PEOPLE if directly(target, op, who) is None} for op in OPERATIONS
    }
    assert allowed["list the project's jobs"] == {"ana", "cara"}
    assert allowed["see a job"] == allowed["read a job's log"] == {"ana", "cara"}
    assert allowed["check outputs for release"] == {"ana"}
    assert allowed["submit a job"] == set()  # the commit is absent: refused for everyone
    assert directly(target, OPERATIONS[5], "ana") is RefusalKind.INVALID  # got past the gate
    # anyone signed in may list, and sees only the requests they may (none here yet)
    assert allowed["list release requests"] == set(PEOPLE) - {"nobody", "forged"}
    assert allowed["read the catalogue"] == set(PEOPLE) - {"forged"}
