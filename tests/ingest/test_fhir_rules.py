"""One behaviour per rule of the FHIR R4 structural validator: what passes, what is caught."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fivesafes.ingest.fhir import (
    FhirValidator,
    known_resource_types,
    validate_json,
    validate_resource,
)
from fivesafes.ingest.rules import RULES

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
    "name": [{"family": "Smith", "given": ["Jo", "A"]}],
    "gender": "female",
    "birthDate": "1980-01-31",
}
OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "27113001"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2024-05-01T09:30:00+01:00",
    "valueQuantity": {
        "value": 72.5,
        "unit": "kg",
        "system": "http://unitsofmeasure.org",
        "code": "kg",
    },
}


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a resource with top-level properties replaced (None removes one)."""
    resource = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def found(resource: object) -> set[tuple[str, str]]:
    return {(f.rule, f.path) for f in validate_resource(resource)}


def test_valid_resources_have_no_findings() -> None:
    assert validate_resource(PATIENT) == []
    assert validate_resource(OBSERVATION) == []


def test_every_finding_names_a_declared_rule_and_starts_with_its_path() -> None:
    bad = with_(PATIENT, birthDate="1980-13-01", gender="M", extra=1)
    findings = validate_resource(bad)
    assert len(findings) == 3
    for finding in findings:
        assert finding.rule in RULES
        assert finding.message.startswith(finding.path + ": ")


def test_resource_type_missing_or_unknown() -> None:
    assert found({"id": "x"}) == {("fhir.resource-type", "")}
    assert found({"resourceType": "Patinet"}) == {("fhir.resource-type", "resourceType")}
    assert found({"resourceType": "DomainResource"}) == {("fhir.resource-type", "resourceType")}
    assert {"Patient", "Observation", "Bundle", "Parameters"} <= known_resource_types()
    assert "SubscriptionStatus" not in known_resource_types()  # R4B, not R4


def test_unknown_properties_including_fhir_comments() -> None:
    assert found(with_(PATIENT, birthdate="1980-01-01")) == {
        ("fhir.unknown-element", "Patient.birthdate")
    }
    assert found(with_(PATIENT, fhir_comments=["x"])) == {
        ("fhir.unknown-element", "Patient.fhir_comments")
    }
    nested = with_(PATIENT, name=[{"family": "Smith", "surname": "X"}])
    assert found(nested) == {("fhir.unknown-element", "Patient.name[0].surname")}


def test_null_empty_array_empty_object_empty_string() -> None:
    assert found(with_(PATIENT, active=None) | {"active": None}) == {
        ("fhir.empty", "Patient.active")
    }
    assert found(with_(PATIENT, name=[])) == {("fhir.empty", "Patient.name")}
    assert found(with_(PATIENT, name=[{}])) == {("fhir.empty", "Patient.name[0]")}
    assert found(with_(PATIENT, gender="")) == {("fhir.empty", "Patient.gender")}
    assert found(with_(PATIENT, name=[{"given": []}])) == {("fhir.empty", "Patient.name[0].given")}


def test_array_versus_single_value() -> None:
    assert found(with_(PATIENT, name={"family": "Smith"})) == {("fhir.array", "Patient.name")}
    assert found(with_(PATIENT, birthDate=["1980-01-01"])) == {("fhir.array", "Patient.birthDate")}
    assert found(with_(PATIENT, managingOrganization=[{"reference": "Organization/o"}])) == {
        ("fhir.array", "Patient.managingOrganization")
    }


def test_required_elements_and_choice_groups() -> None:
    assert found(with_(OBSERVATION, code=None)) == {("fhir.cardinality", "Observation.code")}
    two_values = with_(OBSERVATION, valueString="heavy")
    assert ("fhir.cardinality", "Observation.valueString") in found(two_values)
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
    }
    assert found(request) == {("fhir.cardinality", "MedicationRequest.medication[x]")}
    assert found(request | {"medicationReference": {"reference": "Medication/m"}}) == set()


def test_primitive_extension_satisfies_a_required_primitive() -> None:
    absent = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                "valueCode": "masked",
            }
        ]
    }
    identifier = {"system": "https://fhir.nhs.uk/Id/nhs-number", "_value": absent}
    assert found(with_(PATIENT, identifier=[identifier])) == set()
    assert found(with_(OBSERVATION, status=None, _status=absent)) == set()


