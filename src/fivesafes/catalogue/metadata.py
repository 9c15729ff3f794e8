"""What is in the store, described so a person can decide whether it answers their question.

Descriptions and columns come from the model; counts, date coverage and
completeness are measured from the analysis layer (the only layer analysts
see); load history comes from the store's own record of loads. Nothing here
reads the identifiable layer, so the catalogue is safe to publish.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime

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
    completeness: float | None
    """Share of rows with a value (0-1); None when the table is empty."""


@dataclass(frozen=True, slots=True)
class DatasetEntry:
    name: str
    description: str
    kind: str
    source: str
    consent_required: bool
    rows: int
    patients: int | None
    first_date: date | None
    last_date: date | None
    columns: tuple[ColumnEntry, ...]


@dataclass(frozen=True, slots=True)
class LoadEntry:
    load_id: str
    finished_at: datetime
    files: tuple[str, ...]
    totals: dict[str, int]


@dataclass(frozen=True, slots=True)
class Catalogue:
    datasets: tuple[DatasetEntry, ...]
    loads: tuple[LoadEntry, ...]

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)


def _describe(con: duckdb.DuckDBPyConnection, table: Table) -> DatasetEntry:
    dates = [c.name for c in table.columns if c.type is ColumnType.DATE]
    measures = [f'count("{c}")' for c in table.column_names]
    if table.is_patient_level:
        measures.append("count(DISTINCT patient_id)")
    if dates:
        measures += [f'min("{dates[0]}")', f'max("{dates[0]}")']
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
        first,
        last,
        columns,
    )


def build_catalogue(con: duckdb.DuckDBPyConnection) -> Catalogue:
    """The catalogue of every model table, measured now."""
    datasets = tuple(_describe(con, t) for t in TABLES.values())
    loads = []
    for load_id, finished, files, summary in con.execute(
        "SELECT load_id, finished_at, files, summary FROM meta.loads ORDER BY finished_at"
    ).fetchall():
        totals: dict[str, int] = {}
        for counts in orjson.loads(summary)["counts"].values():
            for outcome, n in counts.items():
                totals[outcome] = totals.get(outcome, 0) + n
        loads.append(LoadEntry(load_id, finished, tuple(files), totals))
    return Catalogue(datasets, tuple(loads))
