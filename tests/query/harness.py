"""Run definitions on small tables with every engine, for spec-style tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from fivesafes.model import TABLES, ColumnType
from fivesafes.query.dataset import Dataset, Measures
from fivesafes.query.engines import DuckDBEngine, SparkEngine, arrow_schema
from fivesafes.query.reference import ReferenceEngine
from fivesafes.store.database import analysis_ddl

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
    return ReloadableDuckDB().load(tables)


class ReloadableDuckDB:
    """One in-memory DuckDB laid out as the store's analysis layer (NULLs allowed anywhere),
    whose tables can be replaced: making a fresh database per example costs 100 ms."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute("CREATE SCHEMA analysis")
        for table in TABLES.values():
            self.con.execute(analysis_ddl(table).replace(" NOT NULL", ""))
        self._filled: set[str] = set()

    def load(self, tables: dict[str, pa.Table]) -> DuckDBEngine:
        """An engine over exactly ``tables`` (every other table empty)."""
        for name in self._filled:
            self.con.execute(f'DELETE FROM analysis."{name}"')
        for name, data in tables.items():
            self.con.register("incoming", data)
            self.con.execute(f'INSERT INTO analysis."{name}" SELECT * FROM incoming')
            self.con.unregister("incoming")
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
