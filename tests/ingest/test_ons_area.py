"""The ONS area extension of docs/fhir-profile.md: an ICB's own code and a practice's Sub ICB
Location become the registration's ``icb_code`` and ``sub_icb_code``; a code of the wrong
system or shape is refused with its path, never loaded."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fhir_factory import icb, practice
from fivesafes.ingest.flatten import EXT_AREA, FLATTENINGS, flatten
from fivesafes.model.codes import CodeSystem

TODAY = date(2026, 1, 1)
AREA = [name for name, _ in FLATTENINGS["Organization"].columns].index("area_code")


def with_area(resource: dict[str, Any], system: str, code: str) -> dict[str, Any]:
    ext = {"url": EXT_AREA, "valueCoding": {"system": system, "code": code}}
    return {**resource, "extension": [*resource.get("extension", []), ext]}


def test_an_icb_and_a_practice_carry_their_ons_areas() -> None:
    row, checker = flatten(with_area(icb(), CodeSystem.ICB.value, "E54000027"), TODAY)
    assert checker.findings == [] and row is not None and row[AREA] == "E54000027"
    row, checker = flatten(with_area(practice(), CodeSystem.SUB_ICB.value, "E38000244"), TODAY)
    assert checker.findings == [] and row is not None and row[AREA] == "E38000244"


def test_an_organisation_without_one_still_loads() -> None:
    row, checker = flatten(practice(), TODAY)
    assert checker.findings == [] and row is not None and row[AREA] is None


@pytest.mark.parametrize(
    ("system", "code", "rule"),
    [
        (CodeSystem.SUB_ICB.value, "E3800024", "code.malformed"),  # five digits
        (CodeSystem.SUB_ICB.value, "00L", "code.malformed"),  # the ODS code, not the ONS one
        (CodeSystem.LSOA.value, "E01000001", "code.unknown-system"),  # not an area above LSOAs
    ],
)
def test_a_wrong_area_is_refused_naming_the_element(system: str, code: str, rule: str) -> None:
    _, checker = flatten(with_area(practice(), system, code), TODAY)
    assert [(f.rule, f.path.split(".")[1]) for f in checker.findings] == [(rule, "extension")]
