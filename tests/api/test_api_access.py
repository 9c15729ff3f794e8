"""Who may read what through the FHIR API, written as the people who would try it: a clinician
of another practice, one with no practice, an analyst, a system with narrow scopes, nobody."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from api_support import GP1, LOCAL, RESTRICTED, SECRET_LINE, SECRET_PHONE, Running, World, serving

from fivesafes.governance import ControlPlane


def auth(world: World, who: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}", **extra}


def reads_in_ledger(world: World) -> list[dict[str, Any]]:
    with ControlPlane.open(world.data_dir) as cp:
        return [orjson.loads(e) for e in cp.ledger.of_kinds(["identifiable_read"])]


def test_no_token_and_a_bad_token_are_401_operation_outcomes(server: Running) -> None:
    for headers in ({}, {"Authorization": "Bearer fst_not-a-token"}):
        answer = httpx.get(f"{server.fhir}/Patient/p0", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/fhir+json")
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_roles_without_care_reach_no_record(server: Running, world: World) -> None:
    for who in ("ana", "olly", "cara", "nolink"):
        answer = httpx.get(f"{server.fhir}/Patient/p0", headers=auth(world, who))
        assert answer.status_code == 403, who
        assert answer.json()["issue"][0]["code"] == "forbidden"
    nolink = httpx.get(f"{server.fhir}/Observation", headers=auth(world, "nolink"))
    assert nolink.status_code == 403 and "ODS" in nolink.text


def test_a_clinician_sees_only_their_practice_until_they_break_glass(
    server: Running, world: World
) -> None:
    everyone = httpx.get(
        f"{server.fhir}/Patient", params={"_count": 100}, headers=auth(world, "dana")
    )
    assert {e["resource"]["id"] for e in everyone.json()["entry"]} == {"p0", "p1", "p2", "p3"}
    assert (
        httpx.get(f"{server.fhir}/Condition/c-q0", headers=auth(world, "dana")).status_code == 403
    )
    reason = "Unconscious in A&E, no other record available"
    glass = httpx.get(
        f"{server.fhir}/Patient/q0/$everything",
        headers=auth(world, "dana", **{"X-Break-Glass-Reason": reason}),
    )
    assert glass.status_code == 200
    assert {e["resource"]["resourceType"] for e in glass.json()["entry"]} >= {
        "Patient",
        "Condition",
    }
    flagged = [r for r in reads_in_ledger(world) if r["subject"].get("break_glass")]
    assert flagged and flagged[-1]["actor"] == "dana"
    assert flagged[-1]["subject"]["reason"] == reason
    assert flagged[-1]["subject"]["patient"] == "q0"
    assert flagged[-1]["subject"]["ods_code"] == GP1


def test_a_restricted_persons_protected_details_are_never_returned(
    server: Running, world: World
) -> None:
    answers = [
        httpx.get(f"{server.fhir}/Patient/{RESTRICTED}", headers=auth(world, "dana")),
        httpx.get(f"{server.fhir}/Patient/{RESTRICTED}/$everything", headers=auth(world, "dana")),
        httpx.get(f"{server.fhir}/Patient/{RESTRICTED}/_history/1", headers=auth(world, "dana")),
        httpx.get(
            f"{server.fhir}/Patient", params={"family": "familyp1"}, headers=auth(world, "dana")
        ),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert SECRET_LINE not in answer.text and SECRET_PHONE not in answer.text
        assert "generalPractitioner" not in answer.text.split('"id":"p1"')[-1]
    by_postcode = httpx.get(
        f"{server.fhir}/Patient", params={"address-postalcode": "LS1"}, headers=auth(world, "dana")
    ).json()
    by_gp = httpx.get(
        f"{server.fhir}/Patient", params={"general-practitioner": "Organization/gp1"},
        headers=auth(world, "dana"),
    ).json()  # fmt: skip
    for bundle in (by_postcode, by_gp):
        assert RESTRICTED not in {e["resource"]["id"] for e in bundle.get("entry", [])}


def test_scopes_narrow_a_clients_token(server: Running, world: World) -> None:
    client_id, secret = world.client
    narrow = httpx.post(
        f"{server.base_url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "system/Observation.rs"},
        auth=(client_id, secret),
    )
    assert narrow.status_code == 200, narrow.text
    assert narrow.json()["scope"] == "system/Observation.rs"
    headers = {"Authorization": f"Bearer {narrow.json()['access_token']}"}
    assert httpx.get(f"{server.fhir}/Observation/o-p0-0", headers=headers).status_code == 200
    refused = httpx.get(f"{server.fhir}/Patient/p0", headers=headers)
    assert refused.status_code == 403 and "scopes" in refused.text
    wider = httpx.post(
        f"{server.base_url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "system/*.cruds"},
        auth=(client_id, secret),
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    wrong = httpx.post(
        f"{server.base_url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_smart_discovery_and_the_capability_statement(server: Running) -> None:
    smart = httpx.get(f"{server.base_url}/.well-known/smart-configuration").json()
    assert smart["token_endpoint"] == f"{server.base_url}/oauth/token"
    assert "client_credentials" in smart["grant_types_supported"]
    statement = httpx.get(f"{server.fhir}/metadata").json()
    assert (
        statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    )
    security = statement["rest"][0]["security"]["extension"][0]
    assert security["extension"][0]["valueUri"] == smart["token_endpoint"]
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert {"identifier", "family", "birthdate", "address-postalcode"} <= {
        p["name"] for p in patient["searchParam"]
    }


def test_search_results_as_bundles(server: Running, world: World) -> None:
    headers = auth(world, "dana")
    url = f"{server.fhir}/Observation"
    count = httpx.get(url, params={"_summary": "count"}, headers=headers).json()
    assert count["total"] == 12 and "entry" not in count  # 4 patients x 3; no shared data
    page = httpx.get(url, params={"_count": 5, "_sort": "-date"}, headers=headers).json()
    assert len(page["entry"]) == 5 and page["total"] == 12
    dates = [e["resource"]["effectiveDateTime"] for e in page["entry"]]
    assert dates == sorted(dates, reverse=True)
    relations = {link["relation"] for link in page["link"]}
    assert relations == {"self", "next"}
    nxt = next(link["url"] for link in page["link"] if link["relation"] == "next")
    second = httpx.get(nxt, headers=headers).json()
    assert {link["relation"] for link in second["link"]} == {"self", "next", "previous"}
    slim = httpx.get(url, params={"_elements": "code", "_count": 1}, headers=headers).json()
    assert set(slim["entry"][0]["resource"]) == {"resourceType", "id", "meta", "code"}
    odd = httpx.get(url, params={"colour": "blue"}, headers=headers)
    assert "colour" not in odd.json()["link"][0]["url"]
    assert odd.json()["entry"][-1]["search"]["mode"] == "outcome"
    strict = httpx.get(
        url, params={"colour": "blue"}, headers={**headers, "Prefer": "handling=strict"}
    )
    assert strict.status_code == 400
    patients = httpx.get(
        f"{server.fhir}/Patient",
        params={"_id": "p2", "_revinclude": "Observation:patient"},
        headers=headers,
    ).json()
    assert patients["total"] == 1 and len(patients["entry"]) == 4
    by_date = httpx.get(url, params={"date": "ge2021-02-01", "patient": "p2"}, headers=headers)
    assert by_date.json()["total"] == 2
    updated = httpx.get(
        url, params={"_lastUpdated": "gt2000-01-01", "_summary": "count"}, headers=headers
    )
    assert updated.json()["total"] == 12


def test_links_use_the_public_base_url_behind_a_proxy(world: World) -> None:
    with serving(world.data_dir, base_url="https://care.example.nhs.uk/") as running:
        page = httpx.get(
            f"{running.fhir}/Observation", params={"_count": 2}, headers=auth(world, "dana")
        ).json()
    for link in page["link"]:
        assert link["url"].startswith("https://care.example.nhs.uk/fhir/Observation?")
    assert page["entry"][0]["fullUrl"].startswith("https://care.example.nhs.uk/fhir/")


def test_the_directory_is_public_to_read_and_written_only_by_its_organisation(
    fresh_world: World,
) -> None:
    world = fresh_world
    with serving(world.data_dir) as running:
        base = f"{running.base_url}/directory"
        service = {
            "resourceType": "HealthcareService",
            "providedBy": {"reference": "Organization/gp1"},
            "type": [{"coding": [{"system": LOCAL + "service-type", "code": "asthma-clinic"}]}],
            "name": "Saturday asthma clinic",
            "active": True,
        }
        made = httpx.post(f"{base}/HealthcareService", json=service, headers=auth(world, "olly"))
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        assert made.headers["ETag"] == 'W/"1"'
        public = httpx.get(f"{base}/HealthcareService", params={"name": "saturday"})
        assert public.status_code == 200 and public.json()["total"] == 1
        changed = httpx.put(
            f"{base}/HealthcareService/{sid}",
            json={**service, "name": "Saturday and Sunday asthma clinic"},
            headers=auth(world, "olly", **{"If-Match": 'W/"1"'}),
        )
        assert changed.status_code == 200 and changed.headers["ETag"] == 'W/"2"'
        theirs = {**service, "providedBy": {"reference": "Organization/gp2"}}
        refused = httpx.post(f"{base}/HealthcareService", json=theirs, headers=auth(world, "olly"))
        assert refused.status_code == 403
        other = httpx.put(
            f"{base}/Organization/gp2",
            json={
                "resourceType": "Organization",
                "identifier": [
                    {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "B82002"}
                ],
                "name": "Taken over",
            },
            headers=auth(world, "olly"),
        )
        assert other.status_code == 403
        nobody = httpx.post(f"{base}/HealthcareService", json=service)
        assert nobody.status_code == 401


def test_a_revoked_token_is_refused_at_the_very_next_request(fresh_world: World) -> None:
    """Authentications are reused for a second while the control plane is unchanged: a
    revocation changes it, so the request right after it is refused, however fast it follows."""
    from fivesafes.governance.accounts import revoke_token
    from fivesafes.governance.tables import Token

    with serving(fresh_world.data_dir) as running, httpx.Client() as client:
        headers = auth(fresh_world, "dana")
        for _ in range(5):  # authenticated once, then reused
            assert client.get(f"{running.fhir}/Patient/p0", headers=headers).status_code == 200
        with ControlPlane.open(fresh_world.data_dir) as cp:
            with cp.transaction() as session:
                token_id = session.query(Token.token_id).filter_by(person_id="dana").scalar()
            revoke_token(cp, fresh_world.tokens["cara"], str(token_id))
        answer = client.get(f"{running.fhir}/Patient/p0", headers=headers)
        assert answer.status_code == 401, answer.text
    with ControlPlane.open(fresh_world.data_dir) as cp:
        logins = [orjson.loads(e) for e in cp.ledger.of_kinds(["login"])]
    allowed = [e for e in logins if e["actor"] == "dana" and e["subject"]["outcome"] == "allowed"]
    assert 1 <= len(allowed) < 5  # five reads, fewer authentications (one, unless very slow)
    assert "was revoked" in logins[-1]["subject"]["outcome"]
