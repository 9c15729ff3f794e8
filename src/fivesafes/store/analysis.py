"""Building the analysis layer (the common data model) from the identifiable layer.

Each model table built from FHIR has one SELECT here, over the flattened
identifiable tables, that swaps resource references for the pseudonymous
``patient_id`` and drops everything identifying. The layer is brought up to date in
the load's transaction, so it is always exactly the current identifiable data,
and the model's NOT NULL constraints catch a wrong mapping at load time rather
than in someone's analysis.

A load remakes only the rows of the patients it touched (:func:`update_analysis_layer`):
every analysis row belongs to one patient, and depends only on that patient's own
resources and on a few shared ones (the organisations, services and areas it points at).
So the merge notes, as it goes, which patients a staged resource belongs to -- before and
after the change, so a record moved to another patient is taken from the first -- and
which organisations, services, encounters and areas changed (:func:`note_changes`); the
patients that point at those join the set; their rows are deleted and selected again,
the SELECT reading only those patients. A day's records cost a day's work, not the
store's (what is left of the store's size is a scan of a reference column or two). A
full rebuild (:func:`rebuild_analysis_layer`) gives the identical layer, and runs
instead when the store was empty or the load touched most of it.

Tables keyed by patient are written in ``patient_id`` order (:func:`insert_clustered`),
so each DuckDB row group holds a narrow band of patients and its min/max statistics
let a scan for one band of patients skip every other row group: the query engine
extracts large populations one band at a time, in memory that does not grow with
the population. An update appends its patients' rows, in order, as row groups of
their own; a rebuild puts the whole table back in one order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import duckdb
import orjson

from fivesafes.ingest.flatten import CAUSE_OF_DEATH, FLATTENINGS, WEARABLE_KINDS
from fivesafes.ingest.genomics import GENETIC_VARIANT
from fivesafes.model import TABLES

PATIENTS = "{patients}"
"""Where each SELECT reads patients from: the whole ``identifiable."Patient"`` for a rebuild,
only the patients a load touched for an update (:func:`select_for`)."""
_P = f"JOIN {PATIENTS} p ON p.id = x.patient_ref"
_WEARABLE_CASE = " ".join(f"WHEN '{code}' THEN '{kind}'" for code, kind in WEARABLE_KINDS.items())

ANALYSIS_SQL: dict[str, str] = {
    "patients": f"""
        SELECT patient_id, gender, date_trunc('month', birth_date)::DATE, death_date, ethnicity
        FROM {PATIENTS}
    """,
    "practice_registrations": f"""
        SELECT p.patient_id, x.start_date, x.end_date, o.ods_code,
               coalesce(o.region, icb.region), p.lsoa_code, a.imd_decile,
               CASE WHEN o.area_code LIKE 'E38%' THEN o.area_code END,
               CASE WHEN icb.area_code LIKE 'E54%' THEN icb.area_code END,
               a.local_authority_code
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
        FROM {PATIENTS} p
        LEFT JOIN (
            SELECT patient_ref, arg_max(cause_code, date) AS cause
            FROM identifiable."Observation" WHERE code = '{CAUSE_OF_DEATH}' GROUP BY patient_ref
        ) c ON c.patient_ref = p.id
        WHERE p.death_date IS NOT NULL
    """,
    "wearable_observations": f"""
        SELECT p.patient_id, x.date, CASE x.code {_WEARABLE_CASE} END, x.value
        FROM identifiable."Observation" x {_P}
        WHERE x.wearable AND x.code <> '{GENETIC_VARIANT}'
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


_ROWS_FROM = re.compile(r'FROM (?:identifiable\."(\w+)"|' + re.escape(PATIENTS) + ")")
_READS = re.compile(r'identifiable\."(\w+)"')


def _datasets_of(rtype: str) -> tuple[str, ...]:
    """The analysis tables whose rows ``rtype``'s resources become: those that select FROM them
    (a resource only joined in adds columns to rows another type brought). A type no table
    selects from (a Location, joined into services) feeds every table that reads it."""
    rows = [t for t, sql in ANALYSIS_SQL.items()
            if rtype in {m.group(1) or "Patient" for m in _ROWS_FROM.finditer(sql)}]  # fmt: skip
    return tuple(rows or (t for t, sql in ANALYSIS_SQL.items() if rtype in _READS.findall(sql)))


