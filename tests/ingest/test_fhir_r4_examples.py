"""Every file of HL7's R4 examples gets a verdict we can defend.

The examples are published by HL7 (FHIR/fhir-test-cases, Apache-2.0) under
``../shared/fhir-examples/r4-examples``. JSON resources are expected to be accepted unless
listed in ``REJECTED`` with the rules that reject them and why that is right for a
point-of-entry loader; the loader reads FHIR JSON only, so XML files are rejected as
``fhir.json``, and the SQL-on-FHIR ``*.json.out`` files are expected query results (rows),
not resources, so they have no resourceType.
"""

from __future__ import annotations

import pytest

from fivesafes.ingest.conformance import SETTINGS_NOT_R4, breaks_fhir_r4
from fivesafes.ingest.fhir import validate_json
from shared_files import SHARED, require

EXAMPLES = SHARED / "fhir-examples/r4-examples"
# Without the examples one placeholder case stands for them all, to skip (or in CI fail) by name.
FILES = sorted(p.name for p in EXAMPLES.iterdir()) if EXAMPLES.is_dir() else ["(missing)"]

# file -> (rules of the findings, why rejecting it is right)
REJECTED: dict[str, tuple[set[str], str]] = {
    "basic-example.json": (
        {"fhir.extension"},
        "its six extensions live at example.org and are defined nowhere we know",
    ),
    "bundle-questionnaire.json": (
        {"fhir.cardinality"},
        "50 nested Questionnaire.item have no linkId, which R4 makes mandatory (min 1)",
    ),
    "documentreference-example.json": (
        {"fhir.example-url"},
        "attachment.url points at example.org: placeholder data, not a retrievable document",
    ),
}


def expected_rules(name: str) -> tuple[set[str], str]:
    """The rules a file should be rejected by (empty: accepted) and the reason."""
    if name.endswith(".xml"):
        return {"fhir.json"}, "FHIR XML: the loader accepts FHIR JSON only"
    if name.endswith(".json.out"):
        return {"fhir.resource-type"}, "SQL-on-FHIR expected rows, not a FHIR resource"
    return REJECTED.get(name, (set(), "valid R4 example"))


@pytest.mark.parametrize("name", FILES)
def test_example_verdict(name: str) -> None:
    require(EXAMPLES)
    findings = validate_json((EXAMPLES / name).read_bytes())
    rules, reason = expected_rules(name)
    assert {f.rule for f in findings} == rules, (reason, findings[:5])


def test_most_json_examples_are_accepted() -> None:
    require(EXAMPLES)
    resources = [n for n in FILES if n.endswith(".json")]
    accepted = [n for n in resources if not validate_json((EXAMPLES / n).read_bytes())]
    assert len(accepted) == len(resources) - len(REJECTED)


def test_plain_fhir_accepts_what_only_the_environments_settings_refuse() -> None:
    """documentreference-example.json points at example.org: valid R4, refused only here."""
    require(EXAMPLES)
    for name in sorted(REJECTED):
        r4 = {
            f.rule for f in validate_json((EXAMPLES / name).read_bytes()) if breaks_fhir_r4(f.rule)
        }
        assert r4 == REJECTED[name][0] - SETTINGS_NOT_R4, name
    assert REJECTED["documentreference-example.json"][0] <= SETTINGS_NOT_R4
