"""Commands for safe outputs: check-output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fivesafes.cli.common import FormatOption, app, console, fail


@app.command("check-output")
def check_output_command(
    file: Annotated[Path, typer.Argument(help="The CSV or Parquet output to check")],
    profile: Annotated[
        str, typer.Option("--profile", help="Rules to apply: default, ons, opensafely, …")
    ] = "default",
    project: Annotated[
        Path | None,
        typer.Option("--project", help="The study folder, to check against its earlier releases"),
    ] = None,
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
    from fivesafes.disclosure import TableError, check_file, load_profiles, project_history

    profiles = load_profiles()
    if profile not in profiles:
        raise fail(f"no profile {profile!r}; choose one of {', '.join(profiles)}")
    if output_format not in ("text", "json"):
        raise fail("--format must be text or json")
    if project is not None and not project.is_dir():
        raise fail(f"--project {project}: no such folder")
    history = project_history(project) if project is not None else None
    try:
        report = check_file(
            file,
            profiles[profile],
            history,
            microdata=microdata,
            value=value,
            contributor=contributor,
        )
    except TableError as exc:
        raise fail(str(exc)) from exc
    if output_format == "json":
        sys.stdout.write(report.to_json().decode() + "\n")
    else:
        colour = "green" if report.passed else "red"
        text = report.to_text()
        head, _, rest = text.partition("\n")
        console.print(f"[bold {colour}]{head}[/]", highlight=False, soft_wrap=True)
        if rest:
            console.print(rest, markup=False, highlight=False, soft_wrap=True)
    if picture is not None:
        if report.safe is None:
            raise fail("this output has no table to draw")
        report.draw(picture)
    raise typer.Exit(0 if report.passed else 1)