DATASETS_OF: dict[str, tuple[str, ...]] = {rtype: _datasets_of(rtype) for rtype in FLATTENINGS}
"""Each FHIR resource type and the datasets (analysis tables) a load of it feeds: what the
datasets register must allow before a load of that type is accepted."""


PATIENT_TABLES = tuple(n for n in ANALYSIS_SQL if "patient_id" in TABLES[n].column_names)
"""The tables whose rows each belong to one patient: updated patient by patient."""
ALL_PATIENTS = 'identifiable."Patient"'
TOUCHED_PATIENTS = (
    '(SELECT * FROM identifiable."Patient" WHERE id IN (SELECT ref FROM touched_refs))'
)
REBUILD_SHARE = 0.5
"""A load touching more than this share of the store's patients rebuilds the layer: one
ordered pass over everything is then cheaper than deleting and reselecting most of it."""
AREAS = "areas"
"""The loaded (CSV) table the FHIR-built tables read: the deprivation of an LSOA."""
_TRACKING = {
    "touched_refs": "ref VARCHAR",  # Patient ids whose rows to remake
    "touched_ids": "patient_id BIGINT",  # pseudonyms whose rows to delete (old and new)
    "touched_orgs": "id VARCHAR",
    "touched_services": "id VARCHAR",
    "touched_encounters": "id VARCHAR",
    "touched_areas": "lsoa_code VARCHAR",
}
_BY_TYPE = {
    "Organization": "touched_orgs",
    "HealthcareService": "touched_services",
    "Encounter": "touched_encounters",
}
"""Resource types other analysis rows join to, and where their changed ids are noted."""


def select_for(table: str, patients: str = ALL_PATIENTS) -> str:
    """The SELECT of ``table``'s rows, reading patients from ``patients``."""
    return ANALYSIS_SQL[table].replace(PATIENTS, patients)


def insert_clustered(con: duckdb.DuckDBPyConnection, table: str, select: str) -> None:
    """Append the rows of ``select`` (columns in the model's order) to ``analysis.<table>``,
    in ``patient_id`` order when the table has one: clustering a table by patient is what
    makes extracting one band of patients read only that band's row groups."""
    columns = TABLES[table].column_names
    order = f" ORDER BY {columns.index('patient_id') + 1}" if "patient_id" in columns else ""
    con.execute(f'INSERT INTO analysis."{table}" SELECT * FROM ({select}){order}')


WITHHELD = "withheld_datasets"
"""Where ``meta.environment`` names the datasets deleted from this store (and how many rows
each had): their tables stay empty though resources another dataset keeps could fill them."""


