"""No input, however malformed, makes the R4 validator raise: it always returns findings."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fivesafes.ingest.fhir import validate_json, validate_resource
from fivesafes.ingest.rules import RULES
from shared_files import SHARED, require

FHIR_KEYS = st.sampled_from(
    [
        "resourceType",
        "id",
        "extension",
        "url",
        "valueString",
        "_birthDate",
        "contained",
        "entry",
        "resource",
        "reference",
        "text",
        "div",
        "coding",
        "system",
        "code",
        "period",
        "start",
        "end",
        "meta",
        "fullUrl",
        "link",
        "relation",
        "data",
        "size",
        "given",
        "_given",
    ]
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    SCALARS | st.sampled_from(["Patient", "Bundle", "2020-01-01", "#x", "<div/>", "urn:uuid:1"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(FHIR_KEYS | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
# Valid resources to mutate: these, plus every HL7 R4 example we accept (when present).
SEEDS: list[dict[str, Any]] = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">Jo</div>',
        },
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
        "name": [{"family": "Smith", "given": ["Jo"], "_given": [{"id": "g"}]}],
        "birthDate": "1980-01-01",
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                "valueAddress": {"city": "Leeds"},
            }
        ],
        "managingOrganization": {"reference": "#o1"},
        "contained": [{"resourceType": "Organization", "id": "o1", "name": "Practice"}],
    },
    {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:d"},
        "timestamp": "2024-01-01T00:00:00Z",
        "link": [{"relation": "self", "url": "https://x.nhs.uk/b"}],
        "entry": [
            {
                "fullUrl": "urn:uuid:c",
                "resource": {
                    "resourceType": "Composition",
                    "status": "final",
                    "type": {"text": "t"},
                    "date": "2024-01-01",
                    "title": "t",
                    "author": [{"reference": "urn:uuid:p"}],
                },
            },
            {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Practitioner"}},
        ],
    },
    {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "a", "valueString": "x"},
            {"name": "b", "resource": {"resourceType": "Patient", "id": "1"}},
        ],
    },
]


EXAMPLES = SHARED / "fhir-examples/r4-examples"
OWN_SEEDS = len(SEEDS)
if EXAMPLES.is_dir():
    for example in sorted(EXAMPLES.glob("*.json")):
        parsed = orjson.loads(example.read_bytes())
        if isinstance(parsed, dict) and not validate_resource(parsed):
            SEEDS.append(parsed)


def test_hl7s_valid_examples_seed_the_mutations() -> None:
    require(EXAMPLES)
    assert len(SEEDS) > OWN_SEEDS  # the examples that pass our checks joined the seeds


def slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) inside a JSON value."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((value, key))
            found.extend(slots(inner))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.append((value, index))
            found.extend(slots(inner))
    return found


def assert_findings(findings: object) -> None:
    assert isinstance(findings, list)
    for finding in findings:
        assert finding.rule in RULES
        assert isinstance(finding.path, str) and isinstance(finding.message, str)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES)
def test_random_json_values_never_raise(value: Any) -> None:
    assert_findings(validate_resource(value))
    if isinstance(value, dict):
        assert_findings(validate_resource({"resourceType": "Patient"} | value))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_valid_resources_never_raise(seed: dict[str, Any], data: st.DataObject) -> None:
    assert validate_resource(seed) == []
    resource = copy.deepcopy(seed)
    for _ in range(data.draw(st.integers(1, 3))):
        places = slots(resource)
        if not places:
            break
        container, key = data.draw(st.sampled_from(places))
        action = data.draw(st.sampled_from(["replace", "delete", "rename"]))
        if action == "replace":
            container[key] = data.draw(JSON_VALUES)
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[data.draw(FHIR_KEYS)] = container.pop(key)
    assert_findings(validate_resource(resource))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.integers() | st.none() | st.booleans(), JSON_VALUES, min_size=1, max_size=3)
)
def test_python_objects_that_json_cannot_produce_never_raise(odd: dict[Any, Any]) -> None:
    """Non-string keys cannot come from JSON, but the API takes any object."""
    assert_findings(validate_resource({"resourceType": "Observation"} | odd))
    extension = {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"} | odd
    assert_findings(validate_resource({"resourceType": "Patient", "extension": [extension]}))
    parameter = {"name": "p"} | odd
    assert_findings(validate_resource({"resourceType": "Parameters", "parameter": [parameter]}))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_never_raise(raw: bytes) -> None:
    assert_findings(validate_json(raw))
    assert_findings(validate_json(orjson.dumps({"resourceType": "Observation", "x": raw.hex()})))
    assert_findings(validate_json("\ud800" + raw.decode("latin-1")))
