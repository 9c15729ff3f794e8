"""People managing their own record, driven with plain httpx as an integrator would, by the
rules of NHS England's Personal Demographics Service: JSON Patch, If-Match (missing: 412, stale:
409 RESOURCE_VERSION_MISMATCH), X-Request-ID mandatory, echoed and applied once,
X-Correlation-ID echoed; only the changeable elements (400 INVALID_UPDATE naming the path)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import duckdb
import httpx
import pytest
from api_support import Running, World, serving, sleep

from fivesafes.store.load import load
from fivesafes.store.versions import writing


@pytest.fixture
def live(fresh_world: World) -> Iterator[tuple[World, Running]]:
    with serving(fresh_world.data_dir) as running:
        yield fresh_world, running


def person(world: World, who: str = "pat", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}", **extra}


def patch(
    running: Running, world: World, body: object, *, if_match: str | None = 'W/"1"',
    request_id: str | None = None, who: str = "pat", pid: str = "p0",
) -> httpx.Response:  # fmt: skip
    headers = person(world, who, **{"X-Correlation-ID": "corr-1"})
    if if_match is not None:
        headers["If-Match"] = if_match
    headers["X-Request-ID"] = request_id or str(uuid.uuid4())
    url = f"{running.base_url}/personal/Patient/{world.nhs(pid)}"
    return httpx.patch(url, json=body, headers=headers)


NEW_PHONE = [{"op": "replace", "path": "/telecom/0/value", "value": "07700900999"}]


def test_the_pds_patch_flow(live: tuple[World, Running]) -> None:
    world, running = live
    url = f"{running.base_url}/personal/Patient/{world.nhs('p0')}"
    read = httpx.get(url, headers=person(world))
    assert read.status_code == 200 and read.headers["ETag"] == 'W/"1"'

    missing = patch(running, world, NEW_PHONE, if_match=None)
    assert missing.status_code == 412
    stale = patch(running, world, NEW_PHONE, if_match='W/"7"')
    assert stale.status_code == 409
    assert "RESOURCE_VERSION_MISMATCH" in stale.text
    no_id = httpx.patch(url, json=NEW_PHONE, headers=person(world, **{"If-Match": 'W/"1"'}))
    assert no_id.status_code == 400 and "X-Request-ID" in no_id.text

    request_id = str(uuid.uuid4())
    done = patch(running, world, NEW_PHONE, request_id=request_id)
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == 'W/"2"'
    assert done.headers["X-Request-ID"] == request_id
    assert done.headers["X-Correlation-ID"] == "corr-1"
    assert done.json()["telecom"][0]["value"] == "07700900999"

    # the same request again is answered as the first, and changes nothing
    again = patch(running, world, NEW_PHONE, request_id=request_id)
    assert again.status_code == 200 and again.headers["ETag"] == 'W/"2"'
    assert httpx.get(url, headers=person(world)).headers["ETag"] == 'W/"2"'

    # the {"patches": [...]} form, against the new version
    email = {"op": "add", "path": "/telecom/-", "value": {"system": "email", "value": "a@b.org"}}
    wrapped = patch(running, world, {"patches": [email]}, if_match='W/"2"')
    assert wrapped.status_code == 200 and wrapped.headers["ETag"] == 'W/"3"'

    clinician = {"Authorization": f"Bearer {world.tokens['dana']}"}
    history = httpx.get(f"{running.fhir}/Patient/p0/_history", headers=clinician).json()
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"3"', 'W/"2"', 'W/"1"']
    old = httpx.get(f"{running.fhir}/Patient/p0/_history/1", headers=clinician).json()
    assert old["telecom"][0]["value"] == "07700900123"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "/birthDate", "value": "1950-01-01"},
        {"op": "replace", "path": "/identifier/0/value", "value": "9990000018"},
        {"op": "remove", "path": "/generalPractitioner"},
        {"op": "replace", "path": "/gender", "value": "male"},
    ],
)
def test_a_person_may_change_only_what_is_theirs_to_change(
    live: tuple[World, Running], operation: dict[str, object]
) -> None:
    world, running = live
    refused = patch(running, world, [operation])
    assert refused.status_code == 400
    assert "INVALID_UPDATE" in refused.text and str(operation["path"]) in refused.text


def test_a_change_is_validated_like_a_load(live: tuple[World, Running]) -> None:
    world, running = live
    bad = [{"op": "add", "path": "/telecom/-", "value": {"system": "fax-machine", "value": "1"}}]
    refused = patch(running, world, bad)
    assert refused.status_code == 400
    assert "fax-machine" in refused.text
    url = f"{running.base_url}/personal/Patient/{world.nhs('p0')}"
    assert httpx.get(url, headers=person(world)).headers["ETag"] == 'W/"1"'


def test_nobody_changes_another_persons_record(live: tuple[World, Running]) -> None:
    world, running = live
    assert patch(running, world, NEW_PHONE, who="quinn").status_code == 403
    assert patch(running, world, NEW_PHONE, who="dana").status_code == 403


def test_a_change_reaches_the_analysis_layer_at_once_and_a_rebuild_agrees(
    live: tuple[World, Running],
) -> None:
    world, running = live
    new_area = [
        {
            "op": "replace",
            "path": "/address/0/extension/0/valueCode",
            "value": "E01000002",
        }
    ]
    assert patch(running, world, new_area).status_code == 200

    def area() -> str:
        with duckdb.connect(str(world.data_dir.database), read_only=True) as con:
            row = con.execute(
                "SELECT max(lsoa_code) FROM analysis.practice_registrations"
            ).fetchone()
        return str(row[0]) if row else ""

    assert area() == "E01000002"  # the write updated the rows it touched
    with writing(world.data_dir) as store:
        load(store, [], workers=1)  # and a later load keeps it
    assert area() == "E01000002"


def test_sharing_sleep_consent_and_withdrawal(live: tuple[World, Running]) -> None:
    world, running = live
    base = running.base_url
    clinician = {"Authorization": f"Bearer {world.tokens['dana']}"}

    def clinician_sees() -> list[str]:
        bundle = httpx.get(
            f"{running.fhir}/Observation", params={"patient": "p0", "category": "activity"},
            headers=clinician,
        ).json()  # fmt: skip
        return [e["resource"]["id"] for e in bundle.get("entry", [])]

    shared = httpx.post(
        f"{base}/personal/$upload",
        params={"device": "wrist tracker"},
        headers=person(world),
        json={
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": sleep(None, None, 402.0, "2024-06-01")},
                {"resource": sleep(None, None, 390.0, "2099-06-01")},  # a date in the future
                {"resource": sleep(None, "q0", 300.0)},  # someone else's
            ],
        },
    )
    assert shared.status_code == 200
    answer = shared.json()
    kept = [e["valueString"] for e in answer["extension"]]
    assert len(kept) == 1
    problems = " ".join(i["diagnostics"] for i in answer["issue"][1:])
    assert "record 1: date.future" in problems and "record 2: personal.subject" in problems

    assert clinician_sees() == []  # no consent for care yet
    consent = {"resourceType": "Consent", "status": "active"}
    ids = {"X-Request-ID": str(uuid.uuid4())}
    made = httpx.put(f"{base}/personal/Consent/share-for-care", json=consent,
                     headers=person(world, **ids))  # fmt: skip
    assert made.status_code == 200 and made.json()["status"] == "active"
    assert sorted(clinician_sees()) == sorted(["pgd-night-1", *kept])
    stored = httpx.get(f"{running.fhir}/Observation/{kept[0]}", headers=clinician).json()
    assert {"code": "patient-generated"}.items() <= stored["meta"]["tag"][0].items()
    assert "wrist%20tracker" in stored["meta"]["source"]

    withdrawn = httpx.put(
        f"{base}/personal/Consent/share-for-care",
        json={"resourceType": "Consent", "status": "inactive"},
        headers=person(world, **{"X-Request-ID": str(uuid.uuid4())}),
    )
    assert withdrawn.status_code == 200
    assert clinician_sees() == []
    assert httpx.get(f"{running.fhir}/Observation/{kept[0]}", headers=clinician).status_code == 404

    gone = httpx.delete(f"{base}/personal/Observation/{kept[0]}", headers=person(world))
    assert gone.status_code == 204
    mine = httpx.get(f"{running.fhir}/Observation/{kept[0]}", headers=person(world))
    assert mine.status_code == 410
    recorded = httpx.delete(f"{base}/personal/Observation/o-p0-0", headers=person(world))
    assert recorded.status_code == 400  # what a clinician recorded is not the person's to delete


def test_who_read_my_record(live: tuple[World, Running]) -> None:
    world, running = live
    clinician = {"Authorization": f"Bearer {world.tokens['dana']}"}
    httpx.get(f"{running.fhir}/Patient/p0", headers=clinician).raise_for_status()
    outsider = {"Authorization": f"Bearer {world.tokens['gus']}", "X-Break-Glass-Reason": "A&E"}
    httpx.get(f"{running.fhir}/Patient/p0", headers=outsider).raise_for_status()
    reads = httpx.get(f"{running.base_url}/personal/usage", headers=person(world)).json()["reads"]
    by = {(r["reader"], r["relationship"]) for r in reads}
    assert ("dana", "registered") in by and ("gus", "break-glass") in by
    assert [r["reason"] for r in reads if r["reader"] == "gus"] == ["A&E"]
    theirs = httpx.get(f"{running.base_url}/personal/usage", headers=person(world, "quinn"))
    assert all(r["reader"] != "dana" for r in theirs.json()["reads"])


SHARED_KINDS = {  # LOINC: (value, unit) as a phone or a wearable would send them
    "41950-7": (9120.0, "steps"),
    "93832-4": (431.0, "min"),
    "40443-4": (58.0, "/min"),
    "8867-4": (74.0, "/min"),
    "29463-7": (71.4, "kg"),
    "9052-2": (2150.0, "kcal"),
    "55411-3": (35.0, "min"),
}


def test_people_share_activity_sleep_heart_rate_weight_food_and_exercise(
    live: tuple[World, Running],
) -> None:
    """Each kind a person may share is taken, checked like a load, marked patient-generated with
    its device, shown to a clinician under consent for care, and a kind the environment does
    not take is rejected with its rule and path."""
    world, running = live
    records = []
    for code, (value, unit) in SHARED_KINDS.items():
        found = sleep(None, None, value, "2024-06-02")
        found["code"] = {"coding": [{"system": "http://loinc.org", "code": code}]}
        found["valueQuantity"] = {"value": value, "unit": unit}
        records.append({"resource": found})
    unknown = sleep(None, None, 1.0, "2024-06-02")
    unknown["code"] = {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]}  # glucose
    records.append({"resource": unknown})
    shared = httpx.post(
        f"{running.base_url}/personal/$upload",
        params={"device": "phone app"},
        headers=person(world),
        json={"resourceType": "Bundle", "type": "collection", "entry": records},
    )
    assert shared.status_code == 200, shared.text
    answer = shared.json()
    kept = [e["valueString"] for e in answer["extension"]]
    assert len(kept) == len(SHARED_KINDS)
    problems = " ".join(i["diagnostics"] for i in answer["issue"][1:])
    assert f"record {len(SHARED_KINDS)}: " in problems and "2339-0" in problems

    consent = {"resourceType": "Consent", "status": "active"}
    made = httpx.put(f"{running.base_url}/personal/Consent/share-for-care", json=consent,
                     headers=person(world, **{"X-Request-ID": str(uuid.uuid4())}))  # fmt: skip
    assert made.status_code == 200
    bundle = httpx.get(
        f"{running.fhir}/Observation",
        params={"patient": "p0", "category": "activity", "date": "2024-06-02", "_count": 50},
        headers={"Authorization": f"Bearer {world.tokens['dana']}"},
    ).json()
    seen = {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in bundle["entry"]}
    assert set(seen) == set(SHARED_KINDS)
    for resource in seen.values():
        assert resource["meta"]["tag"][-1]["code"] == "patient-generated"
        assert "phone%20app" in resource["meta"]["source"]


def variant(gene: str, change: str, state: str = "LA6706-1") -> dict[str, object]:
    """One genetic variant as a person's test report gives it (HL7 Genomics Reporting shape)."""
    loinc = "http://loinc.org"

    def component(code: str, system: str, value: str) -> dict[str, object]:
        return {
            "code": {"coding": [{"system": loinc, "code": code}]},
            "valueCodeableConcept": {"coding": [{"system": system, "code": value}]},
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": loinc, "code": "69548-6"}]},
        "effectiveDateTime": "2024-03-11",
        "valueCodeableConcept": {"coding": [{"system": loinc, "code": "LA9633-4"}]},
        "component": [
            component("48018-6", "http://www.genenames.org/geneId", gene),
            component("48004-6", "http://varnomen.hgvs.org", change),
            component("53034-5", loinc, state),
        ],
    }


