"""Agreement with HL7's reference (Java) validator on the R4 cases of its own test suite.

The cases and the reference's verdicts are in ``../shared/fhir-examples/validator-cases``
(FHIR/fhir-test-cases, Apache-2.0; ``manifest.json`` gives the reference's error count and
messages). A case agrees when we reject exactly the cases the reference finds errors in.
"""

from __future__ import annotations

import json
import re

import pytest

from fivesafes.ingest.fhir import FhirValidator
from shared_files import SHARED, require

CASES = SHARED / "fhir-examples/validator-cases"
MANIFEST = CASES / "manifest.json"

# Cases whose reference verdict depends on a validator setting or content we do not share
# (settings as recorded in fhir-test-cases' validator/manifest.json).
EXCLUDED = {
    "bad-markdown.json": (
        "same file as bad-markdown-no-html.json, run with the reference's default under which "
        "HTML in markdown is only a warning; we adopt its noHtmlInMarkdown setting"
    ),
    "contained-resource-bad-id-ignore.json": (
        "same file as contained-resource-bad-id.json, run with validateContains=IGNORE; we "
        "always validate contained resources (the reference's CHECK_VALID)"
    ),
}
# Extensions the reference loaded from the case's supporting definitions; we register them
# just as the loader registers UK Core extensions.
REGISTERED = {
    "extension-version-restriction-range-r4.json": [
        ("http://hl7.org/fhir/test/StructureDefinition/version-range", ["code"])
    ],
}
# No case's verdict rests only on a terminology server: where the reference reports wrong
# display names (bundle-duplicate-ids-not, bundle-id-4, target-ref-profile-empty) it also
# reports structural errors we check (relative fullUrls, search entries, unknown extensions).
LOWEST_AGREEMENT = 1.0


def verdicts() -> list[tuple[str, bool, bool]]:
    """(file, reference rejects, we reject) for every case not excluded."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    results = []
    for case in manifest["cases"]:
        name = case["file"]
        if name in EXCLUDED:
            continue
        validator = FhirValidator()
        for url, value_types in REGISTERED.get(name, []):
            validator.register_extension(url, value_types)
        findings = validator.validate_json((CASES / name).read_bytes())
        results.append((name, case["hapi_error_count"] > 0, bool(findings)))
    return results


@pytest.fixture(autouse=True)
def _cases() -> None:
    require(MANIFEST)


def test_agreement_with_the_reference_validator() -> None:
    results = verdicts()
    agreed = [name for name, theirs, ours in results if theirs == ours]
    rate = len(agreed) / len(results)
    disagreed = [name for name, theirs, ours in results if theirs != ours]
    print(f"agreement {len(agreed)}/{len(results)} = {rate:.0%}; disagree: {disagreed}")
    assert rate >= LOWEST_AGREEMENT, disagreed


def test_excluded_cases_exist_and_are_few() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    names = {case["file"] for case in manifest["cases"]}
    assert set(EXCLUDED) <= names
    assert set(REGISTERED) <= names
    assert len(EXCLUDED) <= 2


def reference_path(java_path: str) -> str:
    """The reference's FHIRPath in our notation: no ``/*Type/id*/`` notes, ``valueInteger``."""
    path = re.sub(r"/\*[^*]*\*/", "", java_path)
    return re.sub(r"\.ofType\((\w)(\w*)\)", lambda m: m[1].upper() + m[2], path)


def test_rejections_point_where_the_reference_validator_points() -> None:
    """Every location the reference reports an error at (other than display names, which
    need terminology) is one of ours or an ancestor of one (we may name the exact property).

    The manifest lists at most five errors per case; those are the locations compared.
    """
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    missed = []
    for case in manifest["cases"]:
        theirs = {
            reference_path(error["path"])
            for error in case["hapi_errors"]
            if "Display Name" not in error["message"]
        }
        if not theirs or case["file"] in EXCLUDED:
            continue
        findings = FhirValidator().validate_json((CASES / case["file"]).read_bytes())
        # FHIRPath names a primitive's extension part (JSON "_valueInteger") as the primitive.
        ours = {f.path.replace("._", ".") for f in findings}
        for place in theirs:
            if not any(o == place or o.startswith(place + ".") or not place for o in ours):
                missed.append((case["file"], place))
    assert missed == []


@pytest.mark.parametrize(
    ("name", "rules"),
    [
        ("ai3.json", {"fhir.unknown-element"}),
        ("ai4.json", {"fhir.format"}),
        ("comments-4.json", {"fhir.unknown-element"}),
        ("empty-array.json", {"fhir.empty"}),
        ("encounter-period.json", {"fhir.invariant"}),
        ("risk-assessment-probability-range.json", {"fhir.invariant"}),
        ("attachment-with-wrong-size.json", {"fhir.invariant"}),
        ("dr-example-org.json", {"fhir.example-url"}),
        ("pat-security-bad-xhtml.json", {"fhir.xhtml"}),
        ("xml-bad-entities-json.json", {"fhir.xhtml"}),
        ("bad-markdown-no-html.json", {"fhir.markdown"}),
        ("resource-invalid-id-1.json", {"fhir.id"}),
        ("resource-invalid-id-2.json", {"fhir.id"}),
        ("resource-invalid-id-3.json", {"fhir.id"}),
        ("patient-id-bad-2___R4.json", {"fhir.id"}),
        ("contained-resource-bad-id.json", {"fhir.id", "fhir.contained"}),
        ("hakan-se-2.json", {"fhir.cardinality", "fhir.format"}),
        ("Observation-ex-pain.json", {"fhir.cardinality", "fhir.unknown-element"}),
        ("target-ref-profile-empty.json", {"fhir.extension"}),
        ("bundle-id-2.json", {"fhir.bundle"}),
        ("bundle-id-4.json", {"fhir.bundle"}),
        ("bundle-duplicate-ids-not.json", {"fhir.bundle"}),
        ("mr-covid-bnd1.json", {"fhir.coding-system"}),
        ("ips-htmlrefs-backwards.json", {"fhir.extension"}),
        ("parameters-reference-bad.json", {"fhir.reference"}),
        ("bad-json-close-2.json", {"fhir.json"}),
        ("bad-json-close-3.json", {"fhir.json"}),
    ],
)
def test_rejections_are_for_the_reference_validators_reasons(name: str, rules: set[str]) -> None:
    findings = FhirValidator().validate_json((CASES / name).read_bytes())
    assert {f.rule for f in findings} == rules
