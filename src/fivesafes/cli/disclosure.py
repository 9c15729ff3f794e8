"""Commands for safe outputs: check-output.

Inside the environment a table is checked against what its project has actually released
(the release workflow's history under the data directory); elsewhere the report says that
differencing could not be checked, rather than passing it on an empty history.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fivesafes.cli.common import DataDirOption, FormatOption, app, console, fail
from fivesafes.disclosure import FileReleaseHistory
from fivesafes.release.office import release_history
from fivesafes.store.config import DataDir


def _project_history(
    project_id: str | None, data_dir: Path | None
) -> tuple[FileReleaseHistory | None, str | None]:
    """What the project has actually released — the environment's release history, the one
    the release workflow checks and records — or None and why differencing cannot be checked
    here (on an analyst's own machine there is no release history to check against)."""
    if project_id is None:
        return None, (
            "differencing against earlier releases not checked: say which project with "
            "--project-id to compare this table with what the project has released"
        )
    where = DataDir.from_env(data_dir)
    root = where.root
    if not root.is_dir():
        return None, (
            f"differencing against earlier releases not checked: no environment data "
            f"directory here ({root}) to read {project_id}'s releases from; the checks run "
            "again inside the environment before anything is released"
        )
    return release_history(where), None


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
            help="The approved project: check differencing against what it has released "
            "(read from the environment's release history)",
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
    from fivesafes.disclosure import TableError, check_file, load_profiles

    profiles = load_profiles()
    if profile not in profiles:
        raise fail(f"no profile {profile!r}; choose one of {', '.join(profiles)}")
    if output_format not in ("text", "json"):
        raise fail("--format must be text or json")
    history, unchecked = _project_history(project_id, data_dir)
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
    if unchecked and report.kind == "frequency table":
        report.notes.append(unchecked)
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
