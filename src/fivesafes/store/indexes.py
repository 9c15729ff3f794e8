"""Indexes for the point lookups a face makes: one resource by id, one person's resources.

The identifiable layer is laid out for analysis (DuckDB scans columns fast), but the API asks
small questions many times a second: this Patient, this person's registrations, the Patient
with this NHS number, how many earlier versions this resource has. Without an index each is a
scan of the whole table (about 100 ms on 500,000 Observations here); with one it is a lookup
of about a millisecond. :func:`ensure` adds the missing ones to a store about to be committed
(:func:`fivesafes.store.versions.writing`), so every version readers see has them; once
there, a small write keeps them up to date as it inserts and deletes. A load is different:
keeping an index up to date while a transaction replaces a million rows is far slower than
building it again afterwards (a load of 100,000 patients over a store of 100,000 was still in
its COMMIT after ten minutes), so a bulk writer drops them first (:func:`drop`).
"""

from __future__ import annotations

import duckdb

INDEXED = ("id", "patient_ref", "nhs_number", "organisation_ref", "provider_ref", "ods_code")
"""The columns a face looks things up by, wherever a table of the identifiable layer has them."""


def _name(table: str, column: str) -> str:
    return f"ix_{table.lower()}_{column}"


def ensure(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the lookup indexes the identifiable layer lacks; returns the ones created."""
    columns = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name = 'identifiable' AND NOT internal "
        "AND column_name IN (SELECT unnest(?::VARCHAR[]))",
        [list(INDEXED)],
    ).fetchall()
    have = {
        str(row[0])
        for row in con.execute(
            "SELECT index_name FROM duckdb_indexes() WHERE schema_name = 'identifiable'"
        ).fetchall()
    }
    made = []
    for table, column in sorted(columns):
        name = _name(str(table), str(column))
        if name not in have:
            con.execute(f'CREATE INDEX {name} ON identifiable."{table}" ("{column}")')
            made.append(name)
    return made


def drop(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the lookup indexes (before a bulk write; :func:`ensure` builds them again)."""
    names = con.execute(
        "SELECT index_name FROM duckdb_indexes() WHERE schema_name = 'identifiable' "
        "AND starts_with(index_name, 'ix_')"
    ).fetchall()
    for (name,) in names:
        con.execute(f"DROP INDEX identifiable.{name}")
