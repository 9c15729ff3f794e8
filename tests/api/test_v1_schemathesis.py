"""Schemathesis over /api/v1, as ``test_api_schemathesis`` runs it over /fhir: requests
generated from the document for every management operation, sent by an analyst on the
approved project, must never meet a 500, and every answer must be what the document says
(status, content type, schema).

One check is excused: "schema-valid data must be accepted". The document cannot say which
ids exist, which state a project or request is in, or what the environment's own rules make of
a form or a set of files; the environment answers those with its ``invalid`` refusal, a 400
problem naming what was wrong. Every other check (no 500, documented status and content type,
response schema) runs on every request.

The catalogue takes a token and answers without one too (a public view), so "a request without
its token is refused" is excused there.

The code-list operations run on a world that holds a published list, so that generated
requests meet a list with versions as well as names that are not lists.

The two-step signed decisions and votes are sent by the people who make them (an approver, an
output checker), so that generated requests reach past the role check into the statement's own
checks; a generated statement is never one the environment sealed, and is refused as such.

A job submission is left out: a generated commit is never in the study's repository, so each
would only clone it to say so, and the happy path is ``test_v1_jobs``'s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_support import SCHEMA_WAIT, Running, serving
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from v1_support import V1, V1World, build_v1_world

from fivesafes.environment import Environment, codelists

MAX_EXAMPLES = 20
SKIPPED = {("POST", f"{V1}/projects/{{project_id}}/jobs")}


PUBLIC_WITH_TOKEN = (f"{V1}/catalogue",)
CODELIST_OPERATIONS = {
    ("GET", f"{V1}/codes"),
    ("GET", f"{V1}/codelists"),
    ("POST", f"{V1}/codelists"),
    ("GET", f"{V1}/codelists/{{slug}}"),
    ("POST", f"{V1}/codelists/{{slug}}/additions"),
    ("POST", f"{V1}/codelists/{{slug}}/removals"),
    ("POST", f"{V1}/codelists/{{slug}}/versions/{{version}}/publication"),
    ("GET", f"{V1}/codelists/{{slug}}/versions/{{version}}/csv"),
}
SIGNED = {  # the signed routes, and who signs there
    f"{V1}/projects/{{project_id}}/decision-statements": "val",
    f"{V1}/projects/{{project_id}}/decisions": "val",
    f"{V1}/releases/{{release_id}}/vote-statements": "oc1",
    f"{V1}/releases/{{release_id}}/votes": "oc1",
}


def excused(case: schemathesis.Case) -> list[Any]:
    return [ignored_auth] if case.operation.path.startswith(PUBLIC_WITH_TOKEN) else []


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[V1World, Running]]:
    v1 = build_v1_world(tmp_path_factory.mktemp("v1schema"))
    with Environment.open(v1.world.data_dir) as env:
        codelists.new(env, v1.tokens["ana"], "Diabetes", "snomedct", "a")
        codelists.add(env, v1.tokens["ana"], "a", {"44054006": None})
        codelists.publish(env, v1.tokens["ana"], "a/1")
    with serving(v1.world.data_dir) as running:
        yield v1, running


def test_no_generated_management_request_meets_a_500_or_an_undocumented_answer(
    target: tuple[V1World, Running],
) -> None:
    v1, running = target
    api = schemathesis.openapi.from_url(f"{running.base_url}/openapi.json", timeout=SCHEMA_WAIT)
    operations = [
        op
        for result in api.get_all_operations()
        if (op := result.ok()).path.startswith(V1) and (op.method.upper(), op.path) not in SKIPPED
    ]
    assert len(operations) >= 26
    assert {(op.method.upper(), op.path) for op in operations} >= CODELIST_OPERATIONS
    assert set(SIGNED) <= {op.path for op in operations}
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=running.base_url,
                headers=v1.auth(SIGNED.get(case.operation.path, "ana")),
                excluded_checks=[positive_data_acceptance, *excused(case)],
            )

        run()
