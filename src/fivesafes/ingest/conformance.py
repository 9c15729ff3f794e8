"""Two verdicts on every record: is it valid FHIR R4 at all, and will this environment load it.

Why both: a data provider fixing an extract needs to know which problems are FHIR's and which
are this environment's. The environment refuses valid FHIR for reasons of its own (resource
types outside the common data model, a Patient without an NHS number, a code in a system the
model does not use, an example URL); a record can also be refused for not being FHIR at all.

"Valid FHIR R4" is the verdict of HL7's reference validator on the record with no profile: the
rules of :mod:`fivesafes.ingest.fhir`, with the validator's settings as its own test suite runs
it (example URLs allowed, HTML in markdown only a warning), and with the extensions of
docs/fhir-profile.md known, as the reference knows an extension when given its definition.
Two rules of the structural validator are therefore not R4 but settings the environment turns
on (``fhir.example-url``, ``fhir.markdown``); JSON that does not parse and text that is not
UTF-8 are not FHIR JSON, so they break R4 too. Every other rule is the environment's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from fivesafes.ingest.fhir import ruleset
from fivesafes.ingest.pipeline import identity, structural_records
from fivesafes.ingest.readers import JSON_MALFORMED, TEXT_ENCODING
from fivesafes.ingest.rules import Finding, Rule

SETTINGS_NOT_R4 = frozenset({ruleset.EXAMPLE_URL.id, ruleset.MARKDOWN.id})
"""Structural rules that are settings of HL7's validator, which R4 itself does not require."""

FHIR_R4_RULES = frozenset(
    {r.id for r in vars(ruleset).values() if isinstance(r, Rule)} - SETTINGS_NOT_R4
) | {JSON_MALFORMED.id, TEXT_ENCODING.id}
"""Rules whose findings mean a record is not valid FHIR R4."""


def breaks_fhir_r4(rule_id: str) -> bool:
    """Whether a finding under this rule means the record is not valid FHIR R4."""
    return rule_id in FHIR_R4_RULES


def fhir_r4_valid(rules: Iterable[str]) -> bool:
    """The FHIR verdict of a record with findings under these rules."""
    return not any(breaks_fhir_r4(r) for r in rules)


@dataclass(frozen=True, slots=True)
class FhirVerdict:
    """One FHIR record judged as base R4 only: where it is, what it is, and what breaks R4."""

    file: str
    line: int
    entry: int | None
    resource_type: str | None
    resource_id: str | None
    findings: tuple[Finding, ...]

    @property
    def valid(self) -> bool:
        return not self.findings


def fhir_r4_verdicts(path: Path) -> Iterator[FhirVerdict]:
    """Every record of one FHIR file with the findings that make it invalid R4, if any.

    No environment rule is applied. A file with no records yields nothing (an empty NDJSON file
    is valid NDJSON of no resources); a Bundle's own findings come as a record for the Bundle.
    """
    for raw, structural in structural_records(path):
        if raw.error is not None:
            if breaks_fhir_r4(raw.rule):
                finding = Finding(raw.rule, raw.position, raw.error)
                yield FhirVerdict(raw.file, raw.line, raw.entry, None, None, (finding,))
            continue
        r4 = tuple(f for f in structural if breaks_fhir_r4(f.rule))
        if raw.whole_file and not r4:
            continue
        yield FhirVerdict(raw.file, raw.line, raw.entry, *identity(raw.resource), r4)
