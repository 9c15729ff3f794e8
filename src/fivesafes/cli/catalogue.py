"""Commands for finding data: catalogue, codes.

Both print what the environment layer decides the caller may see: exact counts and dates for a
data custodian (``--token``), counts rounded and suppressed by the disclosure rules and months
instead of dates for anyone else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table as RichTable

from fivesafes.cli.common import DataDirOption, FormatOption, TokenOption, app, console, fail
from fivesafes.governance.roles import AccessDenied
from fivesafes.store.config import DataDir

T = TypeVar("T")


def _shown(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _call(use_case: Callable[[], T]) -> T:
    """Run a use case, turning a missing or busy store or a refused credential into one clear
    line."""
    from fivesafes.store.database import StoreBusy
    from fivesafes.store.upgrades import StoreOutdated

    try:
        return use_case()
    except (FileNotFoundError, StoreBusy, StoreOutdated) as exc:
        raise fail(str(exc)) from None
    except AccessDenied as refused:
        raise fail(f"refused: {refused}") from None
    except ValueError as exc:
        raise fail(str(exc)) from None


@app.command("catalogue")
def catalogue_command(
    data_dir: DataDirOption = None,
    output_format: FormatOption = "text",
    columns: Annotated[bool, typer.Option("--columns", help="Also describe every column")] = False,
    token: TokenOption = None,
) -> None:
    """Every dataset in the store: description, columns, counts, coverage, completeness, loads.

    Without a data custodian's --token, counts are rounded and small ones suppressed, and
    coverage is given in months."""
    from fivesafes.environment.catalogue import PUBLIC, view_catalogue

    where = DataDir.from_env(data_dir)
    catalogue = _call(lambda: view_catalogue(where, token))
    if output_format == "json":
        sys.stdout.write(catalogue.to_json().decode() + "\n")
        return
    public = catalogue.view == PUBLIC
    title = "Datasets (fivesafes catalogue --columns describes each column)"
    if public:
        title += f"; counts rounded, under the threshold shown '-' (profile {catalogue.profile})"
    overview = RichTable(title=title)
    overview.add_column("dataset", no_wrap=True)
    for name in ("rows", "patients", "from", "to"):
        right = name in ("rows", "patients")
        overview.add_column(name, justify="right" if right else "left", no_wrap=True)
    for d in catalogue.datasets:
        about_people = d.patients is not None or "patients" in d.suppressed
        patients = _shown(d.patients) if about_people else ""
        overview.add_row(d.name, _shown(d.rows), patients, d.first or "", d.last or "")
    console.print(overview)
    for d in catalogue.datasets if columns else ():
        table = RichTable(title=f"{d.name}: {d.description} ({d.source})", title_justify="left")
        for name in ("column", "type", "complete", "description"):
            table.add_column(name, no_wrap=name != "description")
        for c in d.columns:
            complete = f"{c.completeness:.0%}" if c.completeness is not None else "-"
            system = f" ({c.code_system})" if c.code_system else ""
            table.add_row(c.name, c.type + system, complete, c.description)
        console.print(table)
    loads = RichTable(title="Load history")
    outcomes = sorted({o for entry in catalogue.loads for o in entry.totals})
    for name in ("load", "finished", "files", *outcomes):
        loads.add_column(name, no_wrap=True)
    for entry in catalogue.loads:
        loads.add_row(
            entry.load_id,
            entry.finished_at.isoformat(timespec="seconds"),
            str(entry.file_count),
            *(_shown(entry.totals.get(o, 0)) for o in outcomes),
        )
    console.print(loads)


@app.command("codes")
def codes_command(
    column: Annotated[
        str | None,
        typer.Argument(help="A table or table.column, e.g. clinical_events.snomedct_code"),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Only codes whose code or term holds this")
    ] = None,
    data_dir: DataDirOption = None,
    output_format: FormatOption = "text",
    token: TokenOption = None,
) -> None:
    """Which codes occur in each coded column, with how many people and records have each:
    what a code list can be built from without reading the data.

    Without a data custodian's --token, only codes held by enough people to publish are
    listed, with rounded counts."""
    from fivesafes.environment.catalogue import PUBLIC, code_usage

    where = DataDir.from_env(data_dir)
    usage = _call(lambda: code_usage(where, token, column, search))
    if output_format == "json":
        sys.stdout.write(usage.to_json().decode() + "\n")
        return
    title = "Codes in the data"
    if usage.view == PUBLIC:
        title += f" (counts rounded, profile {usage.profile})"
    table = RichTable(title=title)
    for name in ("column", "code", "term", "patients", "records"):
        right = name in ("patients", "records")
        table.add_column(name, justify="right" if right else "left", no_wrap=name != "term")
    for c in usage.codes:
        table.add_row(
            f"{c.table}.{c.column}", c.code, c.term or "", _shown(c.patients), _shown(c.records)
        )
    console.print(table)
    for where_, n in usage.left_out.items():
        console.print(f"{where_}: {n:,} more code(s) held by too few people to list")
