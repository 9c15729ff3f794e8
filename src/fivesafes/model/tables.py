"""The analysis layer of the common data model: every table, declared once.

Flat, long tables an NHS analyst recognises. Every patient-level table is keyed
by the pseudonymous ``patient_id`` (a keyed hash of the NHS number): no table
here holds an NHS number, a name, an address line or a full date of birth.
"""

from __future__ import annotations

from datetime import date

from fivesafes.model.codes import CodeSystem
from fivesafes.model.schema import Column, ColumnType, Distribution, Table, TableKind
from fivesafes.model.social_care import social_care_events

EARLIEST_DATE = date(1900, 1, 1)
"""No event in the model is dated before this: earlier dates are data-entry errors."""

SEX_CATEGORIES = ("female", "male", "other", "unknown")
"""FHIR administrative gender, the categories every source in England can supply."""
REGIONS = (
    "East of England",
    "London",
    "Midlands",
    "North East and Yorkshire",
    "North West",
    "South East",
    "South West",
)

AGE_BANDS = Distribution(
    bands=(
        (0, 5, 5.6),
        (5, 15, 12.0),
        (15, 25, 11.8),
        (25, 45, 26.5),
        (45, 65, 25.4),
        (65, 85, 16.3),
        (85, 105, 2.4),
    )
)
"""Ages of the population of England, in approximate shares by band (rounded from ONS
mid-year population estimates); dummy dates of birth are drawn from it."""
MEASUREMENT_VALUES = Distribution(
    bands=((15, 20, 10), (20, 25, 30), (25, 30, 33), (30, 40, 22), (40, 50, 5))
)
"""The commonest measurement in primary care is BMI: mostly 15-50, centred in the high 20s."""

T = ColumnType


def _patient_id() -> Column:
    return Column(
        "patient_id",
        T.PATIENT_ID,
        "Pseudonymous patient identifier (keyed hash of the NHS number)",
        nullable=False,
    )


def _date(name: str, description: str, nullable: bool = False) -> Column:
    return Column(name, T.DATE, description, nullable=nullable, minimum=EARLIEST_DATE)


def _code(name: str, system: CodeSystem, description: str, nullable: bool = False) -> Column:
    return Column(name, T.CODE, description, nullable=nullable, code_system=system)


def _ods(name: str, description: str, nullable: bool = False) -> Column:
    return _code(name, CodeSystem.ODS, description, nullable=nullable)


patients = Table(
    "patients",
    TableKind.PATIENT,
    "Demographics of every person in the data, one row each.",
    "FHIR Patient",
    (
        _patient_id(),
        Column(
            "sex",
            T.STRING,
            "Administrative sex",
            nullable=False,
            categories=SEX_CATEGORIES,
            distribution=Distribution(weights=(0.505, 0.490, 0.003, 0.002)),
        ),
        Column(
            "date_of_birth",
            T.DATE,
            "Date of birth, rounded down to the first of the month",
            nullable=False,
            minimum=EARLIEST_DATE,
            distribution=AGE_BANDS,
        ),
        _date("date_of_death", "Date of death, if the person has died", nullable=True),
        _code(
            "ethnicity",
            CodeSystem.ETHNIC_CATEGORY,
            "NHS ethnic category (one letter, Z = not stated)",
            nullable=True,
        ),
    ),
)

practice_registrations = Table(
    "practice_registrations",
    TableKind.EVENT,
    "Periods of registration with a GP practice, with where the person lived: the region, ICB "
    "and Sub ICB Location are the practice's (registration), the LSOA, its deprivation and "
    "local authority the address's (residence).",
    "FHIR EpisodeOfCare (type: GP registration)",
    (
        _patient_id(),
        _date("start_date", "First day of the registration"),
        _date("end_date", "Last day of the registration; empty while it continues", nullable=True),
        _ods("practice_code", "ODS code of the GP practice"),
        Column("region", T.STRING, "NHS England region of the practice", categories=REGIONS),
        _code("lsoa_code", CodeSystem.LSOA, "LSOA of the patient's address (2011)", nullable=True),
        Column(
            "imd_decile",
            T.INTEGER,
            "Index of Multiple Deprivation decile of the LSOA (1 = most deprived)",
            minimum=1,
            maximum=10,
        ),
        _code(
            "sub_icb_code",
            CodeSystem.SUB_ICB,
            "ONS code of the practice's Sub ICB Location (E38)",
            nullable=True,
        ),
        _code("icb_code", CodeSystem.ICB, "ONS code of the practice's ICB (E54)", nullable=True),
        _code(
            "local_authority_code",
            CodeSystem.LOCAL_AUTHORITY,
            "ONS code of the local authority of the patient's address (E06-E09)",
            nullable=True,
        ),
    ),
)

