"""Commands for responding to incidents: the register, suspending the environment in the first
minutes, and the security log for a period. Each parses, calls one use case of
:mod:`fivesafes.environment.incidents`, and renders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from fivesafes.cli.common import (
    DataDirOption,
    FormatOption,
    TokenOption,
    app,
    console,
    fail,
    need_token,
)
from fivesafes.cli.environment import opened

incident_app = typer.Typer(
    help="Incidents: their register, and suspending the environment while one is handled."
)
app.add_typer(incident_app, name="incident", no_args_is_help=True)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{text!r} is not a date or time (YYYY-MM-DD[THH:MM])") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@incident_app.command("open")
def open_command(
    summary: Annotated[str, typer.Argument(help="What happened, for the register")],
    category: Annotated[str, typer.Option("--category", help="incident, deviation, audit_finding")],
    severity: Annotated[str, typer.Option("--severity", help="low, medium, high, critical")],
    entry: Annotated[
        list[int] | None, typer.Option("--entry", help="A ledger entry involved (its index)")
    ] = None,
    notice: Annotated[
        str | None, typer.Option("--notice", help="Plain words for the public, if it affects them")
    ] = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Register an incident, deviation or audit finding (a data custodian)."""
    from fivesafes.environment import incidents
    from fivesafes.governance.incidents import Category, Severity

    try:
        kind, level = Category(category), Severity(severity)
    except ValueError as exc:
        raise fail(str(exc)) from None
    with opened(data_dir) as env:
        made = incidents.open_incident(
            env, need_token(token), kind, level, summary, entry or [], notice
        )
    console.print(f"{made} opened")


@incident_app.command("close")
def close_command(
    incident_id: str,
    root_cause: Annotated[str, typer.Option("--root-cause")],
    actions: Annotated[str, typer.Option("--actions", help="What was done so it cannot recur")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Close an incident with its root cause and the actions taken (a data custodian)."""
    from fivesafes.environment import incidents

    with opened(data_dir) as env:
        incidents.close_incident(env, need_token(token), incident_id, root_cause, actions)
    console.print(f"{incident_id} closed")


@incident_app.command("list")
def list_command(
    open_only: Annotated[bool, typer.Option("--open", help="Only those still open")] = False,
    output_format: FormatOption = "text",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The register (a data custodian)."""
    from fivesafes.environment import incidents

    with opened(data_dir) as env:
        views = incidents.register(env, need_token(token), open_only=open_only)
    if output_format == "json":
        rows = [{"incident_id": v.incident_id, "category": v.category, "severity": v.severity,
                 "status": v.status, "entries": list(v.entries), "summary": v.summary}
                for v in views]  # fmt: skip
        console.print(json.dumps(rows, indent=2))
        return
    for v in views:
        console.print(f"{v.incident_id}  {v.status:6}  {v.severity:8}  {v.category}: {v.summary}")


@incident_app.command("suspend")
def suspend_command(
    reason: Annotated[str, typer.Argument(help="Why, in a few words (public)")],
    incident: Annotated[
        str | None, typer.Option("--incident", help="The incident, if registered")
    ] = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Suspend the whole environment: nothing but the incident response may be done until
    `fivesafes incident resume` (a data custodian)."""
    from fivesafes.environment import incidents

    with opened(data_dir) as env:
        incidents.suspend(env, need_token(token), reason, incident)
    console.print("the environment is suspended")


@incident_app.command("resume")
def resume_command(token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """Lift the suspension (a data custodian)."""
    from fivesafes.environment import incidents

    with opened(data_dir) as env:
        incidents.resume(env, need_token(token))
    console.print("the environment has resumed")


@app.command("security-log")
def security_log_command(
    since: Annotated[str, typer.Option("--since", help="From (YYYY-MM-DD[THH:MM], UTC)")],
    until: Annotated[str, typer.Option("--until", help="Up to, not including")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Refused sign-ins, account and role changes, identifiable reads and administrative
    actions in a period, for review (a data custodian)."""
    from fivesafes.environment import incidents

    start, end = _moment(since), _moment(until)
    with opened(data_dir) as env:
        report = incidents.security_report(env, need_token(token), start, end)
    sections = {
        "refused": report.refused,
        "account changes": report.account_changes,
        "identifiable reads": report.identifiable_reads,
        "administrative actions": report.administrative,
    }
    for title, events in sections.items():
        console.print(f"{title}: {len(events)}")
        for e in events:
            console.print(f"  #{e.index} {e.time} {e.actor} {e.kind} {e.what}")
