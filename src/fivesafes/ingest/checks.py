"""The environment's own rules for a record, on top of base FHIR R4.

Base R4 says a date is well formed; these rules say it is *plausible* (not in
the future, not before 1900), that the NHS number's check digit holds, that a
code belongs to a code system the common data model knows and is well formed
in it, and that references have the form the loader can resolve. They are the
"validated at the point of entry" half that is specific to health data in
England (see docs/fhir-profile.md).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import TypeVar

from fivesafes.ingest.fhirpath import split_reference
from fivesafes.ingest.rules import Finding, rule
from fivesafes.model.codes import CodeSystem, code_problem, nhs_number_problem
from fivesafes.model.tables import EARLIEST_DATE

NHS_NUMBER_MISSING = rule(
    "nhs-number.missing",
    "A Patient carries exactly one NHS number",
    "The NHS number is how records about one person are linked and how opt-outs are honoured; "
    "a Patient without one cannot be linked or protected.",
    "Patient.identifier: no identifier with system https://fhir.nhs.uk/Id/nhs-number",
)
NHS_NUMBER_INVALID = rule(
    "nhs-number.invalid",
    "The NHS number is 10 digits with a valid Modulus-11 check digit",
    "A failed check digit means the number was mistyped or corrupted: loading it would link "
    "this record to the wrong person, or to nobody.",
    "Patient.identifier[0].value: NHS number '9434765918' fails the Modulus-11 check digit: "
    "it was mistyped or corrupted",
)
CODE_SYSTEM_UNKNOWN = rule(
    "code.unknown-system",
    "Coded elements use a code system the data model knows for that element",
    "Analyses select records by code lists in one system; a code in another system would be "
    "silently missed by every study.",
    "Condition.code.coding[0].system: 'http://example.org/codes' is not a code system this "
    "element accepts (expected http://snomed.info/sct)",
)
CODE_MALFORMED = rule(
    "code.malformed",
    "Codes are well formed in their system (SNOMED CT and dm+d carry a Verhoeff check digit)",
    "A malformed code cannot match any code list, so the event would vanish from analyses.",
    "Condition.code.coding[0].code: '44054007' is not a well-formed SNOMED CT code (6 to 18 "
    "digits, a concept partition and a valid Verhoeff check digit)",
)
CODE_MISSING = rule(
    "code.missing",
    "Elements the data model needs are present",
    "Without the element the record cannot become a row of the common data model.",
    "Condition.code: missing; the data model needs a coded value here",
)
DATE_FUTURE = rule(
    "date.future",
    "Dates are not in the future",
    "A future date on a past event is a data-entry or clock error and would distort every "
    "time series built on it.",
    "Observation.effectiveDateTime: 2099-05-01 is in the future",
)
DATE_IMPLAUSIBLE = rule(
    "date.implausible",
    "Dates are on or after 1900-01-01",
    "Dates before 1900 are placeholders (1900-01-01, 1800-01-01) or typing errors.",
    "Patient.birthDate: 1850-01-01 is before 1900-01-01",
)
REFERENCE_FORM = rule(
    "reference.form",
    "References are relative literal references of the expected type (Type/id)",
    "The loader links records through their references; other forms cannot be resolved inside "
    "the environment.",
    "Condition.subject: 'urn:uuid:1234' is not a reference of the form Patient/<id>",
)


@lru_cache(maxsize=1 << 16)
def parse_fhir_date(value: str) -> date | None:
    """The calendar date of a FHIR date or dateTime (partial dates take their first day).

    Cached: a load holds a few thousand distinct days, each written many times.
    """
    try:
        n = len(value)
        if n >= 10:
            return date.fromisoformat(value[:10])
        if n == 7:
            return date(int(value[:4]), int(value[5:7]), 1)
        if n == 4:
            return date(int(value), 1, 1)
    except ValueError:
        return None
    return None


_BY_URI: dict[str, CodeSystem] = {s.value: s for s in CodeSystem}
T = TypeVar("T")


class RecordChecker:
    """Collects findings for one record while its elements are read."""

    __slots__ = ("findings", "resource_type", "today")

    def __init__(self, resource_type: str, today: date) -> None:
        self.resource_type = resource_type
        self.today = today
        self.findings: list[Finding] = []

    def fail(self, rule_id: str, path: str, message: str) -> None:
        self.findings.append(Finding(rule_id, f"{self.resource_type}.{path}", message))

    def need(self, path: str, value: T | None, what: str) -> T | None:
        """``value``, or a finding when it is absent but the data model requires it.

        Why: a required column left empty would fail the analysis layer's NOT NULL constraint
        and take the whole load down with it; a finding quarantines the one record instead.
        """
        if value is None:
            self.fail(CODE_MISSING.id, path, f"missing; the data model needs {what} here")
        return value

    def date(self, path: str, value: str | None, required: bool = True) -> date | None:
        """A plausible date from ``value``; records a finding and returns None otherwise."""
        if value is None:
            if required:
                self.fail(CODE_MISSING.id, path, "missing; the data model needs a date here")
            return None
        parsed = parse_fhir_date(value)
        if parsed is None:
            self.fail(CODE_MISSING.id, path, f"{value!r} is not a date the data model can use")
            return None
        if parsed > self.today:
            self.fail(DATE_FUTURE.id, path, f"{parsed.isoformat()} is in the future")
            return None
        if parsed < EARLIEST_DATE:
            self.fail(
                DATE_IMPLAUSIBLE.id,
                path,
                f"{parsed.isoformat()} is before {EARLIEST_DATE.isoformat()}",
            )
            return None
        return parsed

    def code(
        self,
        path: str,
        system: str | None,
        code: str | None,
        allowed: tuple[CodeSystem, ...],
        required: bool = True,
    ) -> str | None:
        """``code`` when its system is one of ``allowed`` and it is well formed there."""
        if code is None:
            if required:
                self.fail(CODE_MISSING.id, path, "missing; the data model needs a code here")
            return None
        matched = _BY_URI.get(system) if system is not None else None
        if matched not in allowed:
            matched = None
        if matched is None:
            expected = " or ".join(s.value for s in allowed)
            self.fail(
                CODE_SYSTEM_UNKNOWN.id,
                f"{path}.system",
                f"{system!r} is not a code system this element accepts (expected {expected})",
            )
            return None
        problem = code_problem(matched, code)
        if problem is not None:
            self.fail(CODE_MALFORMED.id, f"{path}.code", problem)
            return None
        return code

    def reference(
        self, path: str, ref: str | None, expected_type: str, required: bool = True
    ) -> str | None:
        """The id a ``Type/id`` reference points at, checking its type."""
        if ref is None:
            if required:
                self.fail(
                    CODE_MISSING.id, path, f"missing; a reference to a {expected_type} is needed"
                )
            return None
        parts = split_reference(ref)
        if parts is None or parts[0] != expected_type:
            self.fail(
                REFERENCE_FORM.id,
                path,
                f"{ref!r} is not a reference of the form {expected_type}/<id>",
            )
            return None
        return parts[1]

    def nhs_number(self, path: str, value: str | None) -> str | None:
        if value is None:
            self.fail(
                NHS_NUMBER_MISSING.id,
                path,
                "no identifier with system https://fhir.nhs.uk/Id/nhs-number",
            )
            return None
        problem = nhs_number_problem(value)
        if problem is not None:
            self.fail(NHS_NUMBER_INVALID.id, path, problem)
            return None
        return value


DATE_ORDER = rule(
    "date.order",
    "Periods end on or after they start",
    "A discharge before an admission is a data-entry error; lengths of stay built on it would be "
    "negative.",
    "Encounter.period.end: the encounter ends before it starts",
)
DATE_BEFORE_BIRTH = rule(
    "date.before-birth",
    "Nothing about a person is dated before their birth",
    "An event before birth means the event or the date of birth is wrong, or the record belongs "
    "to someone else.",
    "Condition.onsetDateTime: 1970-02-01 is before the patient's date of birth (1980-05-01)",
)
DATE_AFTER_DEATH = rule(
    "date.after-death",
    "Nothing about a person is dated after their death",
    "An event after death means the event, the date of death, or the patient link is wrong.",
    "MedicationRequest.authoredOn: 2024-03-01 is after the patient's date of death (2023-11-02)",
)
REFERENCE_UNRESOLVED = rule(
    "reference.unresolved",
    "References resolve to a resource in the same load or already in the store",
    "A record pointing at a patient or organisation nobody has sent cannot be placed in the data "
    "model; loading it would create an orphan.",
    "Condition.subject: Patient/123 is not in this load or in the store",
)
DUPLICATE_NHS_NUMBER = rule(
    "patient.duplicate-nhs-number",
    "One NHS number belongs to one Patient resource",
    "Two Patient resources with the same NHS number are two records for one person: loading both "
    "would double-count them. The supplier must merge them.",
    "Patient.identifier: NHS number already belongs to Patient/abc (a duplicate person record)",
)
DUPLICATE_ID = rule(
    "resource.duplicate-id",
    "A load holds one version of each resource",
    "Two different versions of one resource in the same load leave no way to tell which is "
    "authoritative; the first is kept and the later one quarantined.",
    "Patient: Patient/abc appears more than once in this load with different content",
)
TYPE_NOT_LOADED = rule(
    "resource.type-not-loaded",
    "Only resource types of the common data model are loaded",
    "The environment keeps one consistent copy in one data model; resources it cannot place are "
    "refused rather than stored where no one will find them.",
    "AuditEvent: fivesafes does not load AuditEvent resources (see docs/fhir-profile.md)",
)
