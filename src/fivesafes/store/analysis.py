"""Building the analysis layer (the common data model) from the identifiable layer.

Each model table built from FHIR has one SELECT here, over the flattened
identifiable tables, that swaps resource references for the pseudonymous
``patient_id`` and drops everything identifying. The whole layer is rebuilt in
the load's transaction, so it is always exactly the current identifiable data,
and the model's NOT NULL constraints catch a wrong mapping at load time rather
than in someone's analysis.

Tables keyed by patient are written in ``patient_id`` order (:func:`insert_clustered`),
so each DuckDB row group holds a narrow band of patients and its min/max statistics
let a scan for one band of patients skip every other row group: the query engine
extracts large populations one band at a time, in memory that does not grow with
the population.
"""

from __future__ import annotations

import duckdb

from fivesafes.ingest.flatten import CAUSE_OF_DEATH, WEARABLE_KINDS
from fivesafes.model import TABLES

_P = 'JOIN identifiable."Patient" p ON p.id = x.patient_ref'
_WEARABLE_CASE = " ".join(f"WHEN '{code}' THEN '{kind}'" for code, kind in WEARABLE_KINDS.items())

ANALYSIS_SQL: dict[str, str] = {
    "patients": """
        SELECT patient_id, gender, date_trunc('month', birth_date)::DATE, death_date, ethnicity
        FROM identifiable."Patient"
    """,
    "practice_registrations": f"""
        SELECT p.patient_id, x.start_date, x.end_date, o.ods_code,
               coalesce(o.region, icb.region), p.lsoa_code, a.imd_decile
        FROM identifiable."EpisodeOfCare" x {_P}
        JOIN identifiable."Organization" o ON o.id = x.organisation_ref
        LEFT JOIN identifiable."Organization" icb ON icb.id = o.parent_ref
        LEFT JOIN analysis.areas a ON a.lsoa_code = p.lsoa_code
        WHERE x.episode_type = 'gp-registration'
    """,
    "clinical_events": f"""
        SELECT p.patient_id, x.date, x.code, NULL::DOUBLE
        FROM identifiable."Condition" x {_P}
        UNION ALL
        SELECT p.patient_id, x.date, x.code, x.value
        FROM identifiable."Observation" x {_P}
        WHERE NOT x.wearable AND x.code <> '{CAUSE_OF_DEATH}'
    """,
    "medications": f"""
        SELECT p.patient_id, x.date, x.code FROM identifiable."MedicationRequest" x {_P}
    """,
    "hospital_admissions": f"""
        SELECT p.patient_id, x.start_date, x.end_date, split_part(x.reason_codes, ';', 1),
               x.reason_codes, proc.code, x.admission_method, o.ods_code
        FROM identifiable."Encounter" x {_P}
        JOIN identifiable."Organization" o ON o.id = x.provider_ref
        LEFT JOIN (
            SELECT encounter_ref, arg_min(code, date) AS code
            FROM identifiable."Procedure" GROUP BY encounter_ref
        ) proc ON proc.encounter_ref = x.id
        WHERE x.class = 'IMP'
    """,
    "emergency_attendances": f"""
        SELECT p.patient_id, x.start_date, nullif(split_part(x.reason_codes, ';', 1), ''),
               coalesce(x.ae_outcome = 'admitted', false), o.ods_code
        FROM identifiable."Encounter" x {_P}
        JOIN identifiable."Organization" o ON o.id = x.provider_ref
        WHERE x.class = 'EMER'
    """,
    "appointments": f"""
        SELECT p.patient_id, x.booked_date, x.start_date, x.status, o.ods_code
        FROM identifiable."Appointment" x {_P}
        JOIN identifiable."HealthcareService" s ON s.id = x.service_ref
        JOIN identifiable."Organization" o ON o.id = s.organisation_ref
    """,
    "vaccinations": f"""
        SELECT p.patient_id, x.date, x.code, x.target_disease
        FROM identifiable."Immunization" x {_P}
    """,
    "deaths": f"""
        SELECT p.patient_id, p.death_date, c.cause
        FROM identifiable."Patient" p
        LEFT JOIN (
            SELECT patient_ref, arg_max(cause_code, date) AS cause
            FROM identifiable."Observation" WHERE code = '{CAUSE_OF_DEATH}' GROUP BY patient_ref
        ) c ON c.patient_ref = p.id
        WHERE p.death_date IS NOT NULL
    """,
    "wearable_observations": f"""
        SELECT p.patient_id, x.date, CASE x.code {_WEARABLE_CASE} END, x.value
        FROM identifiable."Observation" x {_P}
        WHERE x.wearable
    """,
    "organisations": """
        SELECT o.ods_code, o.name, o.kind, parent.ods_code, coalesce(o.region, parent.region),
               o.postcode
        FROM identifiable."Organization" o
        LEFT JOIN identifiable."Organization" parent ON parent.id = o.parent_ref
    """,
    "services": """
        SELECT s.id, o.ods_code, s.name, s.service_type, l.name, l.postcode, s.active
        FROM identifiable."HealthcareService" s
        JOIN identifiable."Organization" o ON o.id = s.organisation_ref
        LEFT JOIN identifiable."Location" l ON l.id = s.location_ref
    """,
}
"""One SELECT per FHIR-built model table, its columns in the model's order."""


def insert_clustered(con: duckdb.DuckDBPyConnection, table: str, select: str) -> None:
    """Append the rows of ``select`` (columns in the model's order) to ``analysis.<table>``,
    in ``patient_id`` order when the table has one: clustering a table by patient is what
    makes extracting one band of patients read only that band's row groups."""
    columns = TABLES[table].column_names
    order = f" ORDER BY {columns.index('patient_id') + 1}" if "patient_id" in columns else ""
    con.execute(f'INSERT INTO analysis."{table}" SELECT * FROM ({select}){order}')


def rebuild_analysis_layer(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the rows of every FHIR-built analysis table with the current identifiable data."""
    for name, sql in ANALYSIS_SQL.items():
        con.execute(f"DELETE FROM analysis.{name}")
        insert_clustered(con, name, sql)
