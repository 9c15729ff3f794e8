"""A shared genome summary is checked for form as any load is: each fault found once, with the
rule ``genome.variant`` and the path to the element, and a well-formed variant taken whole."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fivesafes.ingest.checks import RecordChecker
from fivesafes.ingest.flatten import FLATTENINGS
from fivesafes.ingest.genomics import ALLELIC_STATES, HGNC, HGVS

LOINC = "http://loinc.org"
TODAY = date(2026, 12, 7)


def variant(gene: str = "HGNC:1100", change: str = "NM_007294.4:c.68_69del") -> dict[str, Any]:
    def component(code: str, system: str, value: str) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueCodeableConcept": {"coding": [{"system": system, "code": value}]},
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "activity",
                    }
                ]
            }
        ],
        "subject": {"reference": "Patient/p0"},
        "code": {"coding": [{"system": LOINC, "code": "69548-6"}]},
        "effectiveDateTime": "2024-03-11",
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9633-4"}]},
        "component": [
            component("48018-6", HGNC, gene),
            component("48004-6", HGVS, change),
            component("53034-5", LOINC, "LA6706-1"),
        ],
    }


def findings(resource: dict[str, Any]) -> list[tuple[str, str]]:
    checker = RecordChecker("Observation", TODAY)
    FLATTENINGS["Observation"].extract(resource, checker)
    return [(f.rule, f.path) for f in checker.findings]


def test_a_well_formed_variant_is_taken_without_a_measured_value() -> None:
    assert findings(variant()) == []


def test_each_fault_is_named_with_its_path() -> None:
    where = "valueCodeableConcept.coding[0]"
    no_gene = variant()
    del no_gene["component"][0]
    absent = variant()
    absent["valueCodeableConcept"]["coding"][0]["code"] = "LA9634-2"  # Absent
    other_system = variant()
    other_system["component"][1]["valueCodeableConcept"]["coding"][0]["system"] = "urn:x"
    bad_state = variant()
    bad_state["component"][2]["valueCodeableConcept"]["coding"][0]["code"] = "carrier"
    assert findings(no_gene) == [("genome.variant", "Observation.component")]
    assert findings(absent) == [("genome.variant", f"Observation.{where}.code")]
    assert findings(other_system) == [
        ("genome.variant", f"Observation.component[1].{where}.system")
    ]
    assert findings(bad_state) == [("genome.variant", f"Observation.component[2].{where}.code")]


@given(
    number=st.integers(1, 999_999),
    accession=st.sampled_from(["NM_007294.4", "NC_000017.11", "NG_005905.2", "LRG_292t1"]),
    kind=st.sampled_from("cgn"),
    position=st.integers(1, 10**7),
    change=st.sampled_from(["del", "dup", "A>G", "C>T", "_{0}del", "+1G>A", "-15T>C"]),
)
def test_any_hgnc_gene_and_hgvs_change_is_taken(
    number: int, accession: str, kind: str, position: int, change: str
) -> None:
    written = f"{accession}:{kind}.{position}{change.format(position + 1)}"
    assert findings(variant(f"HGNC:{number}", written)) == []


@given(text=st.text(min_size=1, max_size=30).filter(lambda t: ":" not in t or " " in t))
def test_a_change_outside_hgvs_notation_is_refused(text: str) -> None:
    assert ("genome.variant", "Observation.component[1].valueCodeableConcept.coding[0].code") in (
        findings(variant(change=text))
    )


def test_the_allelic_states_are_loincs_answer_list() -> None:
    for state in ALLELIC_STATES:
        taken = copy.deepcopy(variant())
        taken["component"][2]["valueCodeableConcept"]["coding"][0]["code"] = state
        assert findings(taken) == []
