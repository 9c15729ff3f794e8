"""Commands for studies: generate-dataset, generate-measures, explain."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from fivesafes.cli.common import DataDirOption, app, console, err, fail, print_code, progress_bar

EngineOption = Annotated[str, typer.Option("--engine", help="duckdb (default) or spark")]
DummyOption = Annotated[bool, typer.Option("--dummy", help="Make up data that fits the definition")]
DummyPatientsOption = Annotated[
    int | None, typer.Option("--dummy-patients", help="How many dummy patients")
]
OutputOption = Annotated[
    Path, typer.Option("--output", help="File to write: .parquet, .csv, .arrow or .feather")
]


def _engine(name: str, data_dir: Path | None) -> tuple[Any, Any]:
    """The engine over the store, and the store to close afterwards."""
    from fivesafes.query.engines import DuckDBEngine, SparkEngine
    from fivesafes.store.config import DataDir
    from fivesafes.store.database import Store

    if name not in ("duckdb", "spark"):
        raise fail(f"unknown engine {name!r}: choose duckdb or spark")
    try:
        store = Store.open(DataDir.from_env(data_dir), read_only=True)
    except FileNotFoundError as e:
        raise fail(str(e)) from None
    if name == "duckdb":
        return DuckDBEngine(store.con), store
    from pyspark.sql import SparkSession

    from fivesafes.model import TABLES

    master = os.environ.get("FIVESAFES_SPARK_MASTER", "local[*]")
    builder = SparkSession.builder.master(master).appName("fivesafes")
    spark = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    engine = SparkEngine(spark)
    reader = store.con.cursor()  # the store's own connection may hold an unfinished result
    engine.register(
        {t: reader.sql(f'SELECT * FROM analysis."{t}"').to_arrow_table() for t in TABLES}
    )
    return engine, store


def _load(loader: Any, study: Path) -> Any:
    from fivesafes.query.study import StudyError

    try:
        return loader(study)
    except StudyError as e:
        raise fail(str(e)) from None


def _compute(
    label: str,
    dummy: bool,
    make_up: Callable[[], Any],
    on_store: Callable[[Any], Any],
    engine: str,
    data_dir: Path | None,
) -> Any:
    """Run ``make_up()`` (dummy data) or ``on_store(engine)`` (the store) under a progress bar;
    a definition the dummy generator cannot satisfy is the user's error, not a traceback."""
    from fivesafes.query.errors import DefinitionError

    with progress_bar() as progress:
        task = progress.add_task(f"{label} dummy data" if dummy else label, total=1)
        if dummy:
            try:
                table = make_up()
            except DefinitionError as e:
                raise fail(str(e)) from None
        else:
            runner, store = _engine(engine, data_dir)
            try:
                table = on_store(runner)
            finally:
                store.close()
        progress.advance(task)
    return table


def _write(parts: Any, output: Path) -> int:
    """Write a table, or its parts as they come; the rows written."""
    from fivesafes.query.study import StudyError, write_tables

    try:
        return write_tables(parts, output)
    except StudyError as e:
        raise fail(str(e)) from None


@app.command("generate-dataset")
def generate_dataset_command(
    study: Annotated[Path, typer.Argument(help="The study file defining `dataset`")],
    output: OutputOption,
    dummy: DummyOption = False,
    dummy_patients: DummyPatientsOption = None,
    engine: EngineOption = "duckdb",
    data_dir: DataDirOption = None,
) -> None:
    """Run a dataset definition on the store (or on dummy data) and write one row per patient."""
    from fivesafes.query.study import load_dataset

    query = _load(load_dataset, study)
    from fivesafes.query.dummy import dummy_dataset  # the engines: after a mistake is reported

    if not dummy and engine == "duckdb":
        rows = _extract_in_parts(query, output, data_dir)
    else:
        table = _compute(
            "extracting",
            dummy,
            lambda: dummy_dataset(query, dummy_patients),
            lambda runner: runner.dataset(query),
            engine,
            data_dir,
        )
        rows = _write([table], output)
    err.print(f"wrote {rows:,} patients x {len(query.columns)} columns to {output}")


def _extract_in_parts(query: Any, output: Path, data_dir: Path | None) -> int:
    """DuckDB extracts a large store in patient ranges: each part is written as it comes, so
    neither the query nor the result holds the whole population in memory."""
    runner, store = _engine("duckdb", data_dir)
    try:
        with progress_bar() as progress:
            task = progress.add_task("extracting", total=len(runner.parts()))

            def parts() -> Any:
                for part in runner.dataset_parts(query):
                    yield part
                    progress.advance(task)

            return _write(parts(), output)
    finally:
        store.close()


@app.command("generate-measures")
def generate_measures_command(
    study: Annotated[Path, typer.Argument(help="The study file defining `measures`")],
    output: OutputOption,
    dummy: DummyOption = False,
    dummy_patients: DummyPatientsOption = None,
    engine: EngineOption = "duckdb",
    data_dir: DataDirOption = None,
) -> None:
    """Compute every measure for every interval and group (measures sharing intervals in one
    query, all intervals in one pass), on the store or on dummy data."""
    from fivesafes.query.study import load_measures

    query = _load(load_measures, study)
    from fivesafes.query.dummy import dummy_measures  # the engines: after a mistake is reported

    table = _compute(
        "measuring",
        dummy,
        lambda: dummy_measures(query, dummy_patients),
        lambda runner: runner.measures(query),
        engine,
        data_dir,
    )
    _write([table], output)
    err.print(f"wrote {table.num_rows:,} rows of {len(query.measures)} measures to {output}")


@app.command("explain")
def explain_command(
    study: Annotated[Path, typer.Argument(help="The study file defining `dataset`")],
    engine: Annotated[str, typer.Option("--engine", help="duckdb, spark or all")] = "all",
) -> None:
    """Print the SQL each engine runs for a dataset definition."""
    from fivesafes.query.engines import dataset_sql
    from fivesafes.query.study import load_dataset

    query = _load(load_dataset, study)
    dialects = {"duckdb": ("duckdb", "analysis"), "spark": ("spark", None)}
    chosen = list(dialects) if engine == "all" else [engine]
    for name in chosen:
        if name not in dialects:
            raise fail(f"unknown engine {name!r}: choose duckdb, spark or all")
        dialect, schema = dialects[name]
        sql = dataset_sql(query, schema, excluded=False, dialect=dialect).sql(dialect, pretty=True)
        console.print(Text(f"-- {name}", style="bold"))
        print_code(sql, "sql")