def test_primitive_extension_shape() -> None:
    assert found(with_(PATIENT, _birthDate={"value": 0})) == {
        ("fhir.unknown-element", "Patient._birthDate.value")
    }
    assert found(with_(PATIENT, _birthDate="x")) == {("fhir.type", "Patient._birthDate")}
    name = {
        "given": ["Jo", None],
        "_given": [
            None,
            {
                "id": "g2",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier",
                        "valueCode": "IN",
                    }
                ],
            },
        ],
    }
    assert found(with_(PATIENT, name=[name])) == set()
    assert found(with_(PATIENT, name=[{"given": ["Jo", None]}])) == {
        ("fhir.empty", "Patient.name[0].given[1]")
    }
    misaligned = {"given": ["Jo"], "_given": [None, {"id": "x"}]}
    assert ("fhir.array", "Patient.name[0]._given") in found(with_(PATIENT, name=[misaligned]))
    assert found(with_(PATIENT, _nonsense={"id": "x"})) == {
        ("fhir.unknown-element", "Patient._nonsense")
    }


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("1980", None),
        ("1980-02", None),
        ("1980-02-29", None),
        ("1981-02-29", "fhir.format"),
        ("1980-13-01", "fhir.format"),
        ("80-01-01", "fhir.format"),
        ("1980-01-01T00:00:00Z", "fhir.format"),
        (19800101, "fhir.type"),
    ],
)
def test_date_format(value: object, rule: str | None) -> None:
    expected = {(rule, "Patient.birthDate")} if rule else set()
    assert found(with_(PATIENT, birthDate=value)) == expected


def test_datetime_with_time_needs_timezone() -> None:
    findings = validate_resource(with_(OBSERVATION, effectiveDateTime="2020-11-11T10:58:14.768"))
    assert [(f.rule, f.path) for f in findings] == [
        ("fhir.format", "Observation.effectiveDateTime")
    ]
    assert "timezone" in findings[0].message
    for good in (
        "2020",
        "2020-11",
        "2020-11-11",
        "2020-11-11T10:58:14Z",
        "2020-11-11T10:58:14.5-05:00",
    ):
        assert found(with_(OBSERVATION, effectiveDateTime=good)) == set(), good


def test_instant_time_decimal_integer_boolean_types() -> None:
    meta = {"lastUpdated": "2020-01-01"}
    assert found(with_(PATIENT, meta=meta)) == {("fhir.format", "Patient.meta.lastUpdated")}
    assert found(with_(OBSERVATION, valueQuantity={"value": "72.5"})) == {
        ("fhir.type", "Observation.valueQuantity.value")
    }
    assert found(with_(OBSERVATION, valueQuantity=None, valueInteger=1.5)) == {
        ("fhir.type", "Observation.valueInteger")
    }
    assert found(with_(OBSERVATION, valueQuantity=None, valueInteger=2**31)) == {
        ("fhir.format", "Observation.valueInteger")
    }
    assert found(with_(PATIENT, active="true")) == {("fhir.type", "Patient.active")}
    assert found(with_(PATIENT, active=1)) == {("fhir.type", "Patient.active")}
    assert found(with_(OBSERVATION, valueQuantity=None, valueTime="25:00:00")) == {
        ("fhir.format", "Observation.valueTime")
    }
    assert found(with_(OBSERVATION, valueQuantity={"value": float("nan")})) == {
        ("fhir.type", "Observation.valueQuantity.value")
    }


def test_resource_id_characters_and_length() -> None:
    assert found(with_(PATIENT, id="a" * 64)) == set()
    assert found(with_(PATIENT, id="a" * 65)) == {("fhir.id", "Patient.id")}
    assert found(with_(PATIENT, id="bad id")) == {("fhir.id", "Patient.id")}
    assert found(with_(PATIENT, id="org_1")) == {("fhir.id", "Patient.id")}


