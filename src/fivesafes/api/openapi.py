"""What the OpenAPI document says every FHIR route may answer, so generated clients (and
schemathesis) know each status and its body: FHIR resources and OperationOutcomes as
``application/fhir+json``."""

from __future__ import annotations

from typing import Any

RESOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}, "id": {"type": "string"}},
}
OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "minItems": 1, "items": {"type": "object"}},
    },
}


def _outcome(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/fhir+json": {"schema": OUTCOME_SCHEMA}},
    }


FHIR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A FHIR resource",
        "content": {"application/fhir+json": {"schema": RESOURCE_SCHEMA}},
    },
    304: {"description": "Not modified (If-None-Match matched the current version)"},
    400: _outcome("The request is not valid"),
    401: _outcome("No bearer token, or an unknown, expired or revoked one"),
    403: _outcome("The caller may not do this"),
    404: _outcome("No such resource, or none the caller may see"),
    409: _outcome("The change was made against an old version"),
    410: _outcome("The resource was deleted"),
    412: _outcome("A change needs If-Match"),
    500: _outcome("The server failed"),
    503: _outcome("The store is not available yet"),
}
