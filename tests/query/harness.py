"""Run definitions on small tables with every engine, for spec-style tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from fivesafes.model import TABLES, ColumnType
from fivesafes.query.dataset import Dataset, Measures
from fivesafes.query.engines import (
    DuckDBEngine,
    SparkEngine,
    arrow_schema,
    fill,
    in_memory_store,
)
from fivesafes.query.reference import ReferenceEngine

Rows = dict[str, list[dict[str, Any]]]


def _value(kind: ColumnType, value: Any) -> Any:
    """ISO strings stand for dates in test tables, for brevity."""
    return (
        date.fromisoformat(value) if kind is ColumnType.DATE and isinstance(value, str) else value
    )


def arrow_tables(rows: Rows) -> dict[str, pa.Table]:
    """Arrow tables laid out as the model says; columns not given are NULL."""
    out = {}
    for name, records in rows.items():
        table = TABLES[name]
        schema = arrow_schema(name)
        full = [{c.name: _value(c.type, r.get(c.name)) for c in table.columns} for r in records]
        out[name] = pa.Table.from_pylist(full, schema=schema)
    return out


def duckdb_engine(tables: dict[str, pa.Table]) -> DuckDBEngine:
    return DuckDBEngine(in_memory_store(tables))


class ReloadableDuckDB:
    """One in-memory store whose tables are replaced for each example: making a fresh
    database per example costs 100 ms."""

    def __init__(self) -> None:
        self.con = in_memory_store()
        self._filled: set[str] = set()

    def load(self, tables: dict[str, pa.Table]) -> DuckDBEngine:
        """An engine over exactly ``tables`` (every other table empty)."""
        empty = {n: arrow_schema(n).empty_table() for n in self._filled - set(tables)}
        fill(self.con, {**empty, **tables})
        self._filled = set(tables)
        return DuckDBEngine(self.con)


Engine = DuckDBEngine | SparkEngine | ReferenceEngine


def make_engine(kind: str, rows: Rows, spark: Any = None) -> Engine:
    tables = arrow_tables(rows)
    if kind == "reference":
        return ReferenceEngine(tables)
    if kind == "duckdb":
        return duckdb_engine(tables)
    engine = SparkEngine(spark)
    engine.register(tables)
    return engine


def run(engine: Engine, dataset: Dataset, exclude: Any = ()) -> list[dict]:
    return engine.dataset(dataset.query(), exclude=exclude).to_pylist()


def run_measures(engine: Engine, measures: Measures) -> list[dict]:
    return engine.measures(measures.query()).to_pylist()