def test_uri_code_oid_uuid_formats() -> None:
    assert found(with_(PATIENT, identifier=[{"system": "has space", "value": "1"}])) == {
        ("fhir.format", "Patient.identifier[0].system")
    }
    coding = {"system": "http://snomed.info/sct", "code": " 123"}
    assert found(with_(OBSERVATION, code={"coding": [coding]})) == {
        ("fhir.format", "Observation.code.coding[0].code")
    }
    identifier = [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3"}]
    assert found(with_(PATIENT, identifier=identifier)) == set()


def test_required_binding_codes() -> None:
    findings = validate_resource(with_(PATIENT, gender="M"))
    assert [(f.rule, f.path) for f in findings] == [("fhir.code", "Patient.gender")]
    assert "administrative-gender" in findings[0].message
    assert found(with_(OBSERVATION, status="done")) == {("fhir.code", "Observation.status")}


def test_coding_system_must_be_absolute_and_not_a_value_set() -> None:
    local = {"coding": [{"system": "Location1", "code": "x"}]}
    assert found(with_(OBSERVATION, code=local)) == {
        ("fhir.coding-system", "Observation.code.coding[0].system")
    }
    value_set = {"coding": [{"system": "http://hl7.org/fhir/ValueSet/measure-type", "code": "x"}]}
    assert found(with_(OBSERVATION, code=value_set)) == {
        ("fhir.coding-system", "Observation.code.coding[0].system")
    }


def test_example_urls_rejected_in_url_elements_only() -> None:
    reference = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"url": "http://repository.example.org/fhir/x"}}],
    }
    assert found(reference) == {("fhir.example-url", "DocumentReference.content[0].attachment.url")}
    reference["content"][0]["attachment"]["url"] = "https://nhs.uk/doc/1"
    assert found(reference) == set()
    # uri elements such as Identifier.system may name example systems (as HL7's cases do)
    assert (
        found(with_(PATIENT, identifier=[{"system": "http://example.org/ids", "value": "1"}]))
        == set()
    )


DIV = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'


@pytest.mark.parametrize(
    ("div", "ok"),
    [
        (DIV.format("<p>Jo <b>Smith</b>, born 1980 &amp; <a href='#x'>more</a></p>"), True),
        (DIV.format("<table><tr><td rowspan='2'>x</td></tr></table>"), True),
        (DIV.format("<img src='#pic'/>"), True),
        (DIV.format("text<script>alert(1)</script>"), False),
        (DIV.format("<p onclick='x()'>text</p>"), False),
        (DIV.format("<a href='javascript:x()'>text</a>"), False),
        (DIV.format("CPT&reg;"), False),
        (DIV.format("<p>unclosed"), False),
        ("<p xmlns='http://www.w3.org/1999/xhtml'>not a div</p>", False),
        ("<div>no namespace</div>", False),
        (DIV.format("  "), False),
        (DIV.format("<form>x</form>"), False),
        ('<!DOCTYPE div><div xmlns="http://www.w3.org/1999/xhtml">x</div>', False),
    ],
)
def test_narrative_xhtml(div: str, ok: bool) -> None:
    resource = with_(PATIENT, text={"status": "generated", "div": div})
    assert found(resource) == (set() if ok else {("fhir.xhtml", "Patient.text.div")})


def test_markdown_with_embedded_html() -> None:
    communication = {"resourceType": "Communication", "status": "completed"}
    assert found(communication | {"note": [{"text": "a < b and **bold**"}]}) == set()
    assert found(communication | {"note": [{"text": "<resource type>\\<id>"}]}) == {
        ("fhir.markdown", "Communication.note[0].text")
    }


def test_extensions_known_registered_and_typed() -> None:
    race = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
    ok = with_(PATIENT, extension=[{"url": race, "valueAddress": {"city": "Leeds"}}])
    assert found(ok) == set()
    wrong_type = with_(PATIENT, extension=[{"url": race, "valueString": "Leeds"}])
    assert found(wrong_type) == {("fhir.extension", "Patient.extension[0]")}
    url = "https://fivesafes.org/fhir/StructureDefinition/nhs-region"
    unknown = with_(PATIENT, extension=[{"url": url, "valueString": "North East"}])
    assert found(unknown) == {("fhir.extension", "Patient.extension[0]")}
    validator = FhirValidator()
    validator.register_extension(url, ["string"])
    assert validator.validate_resource(unknown) == []
    assert validate_resource(unknown) != []  # registering on one validator leaves others alone
    with pytest.raises(ValueError):
        validator.register_extension(url, ["NotAType"])


