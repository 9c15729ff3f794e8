"""Unfaulted output is valid FHIR R4, self-consistent and loadable in the summary's order."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from conftest import Output
from fivesafes.ingest.pipeline import VALIDATOR

EVENT_DATES = {
    "EpisodeOfCare": lambda r: r["period"]["start"],
    "Condition": lambda r: r["onsetDateTime"],
    "Observation": lambda r: r["effectiveDateTime"],
    "MedicationRequest": lambda r: r["authoredOn"],
    "Encounter": lambda r: r["period"]["start"],
    "Procedure": lambda r: r["performedDateTime"],
    "Immunization": lambda r: r["occurrenceDateTime"],
    "Appointment": lambda r: r["start"],
}
PATIENT_LINK = {"Immunization": "patient", "EpisodeOfCare": "patient"}
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})")


def patient_of(resource: dict[str, Any]) -> str:
    kind = resource["resourceType"]
    if kind == "Appointment":
        return resource["participant"][0]["actor"]["reference"]
    return resource[PATIENT_LINK.get(kind, "subject")]["reference"]


def test_every_resource_passes_the_r4_validator(population: Output) -> None:
    findings = [
        (r["resourceType"], r["id"], f)
        for resources in population.resources.values()
        for r in resources
        for f in VALIDATOR.validate_resource(r)
    ]
    assert findings == []


def test_every_reference_resolves_to_an_earlier_file_in_load_order(population: Output) -> None:
    order = [f.name.removesuffix(".ndjson") for f in population.summary.files]
    known: set[str] = set()
    for resource_type in (t for t in order if t in population.resources):
        known |= {f"{resource_type}/{r['id']}" for r in population.resources[resource_type]}
        unresolved = population.references[resource_type] - known
        assert not unresolved, (resource_type, sorted(unresolved)[:5])


def test_nothing_happens_before_birth_or_after_death(population: Output) -> None:
    patients = population.by_id("Patient")
    deaths = 0
    for resource_type, when in EVENT_DATES.items():
        for r in population.resources[resource_type]:
            patient = patients[patient_of(r).removeprefix("Patient/")]
            day = date.fromisoformat(when(r)[:10])
            assert day >= date.fromisoformat(patient["birthDate"]), r["id"]
            if "deceasedDateTime" in patient:
                deaths += 1
                assert day <= date.fromisoformat(patient["deceasedDateTime"]), r["id"]
            assert day < date(2026, 1, 1), r["id"]
    assert deaths > 0


def test_times_carry_a_timezone(population: Output) -> None:
    timed = [s for s in population.strings if s[10:11] == "T" and s[:4].isdigit()]
    assert timed
    assert all(DATE_TIME.fullmatch(s) for s in timed)


def test_deaths_have_a_cause_on_the_day(population: Output) -> None:
    dead = {p["id"]: p["deceasedDateTime"] for p in population.resources["Patient"]
            if "deceasedDateTime" in p}  # fmt: skip
    causes = {
        o["subject"]["reference"].removeprefix("Patient/"): o
        for o in population.resources["Observation"]
        if o["code"]["coding"][0]["code"] == "184305005"
    }
    assert dead and causes.keys() == dead.keys()
    for pid, cause in causes.items():
        assert cause["effectiveDateTime"] == dead[pid]
        assert cause["valueCodeableConcept"]["coding"][0]["system"] == (
            "http://hl7.org/fhir/sid/icd-10"
        )


def test_most_people_have_one_registration_and_movers_two(population: Output) -> None:
    per_patient: dict[str, list[dict[str, Any]]] = {}
    for episode in population.resources["EpisodeOfCare"]:
        per_patient.setdefault(episode["patient"]["reference"], []).append(episode)
    counts = [len(e) for e in per_patient.values()]
    assert len(per_patient) == 3000
    assert 0.75 < counts.count(1) / len(counts) < 0.95
    assert set(counts) == {1, 2}
    for episodes in per_patient.values():
        if len(episodes) == 2:
            first, second = episodes
            assert first["status"] == "finished"
            assert first["period"]["end"] < second["period"]["start"]
            assert first["managingOrganization"] != second["managingOrganization"]


def test_event_volume_is_in_the_planned_range(population: Output) -> None:
    reference = {"Patient", "Organization", "Location", "HealthcareService"}
    events = sum(len(r) for t, r in population.resources.items() if t not in reference)
    assert 10 <= events / 3000 <= 22
