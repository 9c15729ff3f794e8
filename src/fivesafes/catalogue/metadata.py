"""What is in the store, measured so a person can decide whether it answers their question.

Descriptions and columns come from the model; counts, date coverage and completeness are
measured from the analysis layer (the only layer analysts see); load history comes from the
store's own record of loads. Nothing here reads the identifiable layer. The measurements are
exact: they are what a data custodian sees. What anyone else sees — counts rounded and
suppressed, coverage in months — is decided by the environment with the disclosure rules
(``fivesafes.environment.catalogue``), from these measurements and the monthly and per-code
counts measured here too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import duckdb
import orjson

from fivesafes.model import TABLES, ColumnType, Table


@dataclass(frozen=True, slots=True)
class ColumnEntry:
    name: str
    type: str
    description: str
    nullable: bool
    code_system: str | None
    filled: int | None
    """Rows with a value; None when not shown (suppressed)."""
    completeness: float | None
    """Share of rows with a value (0-1); None when the table is empty or a count is hidden."""


@dataclass(frozen=True, slots=True)
class DatasetEntry:
    name: str
    description: str
    kind: str
    source: str
    consent_required: bool
    rows: int | None
    patients: int | None
    """People in the table (None for a table not about people, or when suppressed)."""
    first: str | None
    last: str | None
    """Date coverage: exact first and last dates, or in a public view the first and last
    month holding enough people to show."""
    columns: tuple[ColumnEntry, ...]
    suppressed: tuple[str, ...] = ()
    """The counts a public view hides for being under the threshold."""


@dataclass(frozen=True, slots=True)
class LoadEntry:
    load_id: str
    finished_at: datetime
    files: tuple[str, ...]
    """The files loaded (a custodian's paths; a public view lists none, only how many)."""
    file_count: int
    totals: dict[str, int | None]


@dataclass(frozen=True, slots=True)
class Catalogue:
    datasets: tuple[DatasetEntry, ...]
    loads: tuple[LoadEntry, ...]
    view: str = "custodian"
    """``custodian`` (exact counts and dates) or ``public`` (rounded, suppressed, months)."""
    profile: str | None = None
    """The disclosure profile a public view was made with."""

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)


def date_column(table: Table) -> str | None:
    """The date a table's coverage is measured on: its first date column."""
    return next((c.name for c in table.columns if c.type is ColumnType.DATE), None)


def _describe(con: duckdb.DuckDBPyConnection, table: Table) -> DatasetEntry:
    dates = date_column(table)
    measures = [f'count("{c}")' for c in table.column_names]
    if table.is_patient_level:
        measures.append("count(DISTINCT patient_id)")
    if dates:
        measures += [f'min("{dates}")', f'max("{dates}")']
    values = con.execute(
        f"SELECT count(*), {', '.join(measures)} FROM analysis.{table.name}"
    ).fetchone()
    assert values is not None
    rows, rest = values[0], list(values[1:])
    filled, rest = rest[: len(table.columns)], rest[len(table.columns) :]
    patients = rest.pop(0) if table.is_patient_level else None
    first, last = (rest[0], rest[1]) if dates else (None, None)
    columns = tuple(
        ColumnEntry(
            c.name,
            c.type.value,
            c.description,
            c.nullable,
            c.code_system.value if c.code_system else None,
            n,
            (n / rows) if rows else None,
        )
        for c, n in zip(table.columns, filled, strict=True)
    )
    return DatasetEntry(
        table.name,
        table.description,
        table.kind.value,
        table.source,
        table.consent_required,
        rows,
        patients,
        None if first is None else first.isoformat(),
        None if last is None else last.isoformat(),
        columns,
    )


def build_catalogue(con: duckdb.DuckDBPyConnection) -> Catalogue:
    """The catalogue of every model table, measured now, exactly."""
    datasets = tuple(_describe(con, t) for t in TABLES.values())
    loads = []
    for load_id, finished, files, summary in con.execute(
        "SELECT load_id, finished_at, files, summary FROM meta.loads ORDER BY finished_at"
    ).fetchall():
        totals: dict[str, int | None] = {}
        for counts in orjson.loads(summary)["counts"].values():
            for outcome, n in counts.items():
                totals[outcome] = (totals.get(outcome) or 0) + n
        loads.append(LoadEntry(load_id, finished, tuple(files), len(files), totals))
    return Catalogue(datasets, tuple(loads))


def monthly_counts(con: duckdb.DuckDBPyConnection, table: Table) -> list[tuple[str, int]]:
    """People (rows, for a table not about people) in each month of a table's coverage date."""
    dates = date_column(table)
    if dates is None:
        return []
    who = "count(DISTINCT patient_id)" if table.is_patient_level else "count(*)"
    rows = con.execute(
        f"""SELECT strftime(date_trunc('month', "{dates}"), '%Y-%m'), {who}
            FROM analysis.{table.name} WHERE "{dates}" IS NOT NULL GROUP BY 1"""
    ).fetchall()
    return [(str(month), int(n)) for month, n in rows]


@dataclass(frozen=True, slots=True)
class CodeCount:
    """How often one code occurs in one column: its rows, and the people they are about."""

    code: str
    records: int
    patients: int


def code_counts(con: duckdb.DuckDBPyConnection, table: Table, column: str) -> list[CodeCount]:
    """Every code a coded column of a patient-level table holds, most people first."""
    rows = con.execute(
        f"""SELECT CAST("{column}" AS VARCHAR), count(*), count(DISTINCT patient_id)
            FROM analysis.{table.name} WHERE "{column}" IS NOT NULL
            GROUP BY 1 ORDER BY 3 DESC, 1"""
    ).fetchall()
    return [CodeCount(code, int(records), int(people)) for code, records, people in rows]
