"""Engines: run a compiled definition on DuckDB (the embedded default) or Apache Spark.

Both engines execute the same SQLGlot query, printed in their dialect, over tables
laid out by the data model, and return Arrow tables with the types the model and
the definition declare -- so their results can be compared value for value.

Extractions can be told which patients to leave out (``exclude``): the opt-outs
governance applies per purpose. They are removed from ``all_patients`` before
anything else is computed (an anti-join), so an excluded patient can never appear
in a row, a count or a measure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

import pyarrow as pa
from sqlglot import exp

from fivesafes.model import TABLES, ColumnType
from fivesafes.model.schema import DUCKDB_TYPES
from fivesafes.query.compiler import Compiler
from fivesafes.query.dataset import DatasetQuery, Measure, MeasureQuery

EXCLUDED = "excluded_patients"


def _excluded_table(patient_ids: Iterable[int]) -> pa.Table:
    return pa.table({"patient_id": pa.array(sorted(set(patient_ids)), pa.int64())})


def dataset_sql(
    query: DatasetQuery, schema: str | None, excluded: bool, dialect: str = "duckdb"
) -> exp.Select:
    """The one query extracting ``query``, for an engine speaking ``dialect``."""
    compiler = Compiler(
        lambda t: exp.table_(t, db=schema, quoted=True),
        EXCLUDED if excluded else None,
        dialect=dialect,
    )
    return compiler.dataset(query)


def measures_sql(
    query: MeasureQuery, schema: str | None, excluded: bool, dialect: str = "duckdb"
) -> list[exp.Select]:
    """The queries computing every measure: one per set of intervals (usually one), each
    computing all its intervals and all its measures in one pass over each table."""
    by_intervals: dict[tuple[tuple[date, date], ...], list[Measure]] = {}
    for measure in query.measures:
        by_intervals.setdefault(measure.intervals, []).append(measure)
    index = {measure.name: i for i, measure in enumerate(query.measures)}
    queries = []
    for intervals, measures in by_intervals.items():
        compiler = Compiler(
            lambda t: exp.table_(t, db=schema, quoted=True),
            EXCLUDED if excluded else None,
            intervals,
            dialect,
        )
        queries.append(compiler.measures(tuple(measures), [index[m.name] for m in measures]))
    return queries


class Engine(Protocol):
    name: str

    def explain(self, query: DatasetQuery) -> str: ...

    def dataset(self, query: DatasetQuery, exclude: Iterable[int] = ()) -> pa.Table: ...

    def measures(self, query: MeasureQuery, exclude: Iterable[int] = ()) -> pa.Table: ...


def _measures_table(tables: list[pa.Table]) -> pa.Table:
    """The measures' rows in definition order, each sorted by interval and group (NULL
    groups first, on every engine), with their ratio."""
    import pyarrow.compute as pc

    out = pa.concat_tables(tables, promote_options="default")
    keys = [n for n in out.column_names if n not in ("measure", "numerator", "denominator")]
    out = out.sort_by([(k, "ascending", "at_start") for k in keys])
    out = out.drop_columns(["measure_index"])
    ratio = pc.divide(
        pc.cast(out["numerator"], pa.float64()), pc.cast(out["denominator"], pa.float64())
    )
    return out.append_column("ratio", ratio)


class DuckDBEngine:
    """Runs definitions on a DuckDB connection whose ``schema`` holds the analysis tables."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, con: Any, schema: str | None = "analysis") -> None:
        self.con = con
        self.schema = schema

    def explain(self, query: DatasetQuery) -> str:
        return dataset_sql(query, self.schema, False).sql(self.dialect, pretty=True)

    def _run(self, sql: exp.Select, exclude: Iterable[int]) -> pa.Table:
        # A cursor of its own: the caller's connection may hold an unfinished result.
        con = self.con.cursor()
        try:
            con.register(EXCLUDED, _excluded_table(exclude))
            return con.sql(sql.sql(self.dialect)).to_arrow_table()
        finally:
            con.close()

    def dataset(self, query: DatasetQuery, exclude: Iterable[int] = ()) -> pa.Table:
        exclude = list(exclude)
        return self._run(dataset_sql(query, self.schema, bool(exclude)), exclude)

    def measures(self, query: MeasureQuery, exclude: Iterable[int] = ()) -> pa.Table:
        exclude = list(exclude)
        sqls = measures_sql(query, self.schema, bool(exclude), self.dialect)
        return _measures_table([self._run(sql, exclude) for sql in sqls])


ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.PATIENT_ID: pa.int64(),
    ColumnType.STRING: pa.string(),
    ColumnType.CODE: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.DATE: pa.date32(),
}


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a model table: how tables travel between engines."""
    return pa.schema([(c.name, ARROW_TYPES[c.type]) for c in TABLES[table].columns])


SPARK_TYPES = {
    "BIGINT": "BIGINT",
    "VARCHAR": "STRING",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
}


def spark_schema(table: str) -> str:
    """The Spark DDL schema of a model table."""
    return ", ".join(
        f"`{c.name}` {SPARK_TYPES[DUCKDB_TYPES[c.type]]}" for c in TABLES[table].columns
    )


class SparkEngine:
    """Runs definitions on a SparkSession whose temporary views hold the analysis tables
    (register them with :meth:`register`)."""

    name = "spark"
    dialect = "spark"

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def register(self, tables: dict[str, pa.Table]) -> None:
        """Make Arrow tables (laid out as the model says) the views queries read; tables
        not given are empty."""
        for name in TABLES:
            data = tables.get(name)
            data = arrow_schema(name).empty_table() if data is None else data
            frame = self.spark.createDataFrame(data, schema=spark_schema(name))
            frame.createOrReplaceTempView(name)

    def explain(self, query: DatasetQuery) -> str:
        return dataset_sql(query, None, False, self.dialect).sql(self.dialect, pretty=True)

    def _run(self, sql: exp.Select, exclude: Iterable[int]) -> pa.Table:
        ids = sorted(set(exclude))
        self.spark.createDataFrame(
            [(i,) for i in ids], schema="patient_id BIGINT"
        ).createOrReplaceTempView(EXCLUDED)
        return self.spark.sql(sql.sql(self.dialect)).toArrow()

    def dataset(self, query: DatasetQuery, exclude: Iterable[int] = ()) -> pa.Table:
        exclude = list(exclude)
        return self._run(dataset_sql(query, None, bool(exclude), self.dialect), exclude)

    def measures(self, query: MeasureQuery, exclude: Iterable[int] = ()) -> pa.Table:
        exclude = list(exclude)
        sqls = measures_sql(query, None, bool(exclude), self.dialect)
        return _measures_table([self._run(sql, exclude) for sql in sqls])
