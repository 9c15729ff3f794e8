"""The checks that need the whole load and the store: run in SQL over the staging tables.

Each check moves the failing staged rows to the quarantine with a rule and a
message, so what follows (merge, analysis build) only ever sees records that
passed everything. Order matters: a Patient rejected as a duplicate takes its
events with it, because their references then no longer resolve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from fivesafes.ingest.checks import (
    DATE_AFTER_DEATH,
    DATE_BEFORE_BIRTH,
    DUPLICATE_ID,
    DUPLICATE_NHS_NUMBER,
    REFERENCE_UNRESOLVED,
)
from fivesafes.ingest.flatten import FLATTENINGS, PATIENT_DATES

if TYPE_CHECKING:
    from fivesafes.store.load import LoadReport

REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    # (resource type, staging column, FHIR path, target type), in dependency order
    ("Organization", "parent_ref", "partOf", "Organization"),
    ("Location", "organisation_ref", "managingOrganization", "Organization"),
    ("HealthcareService", "organisation_ref", "providedBy", "Organization"),
    ("HealthcareService", "location_ref", "location[0]", "Location"),
    ("Patient", "practice_ref", "generalPractitioner[0]", "Organization"),
    ("EpisodeOfCare", "organisation_ref", "managingOrganization", "Organization"),
    ("EpisodeOfCare", "patient_ref", "patient", "Patient"),
    ("Condition", "patient_ref", "subject", "Patient"),
    ("Observation", "patient_ref", "subject", "Patient"),
    ("MedicationRequest", "patient_ref", "subject", "Patient"),
    ("Encounter", "patient_ref", "subject", "Patient"),
    ("Encounter", "provider_ref", "serviceProvider", "Organization"),
    ("Procedure", "patient_ref", "subject", "Patient"),
    ("Procedure", "encounter_ref", "encounter", "Encounter"),
    ("Immunization", "patient_ref", "patient", "Patient"),
    ("Appointment", "patient_ref", "participant.actor", "Patient"),
    ("Appointment", "service_ref", "participant.actor", "HealthcareService"),
)


def _reject(
    con: duckdb.DuckDBPyConnection,
    report: LoadReport,
    rtype: str,
    where: str,
    rule: str,
    path: str,
    message_sql: str,
) -> None:
    """Quarantine the staged ``rtype`` rows matching ``where`` (SQL over alias ``s``)."""
    stage = f"stage_{rtype}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE rejected AS SELECT s.seq FROM {stage} s WHERE {where}"
    )
    n = con.execute("SELECT count(*) FROM rejected").fetchone()[0]  # type: ignore[index]
    if not n:
        return
    con.execute(
        f"INSERT INTO stage_quarantine SELECT ?, s.source_file, s.source_line, s.source_entry, "
        f"?, s.id, ?, ?, {message_sql} FROM {stage} s WHERE s.seq IN (SELECT seq FROM rejected)",
        [report.load_id, rtype, f"{rtype}.{path}", rule],
    )
    con.execute(f"DELETE FROM {stage} WHERE seq IN (SELECT seq FROM rejected)")
    report.count(rtype, "quarantined", n)
    report.rules[rule] += n


def _duplicates(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    """Exact repeats of a resource in one load are dropped; different versions quarantined."""
    for rtype in FLATTENINGS:
        stage = f"stage_{rtype}"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE repeats AS SELECT seq, content_hash = first_hash AS same "
            "FROM (SELECT seq, content_hash, row_number() OVER w AS n, "
            "first_value(content_hash) OVER w AS first_hash "
            f"FROM {stage} WINDOW w AS (PARTITION BY id ORDER BY seq)) WHERE n > 1"
        )
        repeats = con.execute(
            f"DELETE FROM {stage} WHERE seq IN (SELECT seq FROM repeats WHERE same)"
        ).fetchone()[0]  # type: ignore[index]
        report.count(rtype, "unchanged", repeats)
        _reject(
            con,
            report,
            rtype,
            "s.seq IN (SELECT seq FROM repeats WHERE NOT same)",
            DUPLICATE_ID.id,
            "id",
            f"'{rtype}/' || s.id || ' appears more than once in this load with different content;"
            " the first is kept'",
        )


def _duplicate_patients(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    _reject(
        con,
        report,
        "Patient",
        "EXISTS (SELECT 1 FROM stage_Patient o WHERE o.nhs_number = s.nhs_number "
        "AND o.id <> s.id AND o.seq < s.seq)",
        DUPLICATE_NHS_NUMBER.id,
        "identifier",
        "'NHS number is also on an earlier Patient in this load (a duplicate person record): "
        "the supplier must merge them'",
    )
    _reject(
        con,
        report,
        "Patient",
        "EXISTS (SELECT 1 FROM identifiable.Patient o WHERE o.nhs_number = s.nhs_number "
        "AND o.id <> s.id)",
        DUPLICATE_NHS_NUMBER.id,
        "identifier",
        "'NHS number already belongs to Patient/' || (SELECT o.id FROM identifiable.Patient o "
        "WHERE o.nhs_number = s.nhs_number LIMIT 1) || ' (a duplicate person record)'",
    )


def _references(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    for rtype, column, path, target in REFERENCES:
        known = f'SELECT id FROM stage_{target} UNION ALL SELECT id FROM identifiable."{target}"'
        _reject(
            con,
            report,
            rtype,
            f"s.{column} IS NOT NULL AND s.{column} NOT IN ({known})",
            REFERENCE_UNRESOLVED.id,
            path,
            f"'{target}/' || s.{column} || ' is not in this load or in the store'",
        )


def _dates(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE life AS "
        "SELECT id, birth_date, death_date FROM stage_Patient UNION ALL "
        "SELECT id, birth_date, death_date FROM identifiable.Patient "
        "WHERE id NOT IN (SELECT id FROM stage_Patient)"
    )
    for rtype, (column, path) in PATIENT_DATES.items():
        life = "(SELECT l.{0} FROM life l WHERE l.id = s.patient_ref)"
        _reject(
            con,
            report,
            rtype,
            f"s.{column} < {life.format('birth_date')}",
            DATE_BEFORE_BIRTH.id,
            path,
            f"strftime(s.{column}, '%Y-%m-%d') || ' is before the patient''s date of birth'",
        )
        _reject(
            con,
            report,
            rtype,
            f"s.{column} > {life.format('death_date')}",
            DATE_AFTER_DEATH.id,
            path,
            f"strftime(s.{column}, '%Y-%m-%d') || ' is after the patient''s date of death ('"
            f" || strftime({life.format('death_date')}, '%Y-%m-%d') || ')'",
        )


def run_crosschecks(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    """Every whole-load check, in an order where each sees the survivors of the last."""
    _duplicates(con, report)
    _duplicate_patients(con, report)
    _references(con, report)
    _dates(con, report)