def test_extension_needs_value_xor_nested_and_a_url() -> None:
    url = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
    both = {
        "url": url,
        "valueAddress": {"city": "x"},
        "extension": [{"url": "a", "valueString": "b"}],
    }
    assert ("fhir.extension", "Patient.extension[0]") in found(with_(PATIENT, extension=[both]))
    neither = {"url": url}
    assert ("fhir.extension", "Patient.extension[0]") in found(with_(PATIENT, extension=[neither]))
    no_url = {"valueString": "x"}
    assert found(with_(PATIENT, extension=[no_url])) == {
        ("fhir.cardinality", "Patient.extension[0].url")
    }


def test_invariants() -> None:
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
    }
    for start, end, ok in [
        ("2023-06-21", "2023-06-22", True),
        ("2023-06-21T09:00:00Z", "2023-06-21T10:00:00+01:00", True),
        ("2023-06-21T10:00:00Z", "2023-06-21T10:30:00+01:00", False),
        ("2023-06-21", "2023-06-21T06:20:00Z", False),
        ("2023-06", "2023-07-02", True),
        ("2023-06-22", "2023-06-21", False),
    ]:
        expected = set() if ok else {("fhir.invariant", "Encounter.period")}
        assert found(encounter | {"period": {"start": start, "end": end}}) == expected, (start, end)
    risk = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": "Patient/1"},
    }
    assert found(risk | {"prediction": [{"probabilityDecimal": 101.0}]}) == {
        ("fhir.invariant", "RiskAssessment.prediction[0]")
    }
    assert found(risk | {"prediction": [{"probabilityDecimal": 100}]}) == set()
    media = {"resourceType": "Media", "status": "completed"}
    data = {"contentType": "text/plain", "data": "aGVscCBpJ20gYSBidWc="}  # 14 bytes
    assert found(media | {"content": data | {"size": 14}}) == set()
    assert found(media | {"content": data | {"size": 100}}) == {("fhir.invariant", "Media.content")}
    assert found(media | {"content": {"data": "Zm9v"}}) == {("fhir.invariant", "Media.content")}
    assert found(media | {"content": {"contentType": "text/plain", "data": "Zm9v!"}}) == {
        ("fhir.format", "Media.content.data")
    }
    quantity = {"value": 1, "code": "kg"}
    assert found(with_(OBSERVATION, valueQuantity=quantity)) == {
        ("fhir.invariant", "Observation.valueQuantity")
    }


def test_contained_resources() -> None:
    condition = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "asserter": {"reference": "#pr1"},
        "contained": [{"resourceType": "Practitioner", "id": "pr1"}],
    }
    assert found(condition) == set()
    assert found(condition | {"asserter": {"reference": "#nobody"}}) == {
        ("fhir.contained", "Condition.asserter.reference"),
        ("fhir.contained", "Condition.contained[0]"),
    }
    nested = copy.deepcopy(condition)
    nested["contained"][0]["contained"] = [{"resourceType": "Organization", "id": "o"}]
    assert ("fhir.contained", "Condition.contained[0]") in found(nested)
    bad_id = copy.deepcopy(condition)
    bad_id["contained"][0]["id"] = "pr_1"
    bad_id["asserter"]["reference"] = "#pr_1"
    assert found(bad_id) == {("fhir.id", "Condition.contained[0].id")}


def test_bundle_rules() -> None:
    patient = with_(PATIENT, id="p1")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "https://nhs.example.net/fhir/Patient/p1", "resource": patient}],
    }
    assert found(bundle) == set()
    bundle["entry"][0]["fullUrl"] = "https://fhir.nhs.uk/fhir/Patient/p2"
    assert found(bundle) == {("fhir.bundle", "Bundle.entry[0].fullUrl")}
    bundle["entry"][0]["fullUrl"] = "Patient/p1"
    assert found(bundle) == {("fhir.bundle", "Bundle.entry[0].fullUrl")}
    bundle["entry"][0]["fullUrl"] = "urn:uuid:0b7a5b1c-3c8e-4f8e-9a55-5d1c1e5f0a11"
    bundle["entry"][0]["resource"] = with_(PATIENT, birthDate="1980-02-30")
    assert found(bundle) == {("fhir.format", "Bundle.entry[0].resource.birthDate")}
    links = {"link": [{"relation": "self", "url": "a"}, {"relation": "self", "url": "b"}]}
    assert found(bundle | links) == {
        ("fhir.format", "Bundle.entry[0].resource.birthDate"),
        ("fhir.bundle", "Bundle.link[1]"),
    }


