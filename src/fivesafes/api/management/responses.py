"""What the OpenAPI document says every management route may answer besides success: each
error as an RFC 9457 problem (``application/problem+json``)."""

from __future__ import annotations

from typing import Any

from fivesafes.api.errors import PROBLEM_JSON
from fivesafes.api.management.models import Problem


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "model": Problem,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


MANAGEMENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("The request is not valid, or cannot be done as asked"),
    401: _problem("No bearer token, or an unknown, expired or revoked one"),
    403: _problem("The caller may not do this (already in the ledger as a refusal)"),
    404: _problem("No such thing"),
    500: _problem("The server failed"),
    503: _problem("The environment cannot do it safely now (a store, key or sandbox missing)"),
}
