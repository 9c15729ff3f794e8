"""dom-3 as HL7's reference validator judges it: which ``#id`` values make a contained
resource referenced, and which do not.

The reference validator decides dom-3 in code (its ``checkContainedReferences``) rather than by
R4's FHIRPath; each case below says what it decides and why. The one dom-3 case among the
shared validator cases (``contained-resource-bad-id.json``) is in the agreement suite; the
Questionnaire case here is the shape of fhir-test-cases' ``contained.json``, to which the
reference reports no error in R4.
"""

from __future__ import annotations

from typing import Any

import pytest

from fivesafes.ingest.fhir import validate_resource

VALUE_SET = {"resourceType": "ValueSet", "id": "yes-no", "status": "draft"}
CODE_SYSTEM = {
    "resourceType": "CodeSystem",
    "id": "cs",
    "url": "https://fivesafes.org/fhir/CodeSystem/local",
    "status": "active",
    "content": "not-present",
}


def questionnaire(answer_value_set: str, *contained: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [{"linkId": "q1", "type": "choice", "answerValueSet": answer_value_set}],
        "contained": list(contained),
    }


def practitioner(pid: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Practitioner", "id": pid, "name": [{"family": "Jones"}], **extra}


def condition(*contained: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "contained": list(contained),
        **extra,
    }


def extension(kind: str, value: str) -> dict[str, Any]:
    return {"url": "http://hl7.org/fhir/StructureDefinition/workflow-instantiatesUri", kind: value}


REFERENCED: dict[str, dict[str, Any]] = {
    # canonical: the issue's own example, rejected before.
    "answerValueSet canonical": questionnaire("#yes-no", VALUE_SET),
    "canonical array": {
        "resourceType": "Questionnaire",
        "status": "draft",
        "derivedFrom": ["#q0"],
        "contained": [{"resourceType": "Questionnaire", "id": "q0", "status": "draft"}],
    },
    "uri": condition(practitioner("pr1"), extension=[extension("valueUri", "#pr1")]),
    "reference": condition(practitioner("pr1"), asserter={"reference": "#pr1"}),
    "narrative link": condition(
        practitioner("pr1"),
        text={
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">By <a href="#pr1">Jones</a></div>',
        },
    ),
    # The contained resource points back at its container.
    "refers to the container": condition(
        {
            "resourceType": "Provenance",
            "id": "prov",
            "target": [{"reference": "#"}],
            "recorded": "2024-01-01T00:00:00Z",
            "agent": [{"who": {"display": "Dr Jones"}}],
        }
    ),
    # The container reaches pr1, and pr1 reaches org: a chain from the container counts.
    "chain from the container": condition(
        practitioner("pr1", extension=[extension("valueUri", "#org")]),
        {"resourceType": "Organization", "id": "org", "name": "Practice"},
        asserter={"reference": "#pr1"},
    ),
}

UNREFERENCED: dict[str, tuple[dict[str, Any], set[int]]] = {
    # '#pr1' in a string is text, not a reference.
    "a string": (
        condition(
            practitioner("pr1"),
            note=[{"text": "#pr1"}],
        ),
        {0},
    ),
    # pr1 and org refer to each other, but nothing in the container reaches either.
    "a chain that never reaches the container": (
        condition(
            practitioner("pr1", extension=[extension("valueUri", "#org")]),
            {
                "resourceType": "Organization",
                "id": "org",
                "name": "Practice",
                "extension": [extension("valueUri", "#pr1")],
            },
        ),
        {0, 1},
    ),
    "only itself": (condition(practitioner("pr1", extension=[extension("valueUri", "#pr1")])), {0}),
    "the canonical points elsewhere": (questionnaire("#other", VALUE_SET), {0}),
}


@pytest.mark.parametrize("name", REFERENCED)
def test_a_referenced_contained_resource_passes(name: str) -> None:
    assert validate_resource(REFERENCED[name]) == []


@pytest.mark.parametrize("name", UNREFERENCED)
def test_an_unreferenced_contained_resource_fails_dom_3(name: str) -> None:
    resource, orphans = UNREFERENCED[name]
    root = resource["resourceType"]
    dom3 = {
        f.path
        for f in validate_resource(resource)
        if f.rule == "fhir.contained" and "dom-3" in f.message
    }
    assert dom3 == {f"{root}.contained[{i}]" for i in orphans}


def test_a_canonical_must_find_its_contained_resource() -> None:
    """The reference reports "no matching target" for a canonical '#id' nothing has."""
    paths = {
        (f.rule, f.path)
        for f in validate_resource(questionnaire("#other", VALUE_SET))
        if "ref-1" in f.message
    }
    assert paths == {("fhir.contained", "Questionnaire.item[0].answerValueSet")}


def test_a_uri_that_matches_nothing_is_not_an_error() -> None:
    """A uri or url '#x' may name something other than a contained resource (a hint only)."""
    resource = condition(
        practitioner("pr1"),
        asserter={"reference": "#pr1"},
        extension=[extension("valueUri", "#somewhere")],
    )
    assert validate_resource(resource) == []


def test_a_canonical_in_an_extension_references_a_contained_code_system() -> None:
    value_set = {
        "resourceType": "ValueSet",
        "status": "active",
        "compose": {
            "include": [
                {
                    "system": CODE_SYSTEM["url"],
                    "_system": {
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/valueset-system",
                                "valueCanonical": "#cs",
                            }
                        ]
                    },
                }
            ]
        },
        "contained": [CODE_SYSTEM],
    }
    assert validate_resource(value_set) == []
    value_set["compose"]["include"][0]["_system"]["extension"][0]["valueCanonical"] = "#cs1"
    assert {f.path for f in validate_resource(value_set)} == {
        "ValueSet.compose.include[0]._system.extension[0].valueCanonical",
        "ValueSet.contained[0]",
    }
