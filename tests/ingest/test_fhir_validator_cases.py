"""Agreement with HL7's reference (Java) validator, case by case, on the R4 cases of its own test
suite, in both of our verdicts.

The cases and the reference's verdicts are in ``../shared/fhir-examples/validator-cases``
(FHIR/fhir-test-cases, Apache-2.0; ``manifest.json`` gives the reference's error count and
messages). A case agrees when we reject it exactly when the reference finds errors in it.

Each case is judged with the settings the reference ran it with (as recorded in fhir-test-cases'
``validator/manifest.json``). Most ran with the test suite's defaults, example URLs allowed and
HTML in markdown only a warning: that is ``validate --fhir-only``, base R4 alone. Two ran with a
stricter setting that the environment also uses (example URLs refused, ``noHtmlInMarkdown``):
those are compared with the environment's structural validation, which applies both.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from fivesafes.cli import app
from fivesafes.ingest.conformance import breaks_fhir_r4
from fivesafes.ingest.fhir import FhirValidator
from fivesafes.ingest.rules import Finding
from shared_files import SHARED, require

CASES = SHARED / "fhir-examples/validator-cases"
MANIFEST = CASES / "manifest.json"

# Cases the reference ran with a setting the environment shares, and that setting.
ENVIRONMENT_SETTINGS = {
    "dr-example-org.json": "examples: false (example URLs refused)",
    "bad-markdown-no-html.json": "noHtmlInMarkdown: true (the same file as bad-markdown.json)",
}
# Cases whose reference verdict depends on a validator setting we do not offer.
EXCLUDED = {
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


@pytest.fixture(autouse=True)
def _cases() -> None:
    require(MANIFEST)


def manifest() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(MANIFEST.read_text(encoding="utf-8"))["cases"]
    return cases


NAMES = (
    [c["file"] for c in json.loads(MANIFEST.read_text(encoding="utf-8"))["cases"]]
    if MANIFEST.exists()
    else ["(validator cases missing)"]
)


def structural(name: str) -> list[Finding]:
    """Our structural findings for one case, with the case's registered extensions known."""
    validator = FhirValidator()
    for url, value_types in REGISTERED.get(name, []):
        validator.register_extension(url, value_types)
    return validator.validate_json((CASES / name).read_bytes())


def we_reject(name: str) -> tuple[bool, list[Finding]]:
    """Our verdict on a case in the mode matching the reference's settings for it."""
    findings = structural(name)
    if name not in ENVIRONMENT_SETTINGS:
        findings = [f for f in findings if breaks_fhir_r4(f.rule)]
    return bool(findings), findings


@pytest.mark.parametrize("name", NAMES)
def test_agrees_with_the_reference_validator(name: str) -> None:
    [case] = [c for c in manifest() if c["file"] == name]
    ours, findings = we_reject(name)
    theirs = case["hapi_error_count"] > 0
    if name in EXCLUDED:  # the known disagreement, for the reason given
        assert ours and not theirs, EXCLUDED[name]
        return
    assert ours == theirs, (case["hapi_errors"], [f.message for f in findings])


def test_excluded_and_set_cases_exist_and_are_few() -> None:
    names = {case["file"] for case in manifest()}
    assert set(EXCLUDED) | set(ENVIRONMENT_SETTINGS) | set(REGISTERED) <= names
    assert len(EXCLUDED) <= 1


def test_the_settings_make_the_difference() -> None:
    """The cases run with the environment's settings are valid R4 without them, as the
    reference's default run of the same markdown file says (bad-markdown.json: no errors)."""
    for name in ENVIRONMENT_SETTINGS:
        assert structural(name)
        assert not [f for f in structural(name) if breaks_fhir_r4(f.rule)]
    [default] = [c for c in manifest() if c["file"] == "bad-markdown.json"]
    assert default["hapi_error_count"] == 0


def test_validate_fhir_only_gives_the_reference_verdict_per_file() -> None:
    """The command a data provider runs: one verdict a file, the reference's, for every case
    run with the defaults."""
    cases = {
        c["file"]: c["hapi_error_count"] > 0
        for c in manifest()
        if c["file"] not in {*EXCLUDED, *ENVIRONMENT_SETTINGS, *REGISTERED}
    }
    result = CliRunner().invoke(
        app, ["validate", "--fhir-only", "--format", "json", *(str(CASES / n) for n in cases)]
    )
    document = orjson.loads(result.stdout)
    assert document["mode"] == "fhir-only"
    ours = {Path(f["file"]).name: f["valid_fhir_r4"] < f["records"] for f in document["files"]}
    assert ours == cases
    assert result.exit_code == 1  # some cases are valid, some are not


def reference_path(java_path: str) -> str:
    """The reference's FHIRPath in our notation: no ``/*Type/id*/`` notes, ``valueInteger``."""
    path = re.sub(r"/\*[^*]*\*/", "", java_path)
    return re.sub(r"\.ofType\((\w)(\w*)\)", lambda m: m[1].upper() + m[2], path)


def test_rejections_point_where_the_reference_validator_points() -> None:
    """Every location the reference reports an error at (other than display names, which
    need terminology) is one of ours or an ancestor of one (we may name the exact property).

    The manifest lists at most five errors per case; those are the locations compared.
    """
    missed = []
    for case in manifest():
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