def withheld(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The datasets deleted from the store, each with the rows it had when deleted."""
    found = con.execute("SELECT value FROM meta.environment WHERE name = ?", [WITHHELD]).fetchone()
    return {} if found is None else dict(orjson.loads(found[0]))


def set_withheld(con: duckdb.DuckDBPyConnection, datasets: dict[str, int]) -> None:
    con.execute("DELETE FROM meta.environment WHERE name = ?", [WITHHELD])
    if datasets:
        value = orjson.dumps(datasets, option=orjson.OPT_SORT_KEYS).decode()
        con.execute("INSERT INTO meta.environment VALUES (?, ?)", [WITHHELD, value])


def release_withheld(con: duckdb.DuckDBPyConnection, datasets: Iterable[str]) -> None:
    """A load the register let into ``datasets`` (registered again after their deletion): they
    are no longer withheld, and each is built whole again from what the store holds."""
    held = withheld(con)
    back = [d for d in datasets if d in held]
    if back:
        set_withheld(con, {d: n for d, n in held.items() if d not in back})
        for name in back:
            if name in ANALYSIS_SQL:
                con.execute(f"DELETE FROM analysis.{name}")
                insert_clustered(con, name, select_for(name))


def rebuild_analysis_layer(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the rows of every FHIR-built analysis table with the current identifiable data
    (a withheld dataset's table left empty)."""
    held = withheld(con)
    for name in ANALYSIS_SQL:
        con.execute(f"DELETE FROM analysis.{name}")
        if name not in held:
            insert_clustered(con, name, select_for(name))


def start_tracking(con: duckdb.DuckDBPyConnection) -> None:
    """Empty notes of what a load changes (temporary tables, gone with the connection)."""
    for name, column in _TRACKING.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({column})")


def note_changes(con: duckdb.DuckDBPyConnection, rtype: str, stage: str) -> None:
    """Note what the staged ``rtype`` resources (new or changed, not yet merged) touch: their
    patients as they are and as the store had them, and their own ids where other rows join
    to them. Call before the merge replaces the stored versions."""
    target = f'identifiable."{rtype}"'
    columns = {name for name, _ in FLATTENINGS[rtype].columns}
    if rtype == "Patient":
        con.execute(f"INSERT INTO touched_refs SELECT id FROM {stage}")
        con.execute(
            f"INSERT INTO touched_ids SELECT patient_id FROM {target} "
            f"WHERE id IN (SELECT id FROM {stage})"
        )
    elif "patient_ref" in columns:
        con.execute(
            f"INSERT INTO touched_refs SELECT patient_ref FROM {stage} UNION ALL "
            f"SELECT patient_ref FROM {target} WHERE id IN (SELECT id FROM {stage})"
        )
    if rtype == "Procedure":  # an admission's first procedure is part of its row
        con.execute(
            f"INSERT INTO touched_encounters SELECT encounter_ref FROM {stage} UNION ALL "
            f"SELECT encounter_ref FROM {target} WHERE id IN (SELECT id FROM {stage})"
        )
    if rtype in _BY_TYPE:
        con.execute(f"INSERT INTO {_BY_TYPE[rtype]} SELECT id FROM {stage}")


def note_changed_areas(con: duckdb.DuckDBPyConnection, stage: str) -> None:
    """Note the LSOAs whose ``areas`` row the staged rows change (call before they merge)."""
    cols = ", ".join(f'"{c}"' for c in TABLES[AREAS].column_names)
    con.execute(
        f"INSERT INTO touched_areas SELECT lsoa_code FROM (SELECT {cols} FROM {stage} "
        f"EXCEPT SELECT {cols} FROM analysis.{AREAS})"
    )


_DEPENDENTS = (
    # patients whose rows read a changed (or deleted) organisation, service, encounter or area:
    # found by the references themselves, so a referenced row that is gone still counts
    'SELECT patient_ref FROM identifiable."EpisodeOfCare" '
    "WHERE organisation_ref IN (SELECT id FROM touched_orgs) OR organisation_ref IN "
    '(SELECT id FROM identifiable."Organization" '
    "WHERE parent_ref IN (SELECT id FROM touched_orgs))",
    'SELECT patient_ref FROM identifiable."Encounter" '
    "WHERE provider_ref IN (SELECT id FROM touched_orgs) "
    "OR id IN (SELECT id FROM touched_encounters)",
    'SELECT patient_ref FROM identifiable."Appointment" '
    "WHERE service_ref IN (SELECT id FROM touched_services) OR service_ref IN "
    '(SELECT id FROM identifiable."HealthcareService" '
    "WHERE organisation_ref IN (SELECT id FROM touched_orgs))",
    'SELECT id FROM identifiable."Patient" '
    "WHERE lsoa_code IN (SELECT lsoa_code FROM touched_areas)",
)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def update_analysis_layer(con: duckdb.DuckDBPyConnection) -> bool:
    """Bring the analysis layer up to date after a merge whose changes were noted; returns
    whether it rebuilt the whole layer rather than the touched patients' rows."""
    for dependents in _DEPENDENTS:
        con.execute(f"INSERT INTO touched_refs {dependents}")
    con.execute(
        'INSERT INTO touched_ids SELECT patient_id FROM identifiable."Patient" '
        "WHERE id IN (SELECT ref FROM touched_refs)"
    )
    stored = _count(con, "SELECT count(*) FROM analysis.patients")
    touched = _count(con, "SELECT count(DISTINCT patient_id) FROM touched_ids")
    if stored == 0 or touched > REBUILD_SHARE * stored:
        rebuild_analysis_layer(con)
        return True
    held = withheld(con)
    for name in ANALYSIS_SQL:
        if name in held:
            continue
        if name in PATIENT_TABLES:
            con.execute(
                f"DELETE FROM analysis.{name} WHERE patient_id IN "
                "(SELECT patient_id FROM touched_ids)"
            )
            insert_clustered(con, name, select_for(name, TOUCHED_PATIENTS))
        else:  # organisations and services: a few thousand rows, remade whole
            con.execute(f"DELETE FROM analysis.{name}")
            insert_clustered(con, name, select_for(name))
    return False
