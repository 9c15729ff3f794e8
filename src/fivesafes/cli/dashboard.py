"""``fivesafes dashboard``: a static HTML dashboard of a project's released outputs.

Only released, verified files are read, never the store. Which way is better and any targets are
not in the released numbers, so they are given here, per measure (the table's file name).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from fivesafes.cli.common import DataDirOption, app, console, fail, progress_bar
from fivesafes.dashboards import DashboardError, Settings, build_dashboard
from fivesafes.ledger import LedgerError
from fivesafes.stats import ImprovementDirection
from fivesafes.store.config import DataDir

ImprovementOption = Annotated[
    list[str] | None,
    typer.Option(
        "--improvement",
        help="MEASURE=increase|decrease|neutral: which way is better (repeat per measure)",
    ),
]
TargetOption = Annotated[
    list[str] | None,
    typer.Option("--target", help="MEASURE=VALUE, in percent or per 1,000 (repeat per measure)"),
]


def _pairs(given: Sequence[str] | None, option: str) -> dict[str, str]:
    found = {}
    for item in given or ():
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise fail(f"{option} takes MEASURE=VALUE, not {item!r}")
        found[name] = value
    return found


def settings_from(improvement: Sequence[str] | None, target: Sequence[str] | None) -> Settings:
    """The options as dashboard settings, or a clear error naming the bad value."""
    try:
        directions = {
            k: ImprovementDirection(v) for k, v in _pairs(improvement, "--improvement").items()
        }
    except ValueError as exc:
        raise fail(f"--improvement: {exc}; use increase, decrease or neutral") from None
    try:
        targets = {k: float(v) for k, v in _pairs(target, "--target").items()}
    except ValueError as exc:
        raise fail(f"--target: {exc}") from None
    return Settings(directions, targets)


@app.command("dashboard")
def dashboard_command(
    project: Annotated[str, typer.Argument(help="The project whose released outputs to show")],
    output: Annotated[Path, typer.Option("--output", help="Folder to write the dashboard to")],
    improvement: ImprovementOption = None,
    target: TargetOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Build a static, offline, accessible HTML dashboard from a project's released outputs."""
    settings = settings_from(improvement, target)
    with progress_bar() as progress:
        task = progress.add_task("verifying releases and drawing charts", total=1)
        try:
            page = build_dashboard(DataDir.from_env(data_dir), project, output, settings)
        except (DashboardError, LedgerError, FileNotFoundError) as exc:
            raise fail(str(exc)) from None
        progress.advance(task)
    console.print(f"dashboard written to {page} (open {page.resolve().as_uri()})")
