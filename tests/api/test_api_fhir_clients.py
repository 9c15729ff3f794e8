"""Published FHIR clients nobody here wrote, against a real server on loopback: fhirpy
(search, paging to the last page, _include, read with ETag) and fhirclient (the SMART client:
reads /metadata, finds the token endpoint, gets a token, reads a Patient, searches
Observations)."""

from __future__ import annotations

import httpx
import pytest
from api_support import Running, World
from fhirclient import client as smart_client
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirpy import SyncFHIRClient


def fhirpy_client(server: Running, token: str) -> SyncFHIRClient:
    return SyncFHIRClient(server.fhir, authorization=f"Bearer {token}")


def test_fhirpy_searches_and_pages_to_the_last_page(server: Running, world: World) -> None:
    client = fhirpy_client(server, world.tokens["dana"])
    search = client.resources("Observation").search(patient="p0").sort("date").limit(1)
    first_page = search.fetch()
    assert [o["id"] for o in first_page] == ["o-p0-0"]
    every = search.fetch_all()  # follows the Bundle's next links to the last page
    assert [o["id"] for o in every] == ["o-p0-0", "o-p0-1", "o-p0-2"]
    assert search.count() == 3


def test_fhirpy_include_brings_the_patient(server: Running, world: World) -> None:
    client = fhirpy_client(server, world.tokens["dana"])
    bundle = (
        client.resources("Observation").search(patient="p2").include("Observation", "patient")
    ).fetch_raw()
    modes = {(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]}
    assert ("Patient", "include") in modes and ("Observation", "match") in modes
    assert bundle["total"] == 3  # the included Patient is not a match


def test_fhirpy_reads_with_the_etag_and_the_server_answers_304(
    server: Running, world: World
) -> None:
    client = fhirpy_client(server, world.tokens["dana"])
    patient = client.reference("Patient", "p2").to_resource()
    assert patient["meta"]["versionId"] == "1"
    headers = {"Authorization": f"Bearer {world.tokens['dana']}"}
    read = httpx.get(f"{server.fhir}/Patient/p2", headers=headers)
    assert read.headers["ETag"] == 'W/"1"' and "Last-Modified" in read.headers
    again = httpx.get(
        f"{server.fhir}/Patient/p2", headers={**headers, "If-None-Match": read.headers["ETag"]}
    )
    assert again.status_code == 304 and again.content == b""


def test_fhirpy_is_refused_another_practices_patient(server: Running, world: World) -> None:
    client = fhirpy_client(server, world.tokens["dana"])
    with pytest.raises(Exception, match="no registration or encounter"):
        client.reference("Patient", "q0").to_resource()


def test_fhirclient_finds_the_token_endpoint_gets_a_token_and_reads(
    server: Running, world: World
) -> None:
    """fhirclient 4.4 takes its client-credentials path only for a client that has a JWT
    assertion; the server authenticates the client by its secret (HTTP Basic, which fhirclient
    sends as well) and does not use the assertion."""
    client_id, secret = world.client
    settings = {
        "app_id": client_id,
        "app_secret": secret,
        "api_base": server.fhir,
        "jwt_token": "not-used-the-secret-authenticates",
        "scope": "system/*.rs",
    }
    smart = smart_client.FHIRClient(settings=settings)
    smart.prepare()  # reads /metadata and the oauth-uris extension
    assert smart.server.auth._token_uri == f"{server.base_url}/oauth/token"
    smart.authorize()
    assert smart.ready
    patient = Patient.read("p0", smart.server)
    assert patient.identifier[0].value == world.nhs("p0")
    search = Observation.where(struct={"patient": "p0", "_count": "2"})
    found = list(search.perform_resources_iter(smart.server))  # two pages of two and one
    assert sorted(o.id for o in found) == ["o-p0-0", "o-p0-1", "o-p0-2"]
