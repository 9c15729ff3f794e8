"""Engines: run a compiled definition on DuckDB (the embedded default) or Apache Spark.

Both engines execute the same SQLGlot query, printed in their dialect, over tables
laid out by the data model, and return Arrow tables with the types the model and
the definition declare -- so their results can be compared value for value.

Extractions can be told which patients to leave out (``exclude``): the opt-outs
governance applies per purpose. They are removed from ``all_patients`` before
anything else is computed (an anti-join), so an excluded patient can never appear
in a row, a count or a measure.

DuckDB extracts a large population in parts: ``patient_id`` ranges of about
``part_patients`` patients each (equal widths between the lowest and highest id;
the store's ids are keyed hashes, spread evenly), one query per range with every
table read only within it. Every value is per patient, so the parts are exactly the
rows of the whole query; they come in patient order, and measures' numerators and
denominators, being counts, are summed across parts. Why: the grouped passes hold
one hash-table entry per patient, so one query over everyone needs memory growing
with the population, while a part needs the same memory however large the store --
and the store writes its tables in ``patient_id`` order, so a part reads only the row
groups of its range. The parts run side by side, as many at once as DuckDB has threads,
each query on one thread: on a small machine this is markedly faster than one query
at a time spread over every thread (a grouped pass's parallel build and merge cost
more than they gain). DuckDB would keep every table block it has read cached until
its ``memory_limit`` needs the room, so the memory of an extraction would grow with the
store after all: once an extraction has added ``CACHE_BYTES`` to the cache the
engine lets the parts in flight finish and empties it. The parts read different row
groups, so little is lost; emptying it more often costs time, as neighbouring parts
share some blocks.
Spark, over the store's Parquet export, runs in the same parts (see :class:`SparkEngine`).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
from sqlglot import exp

from fivesafes.model import TABLES, ColumnType
from fivesafes.model.schema import DUCKDB_TYPES
from fivesafes.query.compiler import INTERVAL_COLUMNS, Compiler, TableRef
from fivesafes.query.dataset import DatasetQuery, Measure, MeasureQuery
from fivesafes.query.model import Kind
from fivesafes.store.budget import size_bytes
from fivesafes.store.layout import PART_PATIENTS, Layout, PatientRange, patient_ranges
from fivesafes.store.literal import path_literal

EXCLUDED = "excluded_patients"
CACHE_BYTES = 64 * 2**20
"""Table blocks DuckDB may keep cached during an extraction in parts, in bytes (see the
module's docstring)."""
Bounds = tuple[exp.Expr, exp.Expr]
PART_BOUNDS: Bounds = (exp.Placeholder(this="low"), exp.Placeholder(this="high"))
"""The patient range of a part, as parameters: one query text serves every part."""


def _excluded_table(patient_ids: Iterable[int]) -> pa.Table:
    return pa.table({"patient_id": pa.array(sorted(set(patient_ids)), pa.int64())})


def _compiler(
    schema: str | None,
    excluded: bool,
    dialect: str,
    patients: Bounds | None,
    intervals: tuple[tuple[date, date], ...] = (),
    tables: TableRef | None = None,
) -> Compiler:
    """A compiler reading the model's tables from ``schema`` (None: unqualified names), or
    from what ``tables`` names for each."""
    return Compiler(
        tables or (lambda t: exp.table_(t, db=schema, quoted=True)),
        EXCLUDED if excluded else None,
        intervals,
        dialect,
        patients,
    )


def dataset_sql(
    query: DatasetQuery,
    schema: str | None,
    excluded: bool,
    dialect: str = "duckdb",
    patients: Bounds | None = None,
    tables: TableRef | None = None,
) -> exp.Select:
    """The query extracting ``query`` (for the patients between the ``patients`` bounds;
    None: everyone), for an engine speaking ``dialect``."""
    return _compiler(schema, excluded, dialect, patients, tables=tables).dataset(query)


def measures_sql(
    query: MeasureQuery,
    schema: str | None,
    excluded: bool,
    dialect: str = "duckdb",
    patients: Bounds | None = None,
    tables: TableRef | None = None,
) -> list[exp.Select]:
    """The queries computing every measure (over the patients between the ``patients``
    bounds; None: everyone): one per set of intervals (usually one), each computing all
    its intervals and all its measures in one pass over each table."""
    by_intervals: dict[tuple[tuple[date, date], ...], list[Measure]] = {}
    for measure in query.measures:
        by_intervals.setdefault(measure.intervals, []).append(measure)
    index = {measure.name: i for i, measure in enumerate(query.measures)}
    queries = []
    for intervals, measures in by_intervals.items():
        compiler = _compiler(schema, excluded, dialect, patients, intervals, tables)
        queries.append(compiler.measures(tuple(measures), [index[m.name] for m in measures]))
    return queries


class Engine(Protocol):
    name: str

    def dataset(self, query: DatasetQuery, exclude: Iterable[int] = ()) -> pa.Table: ...

    def measures(self, query: MeasureQuery, exclude: Iterable[int] = ()) -> pa.Table: ...


def measures_table(query: MeasureQuery, tables: list[pa.Table]) -> pa.Table:
    """The measures' rows in definition order, each sorted by interval and group (NULL
    groups first, on every engine), with their ratio (NULL where the denominators sum to
    zero: dividing by zero gives NULL). Group columns come in the order the measures first
    name them. A measure, interval and group found in several tables (parts of the
    population) is one row: the sum of its numerators and of its denominators."""
    import pyarrow.compute as pc

    out = pa.concat_tables(tables, promote_options="default")
    counts = ["numerator", "denominator"]
    groups = list(dict.fromkeys(g for ms in query.measures for g, _ in ms.group_by))
    keys = ["measure_index", *INTERVAL_COLUMNS, *groups]
    summed = out.group_by(["measure", *keys], use_threads=False).aggregate(
        [(c, "sum") for c in counts]
    )
    summed = summed.rename_columns([n.removesuffix("_sum") for n in summed.column_names])
    names = ["measure", *keys, *counts]  # any may be NULL, whatever an engine says
    out = summed.select(names).cast(
        pa.schema([out.schema.field(n).with_nullable(True) for n in names])
    )
    out = out.sort_by([(k, "ascending", "at_start") for k in keys])
    out = out.drop_columns(["measure_index"])
    numerator, denominator = (pc.cast(out[c], pa.float64()) for c in counts)
    zero = pc.equal(denominator, 0.0)
    ratio = pc.if_else(zero, pa.scalar(None, pa.float64()), pc.divide(numerator, denominator))
    return out.append_column("ratio", ratio)


def in_memory_store(tables: Mapping[str, pa.Table] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB laid out as the store's analysis layer, holding ``tables`` (the
    rest empty): for dummy data, test patients and tests. Missing values are allowed in
    every column -- what the store's loads refuse is their business, and an engine computes
    the same with or without the constraint."""
    from fivesafes.store.database import analysis_ddl

    con = duckdb.connect()
    con.execute("CREATE SCHEMA analysis")
    for table in TABLES.values():
        con.execute(analysis_ddl(table).replace(" NOT NULL", ""))
    fill(con, tables or {})
    return con


def fill(con: duckdb.DuckDBPyConnection, tables: Mapping[str, pa.Table]) -> None:
    """Put ``tables`` into an in-memory store (see :func:`in_memory_store`) in place of the
    rows those tables held."""
    for name, data in tables.items():
        con.execute(f'DELETE FROM analysis."{name}"')
        con.register("incoming", data)
        con.execute(f'INSERT INTO analysis."{name}" SELECT * FROM incoming')
        con.unregister("incoming")


class DuckDBEngine:
    """Runs definitions on a DuckDB connection whose ``schema`` holds the analysis tables."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(
        self, con: Any, schema: str | None = "analysis", part_patients: int = PART_PATIENTS
    ) -> None:
        self.con = con
        self.schema = schema
        self.part_patients = part_patients

    @classmethod
    def over_layout(cls, layout: Layout, part_patients: int = PART_PATIENTS) -> DuckDBEngine:
        """An engine reading an export of the store (:mod:`fivesafes.store.layout`): views
        over its Parquet files in a fresh in-memory database, so DuckDB and Spark can be
        run on the very same files."""
        con = duckdb.connect()
        con.execute("CREATE SCHEMA analysis")
        for name in TABLES:
            files = ", ".join(path_literal(p) for p in layout.files(name))
            con.execute(f'CREATE VIEW analysis."{name}" AS SELECT * FROM read_parquet([{files}])')
        return cls(con, "analysis", part_patients)

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        """A cursor of its own: the caller's connection may hold an unfinished result, and
        parts run on several threads at once."""
        con = self.con.cursor()
        try:
            yield con
        finally:
            con.close()

    def _setting(self, name: str) -> str:
        with self._cursor() as con:
            return str(con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0])

    def _run(self, sql: str, excluded: pa.Table, patients: PatientRange | None = None) -> pa.Table:
        with self._cursor() as con:
            con.register(EXCLUDED, excluded)
            bounds = None if patients is None else {"low": patients[0], "high": patients[1]}
            return con.sql(sql, params=bounds).to_arrow_table()

    def parts(self) -> list[PatientRange | None]:
        """The patient ranges to extract one at a time; ``[None]`` (everyone in one query)
        when the store holds at most ``part_patients`` patients."""
        patient_id = exp.column("patient_id")
        stats = exp.select(
            exp.Count(this=exp.Star()), exp.Min(this=patient_id), exp.Max(this=patient_id.copy())
        ).from_(exp.table_("patients", db=self.schema, quoted=True))
        with self._cursor() as con:
            count, low, high = con.execute(stats.sql(self.dialect)).fetchall()[0]
        if count <= self.part_patients:
            return [None]
        return list(patient_ranges(count, low, high, self.part_patients))

    def _in_parts(
        self, build: Callable[[Bounds | None], list[exp.Select]], exclude: list[int]
    ) -> Iterator[pa.Table]:
        """The results of ``build``'s queries, part after part (each query printed once,
        its part's range bound as parameters); several parts run at once, see the
        module's docstring."""
        parts = self.parts()
        excluded = _excluded_table(exclude)  # made once, registered with every part's query
        if parts == [None]:
            for whole in build(None):
                yield self._run(whole.sql(self.dialect), excluded)
            return
        sqls = [part.sql(self.dialect) for part in build(PART_BOUNDS)]
        runs = [(sql, patients) for patients in parts for sql in sqls]
        with self._one_thread_per_query() as workers, ThreadPoolExecutor(workers) as pool:
            # Twice as many queries queued as run, so a thread that finishes is never left
            # waiting behind a slower part; no more, as results wait to be taken and
            # submitting every part at once would hold them all.
            ahead = 2 * workers
            pending: deque[Future[pa.Table]] = deque()
            before = self._cached()  # blocks already cached stay, unless we must empty it
            for text, patients in runs:
                if self._cached() > before + CACHE_BYTES:
                    while pending:  # the cache is emptied while no query runs
                        yield pending.popleft().result()
                    self._drop_cache()
                    before = self._cached()
                pending.append(pool.submit(self._run, text, excluded, patients))
                if len(pending) == ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    @contextmanager
    def _one_thread_per_query(self) -> Iterator[int]:
        """How many queries to run at once (DuckDB's ``threads``), with ``threads`` set to
        1 meanwhile. The setting belongs to the database, not the connection: it is put
        back afterwards. (So two extractions in parts on one database from several threads
        at once could leave it at 1: one saves the other's 1. fivesafes never does that:
        each ``generate-dataset`` or ``generate-measures`` opens its own database, and
        dummy data makes its own.)"""
        threads = int(self._setting("threads"))
        with self._cursor() as con:
            con.execute("SET threads = 1")
        try:
            yield threads
        finally:
            with self._cursor() as con:
                con.execute(f"SET threads = {threads}")

    def _cached(self) -> int:
        """Bytes of table blocks DuckDB holds in memory now."""
        blocks = "SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"
        with self._cursor() as con:
            return int(con.execute(blocks).fetchall()[0][0] or 0)

    def _drop_cache(self) -> None:
        """Evict the table blocks DuckDB keeps cached, while no query runs: lowering
        ``memory_limit`` to a few MiB makes it evict them, and the limit is put back at
        once. The blocks of the parts done are of little use to the next (each part
        reads its own row groups)."""
        limit = size_bytes(self._setting("memory_limit"))
        with self._cursor() as con:
            # If something else holds the memory (another connection's query), it stays.
            with suppress(duckdb.Error):
                con.execute(f"SET memory_limit = '{min(CACHE_BYTES // 4, limit)}B'")
            con.execute(f"SET memory_limit = '{limit}B'")

    def dataset_parts(self, query: DatasetQuery, exclude: Iterable[int] = ()) -> Iterator[pa.Table]:
        """The dataset's rows, part by part in ``patient_id`` order (for writing out as
        they come, without holding every row)."""
        exclude = list(exclude)
        return self._in_parts(
            lambda bounds: [dataset_sql(query, self.schema, bool(exclude), patients=bounds)],
            exclude,
        )

    def dataset(self, query: DatasetQuery, exclude: Iterable[int] = ()) -> pa.Table:
        return pa.concat_tables(self.dataset_parts(query, exclude))

    def measures_parts(
        self, query: MeasureQuery, exclude: Iterable[int] = ()
    ) -> Iterator[pa.Table]:
        """The measures' sums over each part of the population, before they are added up
        (see :func:`measures_table`)."""
        exclude = list(exclude)
        build = partial(measures_sql, query, self.schema, bool(exclude), self.dialect)
        return self._in_parts(build, exclude)

    def measures(self, query: MeasureQuery, exclude: Iterable[int] = ()) -> pa.Table:
        return measures_table(query, list(self.measures_parts(query, exclude)))


ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.PATIENT_ID: pa.int64(),
    ColumnType.STRING: pa.string(),
    ColumnType.CODE: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.DATE: pa.date32(),
}


