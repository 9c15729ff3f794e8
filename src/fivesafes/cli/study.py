"""``fivesafes init``: a new study folder, from one that works (:mod:`fivesafes.jobs.starter`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fivesafes.cli.common import app, console, fail


@app.command("init")
def init_command(
    folder: Annotated[Path, typer.Argument(help="The new study's folder, named as its project")],
    title: Annotated[
        str | None, typer.Option(help="The study's title (default: the folder's name)")
    ] = None,
    member: Annotated[
        list[str] | None,
        typer.Option("--member", help="A member's person id in the environment; repeat for each"),
    ] = None,
    organisation: Annotated[str, typer.Option(help="The organisation responsible")] = "",
    repository: Annotated[str, typer.Option(help="Where the code will be published")] = "",
) -> None:
    """Make a new study that runs on dummy data at once: definition, code list, analysis,
    project.yaml, application and .gitignore."""
    from fivesafes.governance.projects import project_id_problem
    from fivesafes.jobs.starter import NewStudy, StudyExists, new_study

    name = folder.resolve().name  # the project's id when its application is submitted
    problem = project_id_problem(name)
    if problem is not None:
        raise fail(f"{name!r} cannot name a project ({problem}): name the folder as the project")
    study = NewStudy(
        title=title or name,
        members=tuple(member or ()),
        organisation=organisation,
        repository=repository,
    )
    try:
        written = new_study(folder, study)
    except StudyExists as e:
        raise fail(str(e)) from None
    console.print(f"made the study {folder}:")
    for path in written:
        console.print(f"  {path}")
    console.print(f"next: cd {folder} && git init && fivesafes run")