clinical_events = Table(
    "clinical_events",
    TableKind.EVENT,
    "Coded events from primary care records: diagnoses, observations, measurements.",
    "FHIR Condition and Observation (SNOMED CT)",
    (
        _patient_id(),
        _date("date", "Date the event was recorded as happening"),
        _code("snomedct_code", CodeSystem.SNOMEDCT, "SNOMED CT concept of the event"),
        Column(
            "numeric_value",
            T.FLOAT,
            "Numeric value of a measurement, if any",
            distribution=MEASUREMENT_VALUES,
        ),
    ),
)

medications = Table(
    "medications",
    TableKind.EVENT,
    "Prescriptions issued in primary care.",
    "FHIR MedicationRequest (dm+d)",
    (
        _patient_id(),
        _date("date", "Date the prescription was issued"),
        _code("dmd_code", CodeSystem.DMD, "dm+d product (VMP or AMP) prescribed"),
    ),
)

hospital_admissions = Table(
    "hospital_admissions",
    TableKind.EVENT,
    "Inpatient admissions to hospital (spells), as in HES APC / SUS.",
    "FHIR Encounter (class: inpatient)",
    (
        _patient_id(),
        _date("admission_date", "Date of admission"),
        _date("discharge_date", "Date of discharge; empty while still in hospital", nullable=True),
        _code("primary_diagnosis", CodeSystem.ICD10, "Primary diagnosis (ICD-10)"),
        Column(
            "all_diagnoses",
            T.STRING,
            "All ICD-10 diagnoses of the spell, separated by ';'",
            nullable=False,
        ),
        _code(
            "primary_procedure",
            CodeSystem.OPCS4,
            "Main procedure (OPCS-4), if any",
            nullable=True,
        ),
        Column(
            "admission_method",
            T.STRING,
            "How the patient was admitted",
            nullable=False,
            categories=("elective", "emergency", "maternity", "transfer"),
        ),
        _ods("provider_code", "ODS code of the trust that provided the care"),
    ),
)

emergency_attendances = Table(
    "emergency_attendances",
    TableKind.EVENT,
    "Attendances at A&E departments, as in ECDS.",
    "FHIR Encounter (class: emergency)",
    (
        _patient_id(),
        _date("arrival_date", "Date of arrival"),
        _code(
            "diagnosis", CodeSystem.SNOMEDCT, "Chief diagnosis (SNOMED CT), if any", nullable=True
        ),
        Column("admitted", T.BOOLEAN, "Whether the attendance led to admission", nullable=False),
        _ods("provider_code", "ODS code of the trust running the department"),
    ),
)

appointments = Table(
    "appointments",
    TableKind.EVENT,
    "Appointments booked in general practice.",
    "FHIR Appointment",
    (
        _patient_id(),
        _date("booked_date", "Date the appointment was booked"),
        _date("start_date", "Date the appointment was for"),
        Column(
            "status",
            T.STRING,
            "What happened to the appointment",
            nullable=False,
            categories=("booked", "fulfilled", "cancelled", "noshow"),
        ),
        _ods("organisation_code", "ODS code of the practice offering the appointment"),
    ),
)

vaccinations = Table(
    "vaccinations",
    TableKind.EVENT,
    "Vaccinations given, from GP and national immunisation records.",
    "FHIR Immunization (SNOMED CT)",
    (
        _patient_id(),
        _date("date", "Date the vaccine was given"),
        _code("vaccine_code", CodeSystem.SNOMEDCT, "SNOMED CT product or procedure given"),
        Column("target_disease", T.STRING, "Disease the vaccine protects against", nullable=False),
    ),
)

deaths = Table(
    "deaths",
    TableKind.PATIENT,
    "Registered deaths with their underlying cause, as in ONS death registrations.",
    "FHIR Patient.deceasedDateTime with an Observation of cause of death (ICD-10)",
    (
        _patient_id(),
        _date("date", "Date of death"),
        _code(
            "underlying_cause",
            CodeSystem.ICD10,
            "Underlying cause of death (ICD-10), if registered",
            nullable=True,
        ),
    ),
)

