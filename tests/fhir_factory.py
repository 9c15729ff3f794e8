"""Small, hand-checkable FHIR resources in the shape of docs/fhir-profile.md, for tests.

The synthetic generator makes realistic populations; these make the handful of
records a test needs, each one obvious from its arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from fivesafes.model.codes import NHS_NUMBER_SYSTEM, ODS_CODE_SYSTEM, nhs_number_check_digit

LOCAL = "https://fivesafes.org/fhir/CodeSystem/"
SCT = "http://snomed.info/sct"


_NHS_NUMBERS: list[str] = []


def nhs_number(n: int) -> str:
    """The n-th valid NHS number in the 999 test range (numbers with check 10 are skipped)."""
    k = int(_NHS_NUMBERS[-1][3:9]) + 1 if _NHS_NUMBERS else 0
    while len(_NHS_NUMBERS) <= n:
        first_nine = f"999{k:06d}"
        check = nhs_number_check_digit(first_nine)
        if check is not None:
            _NHS_NUMBERS.append(first_nine + str(check))
        k += 1
    return _NHS_NUMBERS[n]


def icb(oid: str = "icb1", ods: str = "QWE") -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": oid,
        "identifier": [{"system": ODS_CODE_SYSTEM, "value": ods}],
        "name": "Test ICB",
        "type": [{"coding": [{"system": LOCAL + "organisation-kind", "code": "icb"}]}],
        "extension": [
            {
                "url": "https://fivesafes.org/fhir/StructureDefinition/nhs-region",
                "valueString": "London",
            }
        ],
    }


def practice(oid: str = "gp1", ods: str = "A81001", parent: str = "icb1") -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": oid,
        "identifier": [{"system": ODS_CODE_SYSTEM, "value": ods}],
        "name": f"Practice {ods}",
        "type": [{"coding": [{"system": LOCAL + "organisation-kind", "code": "gp_practice"}]}],
        "partOf": {"reference": f"Organization/{parent}"},
        "address": [{"postalCode": "LS1 4AP"}],
    }


def patient(
    pid: str,
    nhs: str,
    birth: str = "1980-05-17",
    gender: str = "female",
    death: str | None = None,
    lsoa: str = "E01000001",
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
        "gender": gender,
        "birthDate": birth,
        "address": [
            {
                "line": ["1 Test Street"],
                "postalCode": "LS1 4AP",
                "extension": [
                    {
                        "url": "https://fivesafes.org/fhir/StructureDefinition/lsoa",
                        "valueCode": lsoa,
                    }
                ],
            }
        ],
        "generalPractitioner": [{"reference": "Organization/gp1"}],
    }
    if death:
        r["deceasedDateTime"] = death
    return r


def condition(cid: str, pid: str, code: str = "44054006", onset: str = "2020-01-02") -> dict:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": SCT, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset,
    }


def registration(eid: str, pid: str, start: str = "2010-01-01", end: str | None = None) -> dict:
    period = {"start": start} | ({"end": end} if end else {})
    return {
        "resourceType": "EpisodeOfCare",
        "id": eid,
        "status": "finished" if end else "active",
        "type": [{"coding": [{"system": LOCAL + "episode-type", "code": "gp-registration"}]}],
        "patient": {"reference": f"Patient/{pid}"},
        "managingOrganization": {"reference": "Organization/gp1"},
        "period": period,
    }


def write_ndjson(path: Path, resources: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    return path


def basic_population(n: int = 3) -> list[dict[str, Any]]:
    """Organisations, n patients, and one condition and registration each."""
    out: list[dict[str, Any]] = [icb(), practice()]
    for i in range(n):
        out.append(patient(f"p{i}", nhs_number(i)))
        out.append(registration(f"e{i}", f"p{i}"))
        out.append(condition(f"c{i}", f"p{i}"))
    return out
