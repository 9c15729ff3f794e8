"""What runs inside the two sandboxes of an extraction (see :mod:`.extract`): the environment's
own code, started as ``python -I -m fivesafes.jobs.steps`` so nothing in the workspace can be
imported in its place.

``evaluate KIND STUDY MODEL`` runs a definition under the definition language's restrictions and
writes its query model (or what was wrong with it) beside ``MODEL``; there is no data in reach.
``extract MODEL OUTPUT [--store COPY]`` reads that model, never through a link, and writes the
extraction from the cut copy of the store, or dummy data where there is none.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fivesafes.jobs.extract import ENGINES, ERROR_FILE, KINDS, read_plain
from fivesafes.store.literal import path_literal


def _evaluate(kind: str, study: str, model: Path) -> int:
    from fivesafes.query import serial
    from fivesafes.query.study import StudyError, load_dataset, load_measures

    try:
        query = (load_dataset if kind == "dataset" else load_measures)(Path(study))
    except StudyError as exc:
        (model.parent / ERROR_FILE).write_text(str(exc), encoding="utf-8")
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model.write_bytes(serial.dumps(query))
    return 0


def spark_engine(con: Any) -> Any:
    """Spark over a store's analysis tables (read from ``con``): the scale-out engine."""
    from pyspark.sql import SparkSession

    from fivesafes.model import TABLES
    from fivesafes.query.engines import SparkEngine

    master = os.environ.get("FIVESAFES_SPARK_MASTER", "local[*]")
    builder = SparkSession.builder.master(master).appName("fivesafes")
    spark = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    engine = SparkEngine(spark)
    reader = con.cursor()  # the store's own connection may hold an unfinished result
    engine.register(
        {t: reader.sql(f'SELECT * FROM analysis."{t}"').to_arrow_table() for t in TABLES}
    )
    return engine


@contextmanager
def opened_copy(path: Path) -> Iterator[Any]:
    """A read-only connection to a cut copy of the store, spilling to a private temporary
    folder (the copy's own folder may not be writable, and is nobody else's business)."""
    import duckdb

    spill = tempfile.mkdtemp(prefix="fivesafes-duckdb-")
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute(f"SET temp_directory = {path_literal(spill)}")
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def run_query(query: Any, con: Any, engine: str) -> Iterator[Any]:
    """The rows of a query model over a store's connection, in parts as DuckDB makes them."""
    from fivesafes.query.dataset import DatasetQuery
    from fivesafes.query.engines import DuckDBEngine

    if engine == "spark":
        runner = spark_engine(con)
        yield runner.dataset(query) if isinstance(query, DatasetQuery) else runner.measures(query)
        return
    duck = DuckDBEngine(con)
    if isinstance(query, DatasetQuery):
        yield from duck.dataset_parts(query)
    else:
        yield duck.measures(query)


def _extract(
    model: Path, output: str, store: str | None, engine: str, dummy_patients: int | None
) -> int:
    from fivesafes.query import serial
    from fivesafes.query.dataset import DatasetQuery
    from fivesafes.query.dummy import dummy_dataset, dummy_measures
    from fivesafes.query.errors import DefinitionError
    from fivesafes.query.study import StudyError, write_tables

    text = read_plain(model, serial.MAX_BYTES + 1)
    if text is None:
        print(
            f"error: {model} is not a plain file: the definition made no query model",
            file=sys.stderr,
        )
        return 2
    try:
        query = serial.loads(text)
    except serial.SerialError as exc:
        print(f"error: the query model cannot be read: {exc}", file=sys.stderr)
        return 2
    try:
        if store is None:
            make = dummy_dataset if isinstance(query, DatasetQuery) else dummy_measures
            rows = write_tables([make(query, dummy_patients)], Path(output))  # type: ignore[arg-type]
        else:
            with opened_copy(Path(store)) as con:
                rows = write_tables(run_query(query, con, engine), Path(output))
    except (StudyError, DefinitionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {rows:,} rows to {output}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fivesafes.jobs.extract")
    steps = parser.add_subparsers(dest="step", required=True)
    evaluate = steps.add_parser("evaluate")
    evaluate.add_argument("kind", choices=sorted(set(KINDS.values())))
    evaluate.add_argument("study")
    evaluate.add_argument("model", type=Path)
    extract = steps.add_parser("extract")
    extract.add_argument("model", type=Path)
    extract.add_argument("output")
    extract.add_argument("--store")
    extract.add_argument("--engine", choices=ENGINES, default="duckdb")
    extract.add_argument("--dummy-patients", type=int)
    args = parser.parse_args(argv)
    if args.step == "evaluate":
        return _evaluate(args.kind, args.study, args.model)
    return _extract(args.model, args.output, args.store, args.engine, args.dummy_patients)


if __name__ == "__main__":
    sys.exit(main())
