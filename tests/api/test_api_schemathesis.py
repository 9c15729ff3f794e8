"""Schemathesis against the running server's /openapi.json: requests generated from the
document for every operation, as a clinician would send them, must never meet a 500, and every
response must match what the document says (status, content type, schema).

The number of generated requests is counted and printed at the end of the module
(``schemathesis: N generated requests``) for the report."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_support import SCHEMA_WAIT, Running, World, build_world, serving
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

COUNT = {"requests": 0}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Running]]:
    world = build_world(tmp_path_factory.mktemp("schemathesis"))
    with serving(world.data_dir) as running:
        yield world, running
    print(f"\nschemathesis: {COUNT['requests']} generated requests")


MAX_EXAMPLES = 25
"""Per operation; hypothesis may stop earlier on an operation with little to vary."""


def headers_for(world: World, method: str, path: str) -> dict[str, str]:
    """Who would send such a request: a person for /personal, the administrator for directory
    writes, a clinician for the rest."""
    who = "dana"
    if path.startswith("/personal"):
        who = "pat"
    elif path.startswith("/directory") and method != "GET":
        who = "olly"
    return {"Authorization": f"Bearer {world.tokens[who]}"}


FHIR_BODIES = ("/personal/Observation", "/personal/$upload", "/directory/{resource_type}")


def excused(case: schemathesis.Case) -> list[Any]:
    """Where "schema-valid data must be accepted" cannot hold, that one check is excused:

    - a FHIR resource sent to be stored is valid only if it passes the R4 structure definitions
      and the environment's own rules, which no JSON schema in the document can say; a body
      that fails them is rightly a 400 with the findings;
    - a change to one's own record without If-Match is a 412, as the Personal Demographics
      Service has it, so the document cannot mark the header required (that would make it a
      validation error), and a JSON Patch is valid only against the record it patches.

    Every other check (no 500, documented status and content type, response schema) runs on
    every request."""
    path = case.operation.path
    if path.startswith(FHIR_BODIES) or (case.method == "PATCH" and path.startswith("/personal")):
        return [positive_data_acceptance]
    return []


def test_no_generated_request_meets_a_500_or_an_undocumented_answer(
    target: tuple[World, Running],
) -> None:
    world, running = target
    api = schemathesis.openapi.from_url(f"{running.base_url}/openapi.json", timeout=SCHEMA_WAIT)
    every = [result.ok() for result in api.get_all_operations()]
    # the management API has its own run, sent by an analyst (test_v1_schemathesis)
    operations = [op for op in every if not op.path.startswith("/api/v1")]
    assert len(operations) >= 15

    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            COUNT["requests"] += 1
            headers = headers_for(world, case.method, case.path)
            case.call_and_validate(
                base_url=running.base_url, headers=headers, excluded_checks=excused(case)
            )

        run()