ARROW_KINDS: dict[Kind, pa.DataType] = {
    Kind.BOOL: pa.bool_(),
    Kind.INT: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.STR: pa.string(),
    Kind.CODE: pa.string(),
    Kind.DATE: pa.date32(),
}
"""The Arrow type of each kind of value in a result: what every engine gives."""


def dataset_schema(query: DatasetQuery) -> pa.Schema:
    """The Arrow schema of a dataset's rows: ``patient_id``, then its columns."""
    columns = [(name, ARROW_KINDS[series.kind]) for name, series in query.columns]
    return pa.schema([("patient_id", pa.int64()), *columns])


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


def spark_unavailable() -> str | None:
    """Why Spark cannot run here (pyspark missing, no Java), or None when it can."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'fivesafes[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime: install one (Debian: default-jre-headless) or set JAVA_HOME"
    return None


def spark_session(app_name: str = "fivesafes") -> Any:
    """The Spark session of this process, made on first use: on ``FIVESAFES_SPARK_MASTER``
    (default ``local[*]``, this machine's cores)."""
    from pyspark.sql import SparkSession

    master = os.environ.get("FIVESAFES_SPARK_MASTER", "local[*]")
    builder = SparkSession.builder.master(master).appName(app_name)
    session = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkEngine:
    """Runs definitions on a SparkSession: over temporary views of Arrow tables
    (:meth:`register`), or over the store's Parquet export (:meth:`read_layout`).

    Over an export of several patient ranges it runs like DuckDB, in parts: one query a
    range, reading only that range's files, several at once (as many as the cluster has
    cores), the results concatenated in range order and measures' counts summed. Each part
    is small enough for one task a stage (``spark.sql.shuffle.partitions`` is 1), so no
    task waits on a shuffle across the whole population, and a cluster with more workers
    runs more parts at once. ``parts=False`` runs each definition as one query over every
    file instead (shuffle partitions then one a part), for comparison.
    """

    name = "spark"
    dialect = "spark"

    def __init__(self, spark: Any, parts: bool = True) -> None:
        self.spark = spark
        self.parts = parts
        self._ranges = 0

    def register(self, tables: dict[str, pa.Table], others_empty: bool = True) -> None:
        """Make Arrow tables (laid out as the model says) the views queries read; tables
        not given are empty (or, without ``others_empty``, left as they were: making a
        view costs a fifth of a second, which adds up over many small test runs)."""
        for name in TABLES if others_empty else tables:
            data = tables.get(name)
            data = arrow_schema(name).empty_table() if data is None else data
            frame = self.spark.createDataFrame(data, schema=spark_schema(name))
            frame.createOrReplaceTempView(name)
        self._ranges = 0

    def read_layout(self, layout: Layout) -> None:
        """Make an export of the store (:mod:`fivesafes.store.layout`) what queries read:
        Spark reads the very Parquet files, with the model's schema, no conversion -- all of
        each table as view ``<table>``, and each range's files as view ``<table>__p<k>``."""
        for name in TABLES:
            files = layout.files(name)
            self._view(name, files)
            keyed = "patient_id" in TABLES[name].column_names
            for index in range(len(layout.ranges)):
                self._view(_part_view(name, index), [files[index if keyed else 0]])
        self._ranges = len(layout.ranges)
        # Spark's default of 200 shuffle partitions turns each grouped pass over a small
        # machine's data into 200 tiny tasks: a part needs one; a whole query one a part.
        in_parts = self.parts and self._ranges > 1
        partitions = 1 if in_parts else max(self._cores(), self._ranges)
        self.spark.conf.set("spark.sql.shuffle.partitions", str(partitions))

    def _view(self, name: str, files: list[Path]) -> None:
        frame = self.spark.read.schema(spark_schema(_table_of(name))).parquet(*map(str, files))
        frame.createOrReplaceTempView(name)

    def _cores(self) -> int:
        return int(self.spark.sparkContext.defaultParallelism)

    def _in_parts(
        self, build: Callable[[TableRef | None], list[exp.Select]], exclude: list[int]
    ) -> Iterator[pa.Table]:
        """The results of ``build``'s queries, over everything or range by range (several
        ranges at once, results in range order; see the class docstring)."""
        ids = sorted(set(exclude))
        self.spark.createDataFrame(
            [(i,) for i in ids], schema="patient_id BIGINT"
        ).createOrReplaceTempView(EXCLUDED)
        if not self.parts or self._ranges <= 1:
            for sql in build(None):
                yield self._sql(sql)
            return
        runs = [sql for index in range(self._ranges) for sql in build(_part_tables(index))]
        workers = self._cores()
        with ThreadPoolExecutor(workers) as pool:
            pending: deque[Future[pa.Table]] = deque()
            for sql in runs:  # queued two a core ahead, as DuckDB's parts are
                pending.append(pool.submit(self._sql, sql))
                if len(pending) == 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _sql(self, sql: exp.Select) -> pa.Table:
        return self.spark.sql(sql.sql(self.dialect)).toArrow()

    def dataset(self, query: DatasetQuery, exclude: Iterable[int] = ()) -> pa.Table:
        exclude = list(exclude)

        def build(tables: TableRef | None) -> list[exp.Select]:
            return [dataset_sql(query, None, bool(exclude), self.dialect, tables=tables)]

        return pa.concat_tables(self._in_parts(build, exclude))

    def measures(self, query: MeasureQuery, exclude: Iterable[int] = ()) -> pa.Table:
        exclude = list(exclude)

        def build(tables: TableRef | None) -> list[exp.Select]:
            return measures_sql(query, None, bool(exclude), self.dialect, tables=tables)

        return measures_table(query, list(self._in_parts(build, exclude)))


PART_VIEW = "__p"


def _part_view(table: str, index: int) -> str:
    """The view of one patient range's rows of ``table``."""
    return f"{table}{PART_VIEW}{index}"


def _part_tables(index: int) -> TableRef:
    """Where a part's query reads each table: that range's view of it."""

    def table(name: str) -> exp.Expr:
        return exp.table_(_part_view(name, index), quoted=True)

    return table


def _table_of(view: str) -> str:
    return view.partition(PART_VIEW)[0]