def test_a_genome_summary_is_checked_shown_to_a_clinician_under_consent_and_kept_from_research(
    live: tuple[World, Running],
) -> None:
    """A person shares the variants they choose: each is checked for form (gene in HGNC, change
    in HGVS, allelic state from LOINC's answers) with the rule and path of any fault; the good
    ones reach a clinician only under consent for care and never the analysis layer."""
    world, running = live

    def analysis_rows() -> int:
        with duckdb.connect(str(world.data_dir.database), read_only=True) as con:
            row = con.execute("SELECT count(*) FROM analysis.wearable_observations").fetchone()
        return int(row[0]) if row else -1

    before = analysis_rows()
    shared = httpx.post(
        f"{running.base_url}/personal/$upload",
        params={"device": "genome test report"},
        headers=person(world),
        json={
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": variant("HGNC:1100", "NM_007294.4:c.68_69del")},
                {"resource": variant("HGNC:1101", "NM_000059.4:c.5946del", "LA6705-3")},
                {"resource": variant("HGNC:1100", "BRCA1 del")},
                {"resource": variant("BRCA1", "NM_007294.4:c.68_69del")},
                {"resource": variant("HGNC:1100", "NM_007294.4:c.68_69del", "carrier")},
            ],
        },
    )
    assert shared.status_code == 200, shared.text
    answer = shared.json()
    kept = [e["valueString"] for e in answer["extension"]]
    assert len(kept) == 2
    problems = [(i["diagnostics"], i["expression"][0]) for i in answer["issue"][1:]]
    assert len(problems) == 3 and all("genome.variant" in said for said, _ in problems)
    where = "valueCodeableConcept.coding[0].code"
    assert [(said.split(":")[0], path) for said, path in problems] == [
        ("record 2", f"Observation.component[1].{where}"),
        ("record 3", f"Observation.component[0].{where}"),
        ("record 4", f"Observation.component[2].{where}"),
    ]
    assert "'carrier'" in problems[2][0]

    clinician = {"Authorization": f"Bearer {world.tokens['dana']}"}

    def clinician_sees() -> set[str]:
        bundle = httpx.get(
            f"{running.fhir}/Observation", params={"patient": "p0", "code": "69548-6"},
            headers=clinician,
        ).json()  # fmt: skip
        return {e["resource"]["id"] for e in bundle.get("entry", [])}

    assert clinician_sees() == set()
    consent = {"resourceType": "Consent", "status": "active"}
    made = httpx.put(f"{running.base_url}/personal/Consent/share-for-care", json=consent,
                     headers=person(world, **{"X-Request-ID": str(uuid.uuid4())}))  # fmt: skip
    assert made.status_code == 200
    assert clinician_sees() == set(kept)
    shown = httpx.get(f"{running.fhir}/Observation/{kept[0]}", headers=clinician).json()
    assert shown["component"][1]["valueCodeableConcept"]["coding"][0]["code"] == (
        "NM_007294.4:c.68_69del"
    )

    assert analysis_rows() == before  # the upload kept them out of the analysis layer
    with writing(world.data_dir) as store:
        load(store, [], workers=1)
    assert analysis_rows() == before  # and so does a rebuild
