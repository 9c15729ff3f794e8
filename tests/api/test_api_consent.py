"""People's choices on ``/fhir/`` as Consent: a clinician sees those of the people in their care
(a choice made a moment ago included), nobody else's without break glass, and every read is in
the ledger."""

from __future__ import annotations

import uuid

import httpx
from api_support import Running, World, serving
from test_api_access import auth, reads_in_ledger


def _make(base: str, world: World, choice: str, status: str) -> None:
    answer = httpx.put(
        f"{base}/personal/Consent/{choice}",
        json={"resourceType": "Consent", "status": status},
        headers=auth(world, "pat", **{"X-Request-ID": str(uuid.uuid4())}),
    )
    assert answer.status_code == 200, answer.text


def test_a_clinician_reads_the_choices_of_the_people_in_their_care(fresh_world: World) -> None:
    world = fresh_world
    with serving(world.data_dir) as running, httpx.Client(headers=auth(world, "dana")) as dana:
        fhir = running.fhir
        before = dana.get(f"{fhir}/Consent", params={"patient": "Patient/p0"})
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("application/fhir+json")
        bundle = before.json()
        assert bundle["total"] == 4 and bundle["type"] == "searchset"
        states = {e["resource"]["id"]: e["resource"]["status"] for e in bundle["entry"]}
        assert states == dict.fromkeys(
            [
                "p0-national-opt-out",
                "p0-type1-objection",
                "p0-share-for-care",
                "p0-share-for-research",
            ],
            "inactive",
        )
        assert {e["resource"]["patient"]["reference"] for e in bundle["entry"]} == {"Patient/p0"}
        assert dana.get(f"{fhir}/Consent").json()["total"] == 0  # nobody has chosen yet

        _make(running.base_url, world, "share-for-care", "active")
        _make(running.base_url, world, "national-opt-out", "active")
        care = dana.get(f"{fhir}/Consent/p0-share-for-care").json()
        assert care["status"] == "active" and care["provision"]["type"] == "permit"
        opt_out = dana.get(f"{fhir}/Consent/p0-national-opt-out").json()
        assert opt_out["status"] == "active" and opt_out["provision"]["type"] == "deny"
        in_care = dana.get(f"{fhir}/Consent").json()
        assert {e["resource"]["patient"]["reference"] for e in in_care["entry"]} == {"Patient/p0"}
        _make(running.base_url, world, "share-for-care", "inactive")
        assert dana.get(f"{fhir}/Consent/p0-share-for-care").json()["status"] == "inactive"

        gus = auth(world, "gus")  # GP2: p0 is not in his care, and his search does not show p0
        assert httpx.get(f"{fhir}/Consent/p0-share-for-care", headers=gus).status_code == 403
        assert httpx.get(f"{fhir}/Consent", headers=gus).json()["total"] == 0
        reason = "Unconscious in A&E: does she object to sharing?"
        glass = httpx.get(
            f"{fhir}/Consent",
            params={"patient": "p0"},
            headers={**gus, "X-Break-Glass-Reason": reason},
        )
        assert glass.status_code == 200 and glass.json()["total"] == 4

        mine = httpx.get(f"{fhir}/Consent", headers=auth(world, "pat")).json()
        assert {e["resource"]["patient"]["reference"] for e in mine["entry"]} == {"Patient/p0"}
        other = httpx.get(f"{fhir}/Consent/q0-share-for-care", headers=auth(world, "pat"))
        assert other.status_code == 403
        assert dana.get(f"{fhir}/Consent/p0-no-such-choice").status_code == 404
        assert httpx.get(f"{fhir}/Consent").status_code == 401
    consent_reads = [
        e["subject"]
        for e in reads_in_ledger(world)
        if e["subject"]["resource_types"] == ["Consent"]
    ]
    assert len(consent_reads) == 7  # dana 5 (an empty search reads no one), gus 1, pat 1
    assert any(s.get("break_glass") == 1 and s["patient"] == "p0" for s in consent_reads)


def test_the_capability_statement_lists_consent(server: Running) -> None:
    statement = httpx.get(f"{server.fhir}/metadata").json()
    consent = [r for r in statement["rest"][0]["resource"] if r["type"] == "Consent"]
    assert consent and consent[0]["searchParam"] == [{"name": "patient", "type": "reference"}]
