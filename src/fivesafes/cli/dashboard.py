"""``fivesafes dashboard``: a static HTML dashboard of a project's released outputs.

Only released, verified files are read, never the store. Which way is better and any targets are
not in the released numbers, so they are given here, per measure (the table's file name).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fivesafes.cli.common import DataDirOption, app, console, fail, progress_bar
from fivesafes.store.config import DataDir

if TYPE_CHECKING:  # the dashboards and statistics stages are imported when a dashboard is built
    from fivesafes.dashboards.figures import Settings
    from fivesafes.stats.area_profile import Polarity

ImprovementOption = Annotated[
    list[str] | None,
    typer.Option(
        "--improvement",
        help="MEASURE=increase|decrease|neutral: which way is better (repeat per measure)",
    ),
]
PolarityOption = Annotated[
    list[str] | None,
    typer.Option("--polarity", help="INDICATOR=high|low|none: which way is better in the profile"),
]
ChangeOption = Annotated[
    list[str] | None,
    typer.Option("--change", help="MEASURE=YYYY-MM-DD: evaluate a change made that month"),
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


POLARITIES: dict[str, Polarity] = {
    "high": "high_is_good",
    "low": "low_is_good",
    "none": "no_judgement",
}


def settings_from(
    improvement: Sequence[str] | None,
    target: Sequence[str] | None,
    polarity: Sequence[str] | None = None,
    change: Sequence[str] | None = None,
    **planning: Any,
) -> Settings:
    """The options as dashboard settings, or a clear error naming the bad value."""
    from fivesafes.dashboards.figures import Settings
    from fivesafes.stats.spc_model import ImprovementDirection

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
    poles: dict[str, Polarity] = {}
    for k, v in _pairs(polarity, "--polarity").items():
        if v not in POLARITIES:
            raise fail(f"--polarity {k}={v}: use high, low or none")
        poles[k] = POLARITIES[v]
    changes = _pairs(change, "--change")
    for k, v in changes.items():
        try:
            date.fromisoformat(v)
        except ValueError:
            raise fail(f"--change {k}={v}: the date must be YYYY-MM-DD") from None
    return Settings(directions, targets, polarity=poles, changes=changes, **planning)


@app.command("dashboard")
def dashboard_command(
    project: Annotated[str, typer.Argument(help="The project whose released outputs to show")],
    output: Annotated[Path, typer.Option("--output", help="Folder to write the dashboard to")],
    improvement: ImprovementOption = None,
    target: TargetOption = None,
    local_area: Annotated[
        str | None, typer.Option("--local-area", help="The area the profile's spine chart shows")
    ] = None,
    polarity: PolarityOption = None,
    change: ChangeOption = None,
    waiting_target_weeks: Annotated[
        float, typer.Option("--waiting-target-weeks", help="The waiting list's target wait")
    ] = 18,
    weeks_ahead: Annotated[
        int, typer.Option("--weeks-ahead", help="How far ahead to simulate the list")
    ] = 26,
    runs: Annotated[int, typer.Option("--runs", help="Simulation runs (for the bands)")] = 100,
    capacity_change: Annotated[
        float, typer.Option("--capacity-change", help="Planned change in capacity, e.g. 0.1")
    ] = 0.0,
    beds: Annotated[
        float | None, typer.Option("--beds", help="Bed base, for occupancy as a share")
    ] = None,
    published: Annotated[
        list[Path] | None,
        typer.Option("--published", help="A published workforce statistics CSV (repeatable)"),
    ] = None,
    demand_growth: Annotated[
        float, typer.Option("--demand-growth", help="Yearly growth in demand, e.g. 0.03")
    ] = 0.03,
    data_dir: DataDirOption = None,
) -> None:
    """Build a static, offline, accessible HTML dashboard from a project's released outputs."""
    from fivesafes.dashboards.build import build_dashboard
    from fivesafes.dashboards.released import DashboardError
    from fivesafes.ledger.errors import LedgerError

    if runs < 1 or weeks_ahead < 1:
        raise fail("--runs and --weeks-ahead must be at least 1")
    settings = settings_from(
        improvement,
        target,
        polarity,
        change,
        local_area=local_area,
        waiting_target_weeks=waiting_target_weeks,
        waiting_weeks_ahead=weeks_ahead,
        waiting_runs=runs,
        capacity_change=capacity_change,
        beds=beds,
        published=tuple(published or ()),
        demand_growth=demand_growth,
    )
    with progress_bar() as progress:
        task = progress.add_task("verifying releases and drawing charts", total=1)
        simulation = progress.add_task("simulating the waiting list", total=runs, visible=False)

        def ran(done: int, total: int) -> None:
            progress.update(simulation, completed=done, total=total, visible=True)

        try:
            page = build_dashboard(
                DataDir.from_env(data_dir), project, output, settings, progress=ran
            )
        except (DashboardError, LedgerError, FileNotFoundError) as exc:
            raise fail(str(exc)) from None
        progress.advance(task)
    console.print(f"dashboard written to {page} (open {page.resolve().as_uri()})")
