"""Commands for studies: generate-dataset, generate-measures, explain.

A definition runs on dummy data anywhere; on real data it runs only inside the environment: in a
submitted job, or for a data custodian's own extract (:mod:`fivesafes.environment.extraction`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from fivesafes.cli.common import (
    DataDirOption,
    TokenOption,
    app,
    console,
    err,
    fail,
    print_code,
    progress_bar,
)

EngineOption = Annotated[str, typer.Option("--engine", help="duckdb (default) or spark")]
DummyOption = Annotated[bool, typer.Option("--dummy", help="Make up data that fits the definition")]
DummyPatientsOption = Annotated[
    int | None, typer.Option("--dummy-patients", help="How many dummy patients")
]
OutputOption = Annotated[
    Path, typer.Option("--output", help="File to write: .parquet, .csv, .arrow or .feather")
]


PurposeOption = Annotated[
    str,
    typer.Option("--purpose", help="Why (decides whose opt-outs apply): research, planning, ..."),
]
"""A word, read as a governance Purpose only when a custodian extracts (so that ``--help`` and
a dummy run never import the control plane)."""


def _load(loader: Any, study: Path) -> Any:
    from fivesafes.query.study import StudyError

    try:
        return loader(study)
    except StudyError as e:
        raise fail(str(e)) from None


def _write_dummy(kind: str, study: Path, output: Path, patients: int | None) -> int:
    """A definition's dummy data, as an analyst makes it on their own machine (restricted like
    any evaluation of a definition, and no data anywhere near)."""
    from fivesafes.query.errors import DefinitionError
    from fivesafes.query.study import StudyError, load_dataset, load_measures, write_tables

    query = _load(load_dataset if kind == "dataset" else load_measures, study)
    from fivesafes.query.dummy import dummy_dataset, dummy_measures  # after a mistake is reported

    with progress_bar() as progress:
        task = progress.add_task("making dummy data", total=1)
        try:
            table = (dummy_dataset if kind == "dataset" else dummy_measures)(query, patients)
            rows = write_tables([table], output)
        except (DefinitionError, StudyError) as e:
            raise fail(str(e)) from None
        progress.advance(task)
    return rows


def _generate(
    kind: str,
    study: Path,
    output: Path,
    dummy: bool,
    dummy_patients: int | None,
    engine: str,
    purpose: str,
    token: str | None,
    data_dir: Path | None,
) -> None:
    if engine not in ("duckdb", "spark"):
        raise fail(f"unknown engine {engine!r}: choose duckdb or spark")
    if dummy:
        rows = _write_dummy(kind, study, output, dummy_patients)
        err.print(f"wrote {rows:,} rows of dummy data to {output}")
        return
    if not token:
        raise fail(
            "on real data, only a data custodian extracts, with their token (--token); an "
            "analyst makes dummy data with --dummy, and runs the study on real data with "
            "`fivesafes submit`"
        )
    from fivesafes.cli.environment import opened
    from fivesafes.environment import extraction
    from fivesafes.governance import Purpose

    try:
        why = Purpose(purpose)
    except ValueError:
        raise fail(
            f"--purpose {purpose!r}: choose one of {', '.join(p.value for p in Purpose)}"
        ) from None
    with opened(data_dir) as env:
        made = extraction.custodian_extract(env, token, study, output, why, kind, engine)
    err.print(
        f"wrote {made.rows:,} rows for {why.value} to {output} (opt-outs applied); "
        f"ledger entry {made.ledger_index}"
    )


@app.command("generate-dataset")
def generate_dataset_command(
    study: Annotated[Path, typer.Argument(help="The study file defining `dataset`")],
    output: OutputOption,
    dummy: DummyOption = False,
    dummy_patients: DummyPatientsOption = None,
    engine: EngineOption = "duckdb",
    purpose: PurposeOption = "research",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Make a dataset: on dummy data (--dummy), or on the store for a data custodian.

    On the store the definition is evaluated in a sandbox with no data, its rows come from a cut
    copy without anyone whose opt-out applies to the purpose, and the extract is in the ledger.
    In a study's project.yaml this command is what `fivesafes run` and `fivesafes submit` carry
    out, in two steps: the definition evaluated on its own, then its rows made."""
    _generate("dataset", study, output, dummy, dummy_patients, engine, purpose, token, data_dir)


@app.command("generate-measures")
def generate_measures_command(
    study: Annotated[Path, typer.Argument(help="The study file defining `measures`")],
    output: OutputOption,
    dummy: DummyOption = False,
    dummy_patients: DummyPatientsOption = None,
    engine: EngineOption = "duckdb",
    purpose: PurposeOption = "research",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Compute every measure for every interval and group (all intervals in one pass): on dummy
    data (--dummy), or on the store for a data custodian, as generate-dataset does."""
    _generate("measures", study, output, dummy, dummy_patients, engine, purpose, token, data_dir)


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
