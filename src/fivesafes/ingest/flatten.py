"""From one validated FHIR resource to one flat staging row, per resource type.

Each resource type fivesafes loads has one extractor: the elements of
docs/fhir-profile.md it reads, checked with the environment's rules as they are
read, returned as a tuple in the order of its declared columns. The store keeps
these rows beside the full resource in the identifiable layer, and builds the
analysis layer from them with SQL (store/analysis.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fivesafes.ingest.checks import (
    CODE_MALFORMED,
    CODE_MISSING,
    CODE_SYSTEM_UNKNOWN,
    DATE_BEFORE_BIRTH,
    DATE_ORDER,
    RecordChecker,
)
from fivesafes.ingest.fhirpath import all_codings, coding, first, get, reference, text
from fivesafes.ingest.genomics import GENETIC_VARIANT, check_variant
from fivesafes.model.codes import NHS_NUMBER_SYSTEM, ODS_CODE_SYSTEM, CodeSystem

LOCAL = "https://fivesafes.org/fhir/CodeSystem/"
EXT_ETHNICITY = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
EXT_LSOA = "https://fivesafes.org/fhir/StructureDefinition/lsoa"
EXT_REGION = "https://fivesafes.org/fhir/StructureDefinition/nhs-region"
EXT_AREA = "https://fivesafes.org/fhir/StructureDefinition/ons-area"
"""The ONS area an organisation answers for: an ICB's own code, a practice's Sub ICB Location."""
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CAUSE_OF_DEATH = "184305005"
WEARABLE_KINDS = {
    "41950-7": "steps",
    "93832-4": "sleep_minutes",
    "40443-4": "resting_heart_rate",
    "8867-4": "heart_rate",
    "29463-7": "body_weight_kg",
    "9052-2": "calorie_intake_kcal",
    "55411-3": "exercise_minutes",
}
"""What people may share from their own devices and apps (LOINC), and the analysis layer's name
for each: activity, sleep, heart rate, weight, food (energy taken in) and exercise."""
SNOMED = (CodeSystem.SNOMEDCT,)

PROFILE_EXTENSIONS: dict[str, tuple[str, ...]] = {
    EXT_ETHNICITY: ("CodeableConcept",),
    EXT_LSOA: ("code",),
    EXT_REGION: ("string",),
    EXT_AREA: ("Coding",),
}
"""The non-HL7 extensions of docs/fhir-profile.md, with the value types each may take."""

Row = tuple[Any, ...]
Extractor = Callable[[dict[str, Any], RecordChecker], Row]


@dataclass(frozen=True, slots=True)
class Flattening:
    """How one resource type becomes a staging row: its columns (name, DuckDB type) and reader."""

    resource_type: str
    columns: tuple[tuple[str, str], ...]
    extract: Extractor


def _extension(obj: Any, url: str) -> dict[str, Any] | None:
    exts = obj.get("extension") if isinstance(obj, dict) else None
    if isinstance(exts, list):
        for ext in exts:
            if isinstance(ext, dict) and ext.get("url") == url:
                return ext
    return None


def _local(system: str | None, code: str | None, name: str) -> str | None:
    return code if system == LOCAL + name else None


def _patient(r: dict[str, Any], c: RecordChecker) -> Row:
    nhs, where = None, "identifier"
    identifiers = r.get("identifier")
    if isinstance(identifiers, list):
        for i, ident in enumerate(identifiers):
            if isinstance(ident, dict) and ident.get("system") == NHS_NUMBER_SYSTEM:
                value = ident.get("value")
                nhs, where = (value if isinstance(value, str) else ""), f"identifier[{i}].value"
                break
    nhs = c.nhs_number(where, nhs)
    birth = c.date("birthDate", text(r, "birthDate"))
    death = c.date("deceasedDateTime", text(r, "deceasedDateTime"), required=False)
    ethnicity_ext = _extension(r, EXT_ETHNICITY)
    ethnicity = None
    if ethnicity_ext is not None:
        system, code = coding(ethnicity_ext, "valueCodeableConcept")
        ethnicity = c.code(
            "extension.valueCodeableConcept.coding[0]",
            system,
            code,
            (CodeSystem.ETHNIC_CATEGORY,),
        )
    address = first(r.get("address"))
    lsoa_ext = _extension(address, EXT_LSOA)
    lsoa = None
    if lsoa_ext is not None:
        lsoa = c.code(
            "address[0].extension.valueCode",
            CodeSystem.LSOA.value,
            text(lsoa_ext, "valueCode"),
            (CodeSystem.LSOA,),
        )
    practice = c.reference(
        "generalPractitioner[0]",
        reference(r, "generalPractitioner"),
        "Organization",
        required=False,
    )
    if birth and death and death < birth:
        c.fail(DATE_BEFORE_BIRTH.id, "deceasedDateTime", "date of death is before date of birth")
    gender = c.need("gender", text(r, "gender"), "the patient's sex (gender)")
    return (nhs, gender, birth, death, ethnicity, lsoa, practice)


def _episode(r: dict[str, Any], c: RecordChecker) -> Row:
    system, kind = coding(r, "type")
    period = r.get("period")
    return (
        c.reference("patient", reference(r, "patient"), "Patient"),
        c.reference("managingOrganization", reference(r, "managingOrganization"), "Organization"),
        c.date("period.start", text(period, "start")),
        c.date("period.end", text(period, "end"), required=False),
        _local(system, kind, "episode-type"),
    )


def _condition(r: dict[str, Any], c: RecordChecker) -> Row:
    system, code = coding(r, "code")
    when = text(r, "onsetDateTime")
    path = "onsetDateTime"
    if when is None:
        when, path = text(r, "recordedDate"), "recordedDate"
    return (
        c.reference("subject", reference(r, "subject"), "Patient"),
        c.date(path, when),
        c.code("code.coding[0]", system, code, SNOMED),
    )


def _observation(r: dict[str, Any], c: RecordChecker) -> Row:
    system, code = coding(r, "code")
    categories = all_codings(r, "category")
    wearable = (OBSERVATION_CATEGORY, "activity") in categories
    genome = False
    if wearable:
        code = c.code("code.coding[0]", system, code, (CodeSystem.LOINC,))
        genome = code == GENETIC_VARIANT
        if genome:
            check_variant(r, c)
        elif code is not None and code not in WEARABLE_KINDS:
            c.fail(
                CODE_MALFORMED.id,
                "code.coding[0].code",
                f"LOINC {code!r} is not shared data fivesafes takes "
                f"(one of {', '.join(WEARABLE_KINDS)}, or a genetic variant {GENETIC_VARIANT})",
            )
    else:
        code = c.code("code.coding[0]", system, code, SNOMED)
    value = get(r, "valueQuantity", "value")
    value = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if wearable and not genome:
        c.need("valueQuantity.value", value, "the measured value")
    cause = None
    if code == CAUSE_OF_DEATH:
        cause_system, cause_code = coding(r, "valueCodeableConcept")
        cause = c.code(
            "valueCodeableConcept.coding[0]", cause_system, cause_code, (CodeSystem.ICD10,)
        )
    return (
        c.reference("subject", reference(r, "subject"), "Patient"),
        c.date("effectiveDateTime", text(r, "effectiveDateTime")),
        code,
        value,
        cause,
        wearable,
    )


def _medication(r: dict[str, Any], c: RecordChecker) -> Row:
    system, code = coding(r, "medicationCodeableConcept")
    return (
        c.reference("subject", reference(r, "subject"), "Patient"),
        c.date("authoredOn", text(r, "authoredOn")),
        c.code("medicationCodeableConcept.coding[0]", system, code, (CodeSystem.DMD,)),
    )


def _encounter(r: dict[str, Any], c: RecordChecker) -> Row:
    klass = r.get("class")
    klass_code = klass.get("code") if isinstance(klass, dict) else None
    if (
        not isinstance(klass, dict)
        or klass.get("system") != ACT_CODE
        or klass_code
        not in (
            "IMP",
            "EMER",
        )
    ):
        c.fail(
            CODE_SYSTEM_UNKNOWN.id,
            "class",
            f"fivesafes loads inpatient (IMP) and emergency (EMER) encounters, coded in {ACT_CODE}",
        )
        klass_code = None
    allowed = (CodeSystem.ICD10,) if klass_code == "IMP" else SNOMED
    reasons = []
    for i, (system, code) in enumerate(all_codings(r, "reasonCode")):
        checked = c.code(f"reasonCode[{i}].coding[0]", system, code, allowed)
        if checked is not None:
            reasons.append(checked)
    method_system, method = coding(r, "type")
    admission_method = _local(method_system, method, "admission-method")
    if klass_code == "IMP":
        c.need(
            "type[0].coding[0]", admission_method, f"an admission method ({LOCAL}admission-method)"
        )
        c.need("reasonCode", reasons or None, "a diagnosis (ICD-10)")
    outcome_system, outcome = coding(r, "hospitalization", "dischargeDisposition")
    period = r.get("period")
    start = c.date("period.start", text(period, "start"))
    end = c.date("period.end", text(period, "end"), required=False)
    if start and end and end < start:
        c.fail(DATE_ORDER.id, "period.end", "the encounter ends before it starts")
    return (
        c.reference("subject", reference(r, "subject"), "Patient"),
        klass_code,
        start,
        end,
        ";".join(reasons),
        admission_method,
        _local(outcome_system, outcome, "ae-outcome"),
        c.reference("serviceProvider", reference(r, "serviceProvider"), "Organization"),
    )


def _procedure(r: dict[str, Any], c: RecordChecker) -> Row:
    system, code = coding(r, "code")
    return (
        c.reference("subject", reference(r, "subject"), "Patient"),
        c.reference("encounter", reference(r, "encounter"), "Encounter", required=False),
        c.date("performedDateTime", text(r, "performedDateTime")),
        c.code("code.coding[0]", system, code, (CodeSystem.OPCS4,)),
    )


def _immunization(r: dict[str, Any], c: RecordChecker) -> Row:
    system, code = coding(r, "vaccineCode")
    target = first(get(r, "protocolApplied", "targetDisease"))
    target_coding = first(target.get("coding")) if isinstance(target, dict) else None
    display = text(target_coding, "display") or text(target, "text")
    return (
        c.reference("patient", reference(r, "patient"), "Patient"),
        c.date("occurrenceDateTime", text(r, "occurrenceDateTime")),
        c.code("vaccineCode.coding[0]", system, code, SNOMED),
        display or "unspecified",
    )


def _appointment(r: dict[str, Any], c: RecordChecker) -> Row:
    patient = service = None
    participants = r.get("participant")
    for i, p in enumerate(participants if isinstance(participants, list) else []):
        ref = reference(p, "actor")
        if ref and ref.startswith("Patient/"):
            patient = c.reference(f"participant[{i}].actor", ref, "Patient")
        elif ref and ref.startswith("HealthcareService/"):
            service = c.reference(f"participant[{i}].actor", ref, "HealthcareService")
    if patient is None:
        c.fail(CODE_MISSING.id, "participant", "no participant is a Patient")
    if service is None:
        c.fail(CODE_MISSING.id, "participant", "no participant is a HealthcareService")
    return (
        patient,
        service,
        c.date("created", text(r, "created")),
        c.date("start", text(r, "start")),
        text(r, "status"),
    )


def _organization(r: dict[str, Any], c: RecordChecker) -> Row:
    ods = None
    identifiers = r.get("identifier")
    for ident in identifiers if isinstance(identifiers, list) else []:
        if isinstance(ident, dict) and ident.get("system") == ODS_CODE_SYSTEM:
            ods = ident.get("value") if isinstance(ident.get("value"), str) else None
    ods = c.code("identifier.value", ODS_CODE_SYSTEM, ods, (CodeSystem.ODS,))
    system, kind = coding(r, "type")
    region = _extension(r, EXT_REGION)
    area_ext = _extension(r, EXT_AREA)
    area = c.code(
        "extension.valueCoding",
        text(area_ext, "valueCoding", "system"),
        text(area_ext, "valueCoding", "code"),
        (CodeSystem.ICB, CodeSystem.SUB_ICB),
        required=False,
    )
    return (
        ods,
        c.need("name", text(r, "name"), "the organisation's name"),
        c.need(
            "type[0].coding[0]",
            _local(system, kind, "organisation-kind"),
            f"a kind ({LOCAL}organisation-kind)",
        ),
        c.reference("partOf", reference(r, "partOf"), "Organization", required=False),
        text(r, "address", "postalCode"),
        text(region, "valueString"),
        area,
    )


def _location(r: dict[str, Any], c: RecordChecker) -> Row:
    return (
        text(r, "name"),
        text(r, "address", "postalCode"),
        c.reference(
            "managingOrganization",
            reference(r, "managingOrganization"),
            "Organization",
            required=False,
        ),
    )


def _service(r: dict[str, Any], c: RecordChecker) -> Row:
    system, service_type = coding(r, "type")
    active = r.get("active")
    return (
        c.reference("providedBy", reference(r, "providedBy"), "Organization"),
        c.reference("location[0]", reference(r, "location"), "Location", required=False),
        c.need("name", text(r, "name"), "the service's name"),
        c.need(
            "type[0].coding[0].code",
            _local(system, service_type, "service-type") or service_type,
            "the kind of service",
        ),
        active if isinstance(active, bool) else True,
    )


V, D, B, F = "VARCHAR", "DATE", "BOOLEAN", "DOUBLE"

FLATTENINGS: dict[str, Flattening] = {
    f.resource_type: f
    for f in (
        Flattening(
            "Patient",
            (
                ("nhs_number", V),
                ("gender", V),
                ("birth_date", D),
                ("death_date", D),
                ("ethnicity", V),
                ("lsoa_code", V),
                ("practice_ref", V),
            ),
            _patient,
        ),
        Flattening(
            "EpisodeOfCare",
            (
                ("patient_ref", V),
                ("organisation_ref", V),
                ("start_date", D),
                ("end_date", D),
                ("episode_type", V),
            ),
            _episode,
        ),
        Flattening("Condition", (("patient_ref", V), ("date", D), ("code", V)), _condition),
        Flattening(
            "Observation",
            (
                ("patient_ref", V),
                ("date", D),
                ("code", V),
                ("value", F),
                ("cause_code", V),
                ("wearable", B),
            ),
            _observation,
        ),
        Flattening(
            "MedicationRequest", (("patient_ref", V), ("date", D), ("code", V)), _medication
        ),
        Flattening(
            "Encounter",
            (
                ("patient_ref", V),
                ("class", V),
                ("start_date", D),
                ("end_date", D),
                ("reason_codes", V),
                ("admission_method", V),
                ("ae_outcome", V),
                ("provider_ref", V),
            ),
            _encounter,
        ),
        Flattening(
            "Procedure",
            (("patient_ref", V), ("encounter_ref", V), ("date", D), ("code", V)),
            _procedure,
        ),
        Flattening(
            "Immunization",
            (("patient_ref", V), ("date", D), ("code", V), ("target_disease", V)),
            _immunization,
        ),
        Flattening(
            "Appointment",
            (
                ("patient_ref", V),
                ("service_ref", V),
                ("booked_date", D),
                ("start_date", D),
                ("status", V),
            ),
            _appointment,
        ),
        Flattening(
            "Organization",
            (
                ("ods_code", V),
                ("name", V),
                ("kind", V),
                ("parent_ref", V),
                ("postcode", V),
                ("region", V),
                ("area_code", V),
            ),
            _organization,
        ),
        Flattening(
            "Location",
            (("name", V), ("postcode", V), ("organisation_ref", V)),
            _location,
        ),
        Flattening(
            "HealthcareService",
            (
                ("organisation_ref", V),
                ("location_ref", V),
                ("name", V),
                ("service_type", V),
                ("active", B),
            ),
            _service,
        ),
    )
}
"""Every resource type the environment loads; any other type is refused at the door."""

PATIENT_DATES: dict[str, tuple[str, str]] = {
    "EpisodeOfCare": ("start_date", "period.start"),
    "Condition": ("date", "onsetDateTime"),
    "Observation": ("date", "effectiveDateTime"),
    "MedicationRequest": ("date", "authoredOn"),
    "Encounter": ("start_date", "period.start"),
    "Procedure": ("date", "performedDateTime"),
    "Immunization": ("date", "occurrenceDateTime"),
    "Appointment": ("start_date", "start"),
}
"""The staging column and FHIR element of each patient-linked resource's date, checked
against the patient's birth and death."""


def flatten(resource: dict[str, Any], today: date) -> tuple[Row | None, RecordChecker]:
    """The staging row of ``resource`` (None when its type is not loaded) and its findings."""
    resource_type = resource.get("resourceType")
    checker = RecordChecker(str(resource_type), today)
    flattening = FLATTENINGS.get(resource_type) if isinstance(resource_type, str) else None
    if flattening is None:
        return None, checker
    return flattening.extract(resource, checker), checker