def test_document_references_must_resolve_inside_the_bundle() -> None:
    composition = {
        "resourceType": "Composition",
        "status": "final",
        "date": "2024-01-01",
        "type": {"text": "summary"},
        "title": "t",
        "author": [{"reference": "urn:uuid:a1"}],
        "subject": {"reference": "urn:uuid:p1"},
    }
    document = {
        "resourceType": "Bundle",
        "type": "document",
        "timestamp": "2024-01-01T00:00:00Z",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:d1"},
        "entry": [
            {"fullUrl": "urn:uuid:c1", "resource": composition},
            {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient"}},
            {"fullUrl": "urn:uuid:a1", "resource": {"resourceType": "Practitioner"}},
        ],
    }
    assert found(document) == set()
    document["entry"][2]["fullUrl"] = "urn:uuid:a2"
    assert found(document) == {("fhir.reference", "Bundle.entry[0].resource.author[0].reference")}


def test_parameters_references_resolve_among_its_resources() -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "resource": {"resourceType": "Patient", "id": "1"}},
            {
                "name": "link",
                "resource": {
                    "resourceType": "Coverage",
                    "status": "active",
                    "beneficiary": {"reference": "Patient/1"},
                    "payor": [{"display": "NHS"}],
                },
            },
        ],
    }
    assert found(parameters) == set()
    parameters["parameter"][1]["resource"]["beneficiary"]["reference"] = "Patient/2"
    assert found(parameters) == {
        ("fhir.reference", "Parameters.parameter[1].resource.beneficiary.reference")
    }
    assert found({"resourceType": "Parameters", "parameter": [{"name": "x"}]}) == {
        ("fhir.invariant", "Parameters.parameter[0]")
    }


def test_validate_json_reports_unparseable_input_as_findings() -> None:
    assert [f.rule for f in validate_json(b'{"resourceType": "Patient",')] == ["fhir.json"]
    assert [f.rule for f in validate_json("<Patient/>")] == ["fhir.json"]
    assert [f.rule for f in validate_json("[1, 2]")] == ["fhir.json"]
    assert validate_json(b"\xef\xbb\xbf" + b'{"resourceType": "Patient"}') == []


@pytest.mark.parametrize(
    "text",
    [
        b'{"resourceType":"Patient","gender":"male","gender":"female"}',
        b'{"resourceType":"Patient","name":[{"family":"A","given":["B"],"family":"C"}]}',
        # White space before a colon and an escaped quote before one must not hide a repeat.
        b'{"resourceType" : "Patient", "gender" : "male", "gender" : "female"}',
        b'{"resourceType":"Patient","gender":"male","gender"\t:"female"}',
        b'{"resourceType":"Patient","gender"\r:"male","gender":"female"}',
        b'{"resourceType":"Patient","name":[{"text":"a\\":b","text":"c"}]}',
    ],
)
def test_a_repeated_property_name_is_a_finding(text: bytes) -> None:
    """JSON parsers keep the last of two values with one name: the other would vanish."""
    [finding] = validate_json(text)
    assert finding.rule == "fhir.json"
    assert "appears twice in one object" in finding.message


@pytest.mark.parametrize(
    "text",
    [
        b'{"resourceType":"Patient","name":[{"family":"A"},{"family":"B"}]}',
        b'{"resourceType" : "Patient", "name" : [{"text" : "a\\":b"}]}',
        b'{"resourceType":"Patient","name":[{"text":"ends in a backslash\\\\"}]}',
    ],
)
def test_the_same_name_in_different_objects_is_not_a_repeat(text: bytes) -> None:
    assert validate_json(text) == []


def test_deep_nesting_is_a_finding_not_a_crash() -> None:
    deep: dict[str, Any] = {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"}
    for _ in range(5000):
        deep = {"url": "a", "extension": [deep]}
    findings = validate_resource(with_(PATIENT, extension=[deep]))
    assert findings and all(f.rule in RULES for f in findings)
