"""The CapabilityStatement: exactly what this server supports, from the same tables the
routes and the store use, so it cannot claim a parameter the search does not know."""

from __future__ import annotations

from typing import Any

from fivesafes.governance.scopes import DIRECTORY_TYPES
from fivesafes.store.resources import PARAMS

TYPES = {"token": "token", "string": "string", "date": "date", "reference": "reference",
         "identifier": "token"}  # fmt: skip
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def capability_statement(base_url: str, fhir_base: str, software: str) -> dict[str, Any]:
    resources = []
    for rtype in sorted(PARAMS):
        entry: dict[str, Any] = {
            "type": rtype,
            "versioning": "versioned",
            "readHistory": True,
            "interaction": [
                {"code": c} for c in ("read", "vread", "history-instance", "search-type")
            ],
            "searchParam": [
                {"name": name, "type": TYPES[param.kind]}
                for name, param in sorted(PARAMS[rtype].items())
            ],
            "searchInclude": sorted(
                f"{rtype}:{n}" for n, p in PARAMS[rtype].items() if p.kind == "reference"
            ),
        }
        if rtype == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        if rtype in DIRECTORY_TYPES:
            entry["documentation"] = "Also public, without a token, at /directory/"
        resources.append(entry)
    resources.append(
        {
            "type": "Consent",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": "patient", "type": "reference"}],
            "documentation": "People's opt-outs and consents to share, under the care rules; "
            "each person makes or withdraws them at /personal/Consent",
        }
    )
    resources.sort(key=lambda entry: str(entry["type"]))
    base = base_url.rstrip("/")
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": software},
        "implementation": {"description": "fivesafes FHIR API for direct care", "url": fhir_base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": OAUTH_URIS,
                            "extension": [{"url": "token", "valueUri": f"{base}/oauth/token"}],
                        }
                    ],
                    "description": "Bearer tokens: personal tokens, or OAuth2 client credentials "
                    "with SMART v2 scopes (see /.well-known/smart-configuration)",
                },
                "resource": resources,
                "searchParam": [
                    {"name": "_count", "type": "number"},
                    {"name": "_sort", "type": "string"},
                    {"name": "_lastUpdated", "type": "date"},
                ],
            }
        ],
    }
