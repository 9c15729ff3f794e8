"""Commands for safe outputs: check-output, chart.

The checks and what they read (the release history inside the environment, the contributions
a job kept) are the environment layer's (``fivesafes.environment.outputs``); this parses the
command line and renders the report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fivesafes.cli.common import DataDirOption, FormatOption, app, console, fail
from fivesafes.store.config import DataDir


@app.command("check-output")
def check_output_command(
    file: Annotated[Path, typer.Argument(help="The CSV or Parquet output to check")],
    profile: Annotated[
        str, typer.Option("--profile", help="Rules to apply: default, ons, opensafely, …")
    ] = "default",
    project_id: Annotated[
        str | None,
        typer.Option(
            "--project-id",
            help="The approved project the table is for: check differencing against "
            "everything released from the data, by every project (the environment's release "
            "history)",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    output_format: FormatOption = "text",
    microdata: Annotated[
        Path | None,
        typer.Option("--microdata", help="The records a magnitude table was built from"),
    ] = None,
    value: Annotated[
        str | None, typer.Option("--value", help="The column of --microdata the table sums")
    ] = None,
    contributor: Annotated[
        str | None,
        typer.Option("--contributor", help="Who contributes (e.g. practice); default: a record"),
    ] = None,
    picture: Annotated[
        Path | None, typer.Option("--picture", help="Also draw the safe table to this PNG")
    ] = None,
) -> None:
    """Check an output table against the disclosure rules and print the report.

    Exit code 0 when the file may be requested as it is, 1 when it breaks a rule (the report
    shows the safe version to request instead, if there is one).
    """
    from fivesafes.disclosure import TableError, load_profiles
    from fivesafes.environment.outputs import OutputCheck, check_output

    profiles = load_profiles()
    if profile not in profiles:
        raise fail(f"no profile {profile!r}; choose one of {', '.join(profiles)}")
    if output_format not in ("text", "json"):
        raise fail("--format must be text or json")
    where = DataDir.from_env(data_dir)
    try:
        report = check_output(
            OutputCheck(file, profile, project_id, where), microdata, value, contributor
        )
    except TableError as exc:
        raise fail(str(exc)) from exc
    if output_format == "json":
        sys.stdout.write(report.to_json().decode() + "\n")
    else:
        colour = "green" if report.passed else "red"
        text = report.to_text()
        head, _, rest = text.partition("\n")
        console.print(Text(head, style=f"bold {colour}"), highlight=False, soft_wrap=True)
        if rest:
            console.print(rest, highlight=False, soft_wrap=True)
    if picture is not None:
        if report.safe is None:
            raise fail("this output has no table to draw")
        report.draw(picture)
    raise typer.Exit(0 if report.passed else 1)


@app.command("chart")
def chart_command(
    table: Annotated[Path, typer.Argument(help="A table that passes as written (a safe CSV)")],
    chart: Annotated[Path, typer.Argument(help="The PNG or SVG to draw")],
    title: Annotated[str | None, typer.Option("--title", help="The chart's title")] = None,
    profile: Annotated[str, typer.Option("--profile", help="Rules it passes")] = "default",
) -> None:
    """Draw the chart of a table that passes, linked to it: the only kind of chart that leaves.

    For analyses that write their tables themselves, without the safe helpers (Python's or
    R's); run it where the analysis runs, with paths as the study names them."""
    from fivesafes.disclosure import TableError, load_profiles
    from fivesafes.disclosure.charts import ChartRefused, draw_table

    profiles = load_profiles()
    if profile not in profiles:
        raise fail(f"no profile {profile!r}; choose one of {', '.join(profiles)}")
    if chart.suffix.lower() not in (".png", ".svg"):
        raise fail(f"{chart}: a chart is a .png or .svg file")
    try:
        draw_table(table, chart, profiles[profile], title)
    except (TableError, ChartRefused) as exc:
        raise fail(str(exc)) from None
    console.print(f"drew {chart} from {table}", highlight=False)
