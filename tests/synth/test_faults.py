"""Injected faults: every kind appears, each listed line has exactly its fault, and the
loader rejects each one under the rule meant to catch it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from fivesafes.model.codes import CodeSystem, code_problem, is_valid_nhs_number
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.synth import FAULT_KINDS, generate

DATES = {
    "Condition": "onsetDateTime",
    "Observation": "effectiveDateTime",
    "MedicationRequest": "authoredOn",
    "Procedure": "performedDateTime",
    "Immunization": "occurrenceDateTime",
}
CODES = {
    "Condition": "code",
    "Observation": "code",
    "MedicationRequest": "medicationCodeableConcept",
    "Immunization": "vaccineCode",
}
RULES = {
    "bad_nhs_number": {"nhs-number.invalid"},
    "future_date": {"date.future"},
    "before_birth": {"date.before-birth"},
    "after_death": {"date.after-death"},
    "unknown_code": {"code.malformed", "code.unknown-system"},
    "broken_reference": {"reference.unresolved"},
    "duplicate_patient": {"patient.duplicate-nhs-number"},
    "malformed_json": {"json.malformed"},
}


def _faults(path: Path) -> list[dict[str, Any]]:
    return orjson.loads((path / "_faults.json").read_bytes())


def _line(path: Path, file: str, line: int) -> bytes:
    return (path / file).read_bytes().splitlines()[line - 1]


def _patients(path: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for line in (path / "Patient.ndjson").read_bytes().splitlines():
        patient = orjson.loads(line)
        found[patient["id"]] = patient
    return found


def _subject(resource: dict[str, Any]) -> str:
    if resource["resourceType"] == "Appointment":
        return resource["participant"][0]["actor"]["reference"]
    link = resource.get("subject") or resource["patient"]
    return link["reference"]


def test_every_kind_is_injected_and_listed_once_per_record(faulty: Path) -> None:
    faults = _faults(faulty)
    assert {f["kind"] for f in faults} == set(FAULT_KINDS)
    assert len({(f["file"], f["line"]) for f in faults}) == len(faults)
    assert all(f["file"] == f"{f['resource_type']}.ndjson" for f in faults)


def test_the_fault_rate_is_roughly_the_share_of_records_spoiled(faulty: Path) -> None:
    lines = sum(len(p.read_bytes().splitlines()) for p in faulty.glob("*.ndjson"))
    assert 0.01 < len(_faults(faulty)) / lines < 0.03


def test_each_listed_line_has_its_fault(faulty: Path) -> None:
    patients = _patients(faulty)
    nhs_numbers: dict[str, list[str]] = {}
    for pid, patient in patients.items():
        nhs_numbers.setdefault(patient["identifier"][0]["value"], []).append(pid)
    for fault in _faults(faulty):
        text = _line(faulty, fault["file"], fault["line"])
        kind = fault["kind"]
        if kind == "malformed_json":
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(text)
            assert f'"id":"{fault["id"]}"'.encode() in text or len(text) < 60
            continue
        resource = orjson.loads(text)
        assert resource["id"] == fault["id"]
        assert resource["resourceType"] == fault["resource_type"]
        if kind == "bad_nhs_number":
            assert not is_valid_nhs_number(resource["identifier"][0]["value"])
        elif kind == "duplicate_patient":
            assert len(nhs_numbers[resource["identifier"][0]["value"]]) == 2
        elif kind == "broken_reference":
            assert _subject(resource).removeprefix("Patient/") not in patients
        elif kind == "unknown_code":
            coding = resource[CODES[resource["resourceType"]]]["coding"][0]
            known = {s.value for s in (CodeSystem.SNOMEDCT, CodeSystem.DMD)}
            assert coding["system"] not in known or code_problem(
                CodeSystem(coding["system"]), coding["code"]
            )
        else:
            when = date.fromisoformat(resource[DATES[resource["resourceType"]]][:10])
            patient = patients[_subject(resource).removeprefix("Patient/")]
            if kind == "future_date":
                assert when.year == 2099
            elif kind == "before_birth":
                assert when < date.fromisoformat(patient["birthDate"])
            else:
                assert when > date.fromisoformat(patient["deceasedDateTime"])
                assert when <= date(2025, 12, 31)


def test_a_tiny_population_still_gets_every_kind(tmp_path: Path) -> None:
    generate(tmp_path, 12, seed=5, faults=0.001)
    assert {f["kind"] for f in _faults(tmp_path)} == set(FAULT_KINDS)


def test_the_loader_rejects_each_fault_under_its_rule(faulty: Path, data_dir: DataDir) -> None:
    with Store.open(data_dir) as store:
        report = load(store, [faulty], today=date(2026, 1, 1), commit=False, verdicts=True)
    rejected = {
        (Path(v.file).name, v.line): {rule for _, rule, _ in v.findings}
        for v in report.verdicts
        if not v.accepted and not v.file.endswith(".csv")  # social care: tests/social_care
    }
    faults = _faults(faulty)
    for fault in faults:
        rules = rejected.get((fault["file"], fault["line"]), set())
        assert rules & RULES[fault["kind"]], (fault, rules)
    listed = {(f["file"], f["line"]) for f in faults}
    assert set(rejected) == listed
