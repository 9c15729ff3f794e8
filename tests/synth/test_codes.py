"""Identifiers and codes: valid NHS numbers in the test range, well-formed codes everywhere."""

from __future__ import annotations

import csv
import re

from conftest import Output
from fivesafes.model.codes import CodeSystem, code_problem, is_valid_nhs_number
from fivesafes.model.lookups import load_imd, load_lsoa_geography
from fivesafes.model.tables import areas, workforce
from fivesafes.synth import vocabulary as v

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
CHECKED_SYSTEMS = {s.value: s for s in CodeSystem}


def test_nhs_numbers_are_valid_unique_and_in_the_test_range(population: Output) -> None:
    numbers = [p["identifier"][0]["value"] for p in population.resources["Patient"]]
    assert len(numbers) == 3000
    assert len(set(numbers)) == len(numbers)
    assert all(n.startswith("999") and is_valid_nhs_number(n) for n in numbers)
    for patient in population.resources["Patient"]:
        assert patient["identifier"] == [
            {
                "system": "https://fhir.nhs.uk/Id/nhs-number",
                "value": patient["identifier"][0]["value"],
            }
        ]


def test_every_code_of_a_known_system_is_well_formed(population: Output) -> None:
    seen: dict[CodeSystem, set[str]] = {}
    for coding in population.codings:
        system = CHECKED_SYSTEMS.get(coding["system"])
        if system is not None:
            seen.setdefault(system, set()).add(coding["code"])
    for system, codes in seen.items():
        problems = [p for code in sorted(codes) if (p := code_problem(system, code))]
        assert not problems, problems
    expected = {CodeSystem.SNOMEDCT, CodeSystem.DMD, CodeSystem.ICD10, CodeSystem.OPCS4,
                CodeSystem.LOINC, CodeSystem.ETHNIC_CATEGORY}  # fmt: skip
    assert expected <= seen.keys()


def test_every_vocabulary_code_is_well_formed() -> None:
    codes = [c for c in vars(v).values() if isinstance(c, v.Code)]
    for group in (v.ELECTIVE, v.EMERGENCY, v.MATERNITY, tuple(v.CONDITION_EMERGENCY.values())):
        for reason in group:
            codes.extend(c for c in (reason.diagnosis, reason.presentation, reason.procedure) if c)
    codes.extend((*v.SMOKING, *v.DEATH_CAUSES, *v.ETHNIC_CODES, *v.AE_COMMON))
    assert len(codes) > 60
    for code in codes:
        assert code_problem(CodeSystem(code.system), code.code) is None, code


def test_prescriptions_cover_every_drug_and_only_dmd(population: Output) -> None:
    drugs = {
        c["code"]
        for r in population.resources["MedicationRequest"]
        for c in r["medicationCodeableConcept"]["coding"]
        if c["system"] == CodeSystem.DMD.value
    }
    assert drugs == {d.code for d in (v.METFORMIN, v.SALBUTAMOL, v.ATORVASTATIN, v.RAMIPRIL,
                                      v.AMLODIPINE, v.SERTRALINE, v.CITALOPRAM)}  # fmt: skip


def test_ids_are_valid_fhir_ids_and_unique_per_type(population: Output) -> None:
    for resource_type, resources in population.resources.items():
        ids = [r["id"] for r in resources]
        assert all(FHIR_ID.fullmatch(i) for i in ids), resource_type
        assert len(set(ids)) == len(ids), resource_type
        assert all(r["resourceType"] == resource_type for r in resources)


def test_csv_headers_are_the_model_columns_and_areas_are_used(population: Output) -> None:
    for table in (areas, workforce):
        with (population.path / f"{table.name}.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert tuple(rows[0].keys()) == table.column_names
        assert len(rows) > 0
    with (population.path / "areas.csv").open(newline="") as handle:
        area_rows = list(csv.DictReader(handle))
    assert len(area_rows) >= 30
    deciles = {int(r["imd_decile"]) for r in area_rows}
    assert min(deciles) <= 3 and max(deciles) >= 8
    imd = {r["lsoa_code"]: r["imd_decile"] for r in load_imd().to_pylist()}
    real = {r["lsoa_code"]: r for r in load_lsoa_geography().to_pylist()}
    for row in area_rows:
        assert int(row["imd_decile"]) == imd[row["lsoa_code"]]
        assert row["icb_code"] == real[row["lsoa_code"]]["icb_ods_code"]
        assert row["region"] == real[row["lsoa_code"]]["region"]
    lsoas = {r["lsoa_code"] for r in area_rows}
    assert all(code_problem(CodeSystem.LSOA, code) is None for code in lsoas)
    used = {p["address"][0]["extension"][0]["valueCode"] for p in population.resources["Patient"]}
    assert used <= lsoas