wearable_observations = Table(
    "wearable_observations",
    TableKind.EVENT,
    "Daily measurements people chose to share from their own devices, under consent.",
    "FHIR Observation (category: activity, LOINC)",
    (
        _patient_id(),
        _date("date", "Day measured"),
        Column(
            "kind",
            T.STRING,
            "What was measured",
            nullable=False,
            categories=(
                "steps",
                "sleep_minutes",
                "resting_heart_rate",
                "heart_rate",
                "body_weight_kg",
                "calorie_intake_kcal",
                "exercise_minutes",
            ),
        ),
        Column("value", T.FLOAT, "Measured value for the day", nullable=False, minimum=0),
    ),
    consent_required=True,
)

organisations = Table(
    "organisations",
    TableKind.ORGANISATION,
    "Organisations that provide or commission care: practices, trusts, ICBs.",
    "FHIR Organization (ODS)",
    (
        _ods("organisation_code", "ODS code"),
        Column("name", T.STRING, "Organisation name", nullable=False),
        Column(
            "kind",
            T.STRING,
            "Type of organisation",
            nullable=False,
            categories=("gp_practice", "nhs_trust", "icb"),
        ),
        _ods("parent_code", "ODS code of the commissioning ICB, if any", nullable=True),
        Column("region", T.STRING, "NHS England region", categories=REGIONS),
        Column("postcode", T.STRING, "Postcode of the main site"),
    ),
)

services = Table(
    "services",
    TableKind.ORGANISATION,
    "Services organisations offer, and where.",
    "FHIR HealthcareService with Location",
    (
        Column("service_id", T.STRING, "Stable identifier of the service", nullable=False),
        _ods("organisation_code", "ODS code of the organisation offering the service"),
        Column("name", T.STRING, "Service name", nullable=False),
        Column("service_type", T.STRING, "Kind of service", nullable=False),
        Column("location_name", T.STRING, "Where the service is offered"),
        Column("postcode", T.STRING, "Postcode of the location"),
        Column("active", T.BOOLEAN, "Whether the service is currently offered", nullable=False),
    ),
)

areas = Table(
    "areas",
    TableKind.REFERENCE,
    "Small areas (LSOAs) with their deprivation decile and the local authority, Sub ICB "
    "Location, ICB and region they lie in.",
    "CSV (IMD by LSOA, ONS lookups)",
    (
        _code("lsoa_code", CodeSystem.LSOA, "LSOA code (2011)"),
        Column(
            "imd_decile",
            T.INTEGER,
            "Index of Multiple Deprivation decile (1 = most deprived)",
            nullable=False,
            minimum=1,
            maximum=10,
        ),
        _ods("icb_code", "ODS code of the ICB covering the area"),
        Column("region", T.STRING, "NHS England region", nullable=False, categories=REGIONS),
        _code(
            "local_authority_code",
            CodeSystem.LOCAL_AUTHORITY,
            "ONS code of the local authority district the area lies in (E06-E09)",
            nullable=True,
        ),
        _code(
            "sub_icb_code",
            CodeSystem.SUB_ICB,
            "ONS code of the Sub ICB Location the area lies in (E38)",
            nullable=True,
        ),
    ),
    key=("lsoa_code",),
)

workforce = Table(
    "workforce",
    TableKind.ORGANISATION,
    "Staff in post by organisation, staff group and month, in full-time equivalents.",
    "CSV (NHS Workforce Statistics layout)",
    (
        _ods("organisation_code", "ODS code of the employing organisation"),
        Column(
            "staff_group",
            T.STRING,
            "Staff group",
            nullable=False,
            categories=(
                "Doctors",
                "Nurses and health visitors",
                "Midwives",
                "Ambulance staff",
                "Scientific, therapeutic and technical staff",
                "Support to clinical staff",
                "NHS infrastructure support",
            ),
        ),
        _date("month", "First day of the month counted"),
        Column("fte", T.FLOAT, "Full-time equivalent staff in post", nullable=False, minimum=0),
    ),
    key=("organisation_code", "staff_group", "month"),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        patients,
        practice_registrations,
        clinical_events,
        medications,
        hospital_admissions,
        emergency_attendances,
        appointments,
        vaccinations,
        deaths,
        wearable_observations,
        organisations,
        services,
        areas,
        workforce,
        social_care_events,
    )
}
