"""Commands for trust: people (user, token), projects, opt-outs and the public ledger.

Each command that acts takes the caller's personal token (``--token`` or ``$FIVESAFES_TOKEN``)
and calls one use case of the environment layer, which checks it afresh, does the work and
leaves its trace in the ledger; the command says who acted. The first custodian comes from
``fivesafes environment init``; every new account's enrolment code goes to its person, who makes
their own token with ``fivesafes user enrol CODE``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table as RichTable
from rich.text import Text

from fivesafes.cli.common import (
    DataDirOption,
    FormatOption,
    TokenOption,
    app,
    console,
    err,
    fail,
    need_token,
)
from fivesafes.cli.environment import opened, parse_date, signing_key
from fivesafes.governance.roles import Role
from fivesafes.governance.vocabulary import ConsentScope, OptOutKind

if TYPE_CHECKING:  # the use cases are imported by the commands that run them, not by --help
    from fivesafes.governance.projects import Application

user_app = typer.Typer(help="People: verified accounts with roles, expiry and training dates.")
token_app = typer.Typer(help="Personal access tokens: issue and revoke.")
project_app = typer.Typer(help="Project applications, signed decisions and published waits.")
opt_out_app = typer.Typer(help="National data opt-outs, type-1 objections and wearable consent.")
ledger_app = typer.Typer(
    help="The public, tamper-evident ledger: verify, prove, export, publish, view."
)
for _name, _sub in (
    ("user", user_app),
    ("token", token_app),
    ("project", project_app),
    ("opt-out", opt_out_app),
    ("ledger", ledger_app),
):
    app.add_typer(_sub, name=_name, no_args_is_help=True)

RoleOption = Annotated[list[Role] | None, typer.Option("--role", help="Repeat for several roles")]
DateOption = Annotated[str | None, typer.Option(help="YYYY-MM-DD")]


_date = parse_date


def _print_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


@user_app.command("create")
def user_create(
    person_id: Annotated[str, typer.Argument(help="Short id, e.g. ada.lovelace")],
    name: Annotated[str, typer.Option("--name", help="Public name, shown in the public view")],
    organisation: Annotated[str, typer.Option("--organisation")],
    contact: Annotated[
        str, typer.Option("--contact", help="Their e-mail address: their enrolment code goes there")
    ],
    role: RoleOption = None,
    expires: Annotated[str, typer.Option(help="Account expiry, YYYY-MM-DD")] = "",
    trained: Annotated[str, typer.Option(help="Date training was completed, YYYY-MM-DD")] = "",
    accredited_until: DateOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a verified account (custodian); its enrolment code is sent to the person alone."""
    from fivesafes.environment import accounts
    from fivesafes.governance.accounts import NewAccount

    today = date.today()
    spec = NewAccount(
        person_id=person_id,
        public_name=name,
        organisation=organisation,
        roles=frozenset(role or ()),
        expires_on=_date(expires, "--expires") if expires else today + timedelta(days=365),
        trained_on=_date(trained, "--trained") if trained else today,
        accredited_until=_date(accredited_until, "--accredited-until")
        if accredited_until
        else None,
        contact=contact,
    )
    credential = need_token(token)
    with opened(data_dir) as env:
        made = accounts.create(env, credential, spec)
    console.print(
        Text.assemble(
            "created ",
            (made.person_id, "bold"),
            f" ({', '.join(made.roles)}); their enrolment code was sent to {made.delivered_to}, "
            f"valid until {made.code_expires_at:%Y-%m-%d %H:%M} UTC",
        )
    )


@user_app.command("enrol")
def user_enrol(
    code: Annotated[str, typer.Argument(help="The one-time code you were sent")],
    days: Annotated[int, typer.Option(help="Your token's lifetime in days")] = 30,
    data_dir: DataDirOption = None,
) -> None:
    """Make your own first token from the enrolment code you were sent (printed once)."""
    from fivesafes.environment import accounts

    with opened(data_dir) as env:
        issued = accounts.enrol(env, code, days)
    err.print(
        f"welcome, {issued.person_id}: token {issued.token_id}, expires "
        f"{issued.expires_at:%Y-%m-%d %H:%M} UTC; keep it to yourself"
    )
    sys.stdout.write(issued.token + "\n")


@user_app.command("invite")
def user_invite(person_id: str, token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """Send someone a new enrolment code: theirs expired, or they lost every token (custodian)."""
    from fivesafes.environment import accounts

    credential = need_token(token)
    with opened(data_dir) as env:
        made = accounts.invite(env, credential, person_id)
    console.print(f"a new enrolment code for {made.person_id} was sent to {made.delivered_to}")


@user_app.command("list")
def user_list(
    token: TokenOption = None, data_dir: DataDirOption = None, output_format: FormatOption = "text"
) -> None:
    """Every account, its roles, dates and whether it may act now (custodian)."""
    from fivesafes.environment import accounts

    credential = need_token(token)
    with opened(data_dir) as env:
        rows = accounts.listing(env, credential)
    if output_format == "json":
        _print_json(
            [
                {
                    **r.__dict__,
                    "expires_at": r.expires_at.isoformat(),
                    "trained_on": r.trained_on.isoformat(),
                    "accredited_until": str(r.accredited_until or ""),
                }
                for r in rows
            ]
        )
        return
    table = RichTable(title="Accounts")
    for column in (
        "person",
        "public name",
        "organisation",
        "roles",
        "expires",
        "trained",
        "accredited until",
        "may act",
    ):
        table.add_column(column, no_wrap=column == "person")
    for r in rows:
        table.add_row(
            r.person_id,
            r.public_name,
            r.organisation,
            ", ".join(r.roles),
            f"{r.expires_at:%Y-%m-%d}",
            str(r.trained_on),
            str(r.accredited_until or "-"),
            r.usable,
        )
    console.print(table)


@user_app.command("change")
def user_change(
    person_id: str,
    role: RoleOption = None,
    expires: DateOption = None,
    accredited_until: DateOption = None,
    disable: Annotated[bool, typer.Option("--disable", help="Stop the account at once")] = False,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Change an account's roles, expiry or accreditation, or disable it (custodian)."""
    from fivesafes.environment import accounts

    credential = need_token(token)
    with opened(data_dir) as env:
        accounts.change(
            env,
            credential,
            person_id,
            roles=frozenset(role) if role else None,
            expires_on=_date(expires, "--expires") if expires else None,
            accredited_until=_date(accredited_until, "--accredited-until")
            if accredited_until
            else None,
            disable=disable,
        )
    console.print(f"changed {person_id}")


@user_app.command("keygen")
def user_keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write your private key (0600)")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Make your own Ed25519 decision-signing key and register its public half."""
    from fivesafes.environment import accounts
    from fivesafes.governance.signing import create_person_key

    credential = need_token(token)
    with opened(data_dir) as env:
        public = create_person_key(out)
        key_id = accounts.register_key(env, credential, public)
    console.print(f"key {key_id} registered; keep {out} private: it signs your decisions")


@user_app.command("revoke-key")
def user_revoke_key(key_id: str, token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """Retire a decision-signing key (lost or replaced); past decisions stay verifiable."""
    from fivesafes.environment import accounts

    credential = need_token(token)
    with opened(data_dir) as env:
        accounts.revoke_key(env, credential, key_id)
    console.print(f"key {key_id} revoked")


@user_app.command("whoami")
def user_whoami(token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """Check your token and show who it says you are."""
    from fivesafes.environment import accounts

    credential = need_token(token)
    with opened(data_dir) as env:
        me = accounts.whoami(env, credential)
    console.print(f"{me.person_id}: {', '.join(sorted(me.roles))}; token {me.token_id}")


@token_app.command("issue")
def token_issue(
    days: Annotated[int, typer.Option(help="Lifetime in days")] = 30,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Issue yourself a new personal token (printed once; only its hash is kept)."""
    from fivesafes.environment import accounts

    credential = need_token(token)
    with opened(data_dir) as env:
        issued = accounts.issue_token(env, credential, days)
    err.print(
        f"token {issued.token_id} for {issued.person_id}, "
        f"expires {issued.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    sys.stdout.write(issued.token + "\n")


@token_app.command("revoke")
def token_revoke(token_id: str, token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """Revoke a token now (your own, or anyone's for a custodian)."""
    from fivesafes.environment import accounts

    credential = need_token(token)
    with opened(data_dir) as env:
        accounts.revoke_token(env, credential, token_id)
    console.print(f"token {token_id} revoked")


FormArgument = Annotated[Path, typer.Argument(help="Application form, TOML or JSON")]


def _form(path: Path) -> Application:
    from fivesafes.governance.projects import Application

    try:
        return Application.from_file(path)
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: {exc}") from None


@project_app.command("submit")
def project_submit(
    project_id: str, form: FormArgument, token: TokenOption = None, data_dir: DataDirOption = None
) -> None:
    """Submit a project application (the one form for every approval)."""
    from fivesafes.environment import projects

    application, credential = _form(form), need_token(token)
    with opened(data_dir) as env:
        projects.apply(env, credential, project_id, application)
    console.print(f"project {project_id} submitted; waiting for an approver")


@project_app.command("revise")
def project_revise(
    project_id: str, form: FormArgument, token: TokenOption = None, data_dir: DataDirOption = None
) -> None:
    """Resubmit an application after an approver asked for changes."""
    from fivesafes.environment import projects

    application, credential = _form(form), need_token(token)
    with opened(data_dir) as env:
        version = projects.revise(env, credential, project_id, application)
    console.print(f"project {project_id} version {version} submitted")


def _decide(
    verdict: str,
    project_id: str,
    reasons: str,
    key: Path,
    until: date | None,
    token: str | None,
    data_dir: Path | None,
) -> None:
    from fivesafes.environment import projects
    from fivesafes.governance.projects import Verdict

    credential, signer = need_token(token), signing_key(key)
    with opened(data_dir) as env:
        record = projects.decision(
            env, credential, project_id, Verdict(verdict), reasons, signer, until
        )
    already = " (already decided: nothing changed)" if record.already else ""
    console.print(
        f"{project_id} v{record.version}: {verdict}, signed by "
        f"{record.person_id} after {record.waited_seconds / 86400:.1f} days' wait{already}"
    )
    console.print(f"signature: {record.signature}")


ReasonsOption = Annotated[str, typer.Option("--reasons", help="Why; kept, hash signed")]
KeyOption = Annotated[Path, typer.Option("--key", help="Your private signing key (keygen)")]


@project_app.command("approve")
def project_approve(
    project_id: str,
    until: Annotated[str, typer.Option("--until", help="Approval ends, YYYY-MM-DD")],
    reasons: ReasonsOption,
    key: KeyOption,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Approve an application until a date, signed with your key (approver)."""
    _decide("approve", project_id, reasons, key, _date(until, "--until"), token, data_dir)


def _refusal_command(verdict: str) -> Callable[..., None]:
    """A decision that approves nothing, so has no end date: one command per verdict."""

    def refuse(
        project_id: str,
        reasons: ReasonsOption,
        key: KeyOption,
        token: TokenOption = None,
        data_dir: DataDirOption = None,
    ) -> None:
        _decide(verdict, project_id, reasons, key, None, token, data_dir)

    return refuse


for _name, _verdict, _help in (
    (
        "request-changes",
        "request_changes",
        "Ask the applicants for changes, with reasons, signed (approver).",
    ),
    ("reject", "reject", "Reject an application, with reasons, signed (approver)."),
):
    project_app.command(_name, help=_help)(_refusal_command(_verdict))


@project_app.command("list")
def project_list(data_dir: DataDirOption = None, output_format: FormatOption = "text") -> None:
    """Every project, its purpose, members and status (public)."""
    from fivesafes.environment import projects

    with opened(data_dir, recover=False) as env:  # a public read: it writes nothing
        found = projects.listing(env)
    if output_format == "json":
        _print_json([{**p.__dict__, "approved_until": str(p.approved_until or "")} for p in found])
        return
    table = RichTable(title="Projects")
    for column in ("project", "title", "purpose", "status", "version", "approved until", "members"):
        table.add_column(column, no_wrap=column == "project")
    for p in found:
        table.add_row(
            p.project_id,
            p.title,
            p.purpose,
            p.status,
            str(p.version),
            str(p.approved_until or "-"),
            ", ".join(p.members),
        )
    console.print(table)


@project_app.command("waits")
def project_waits(data_dir: DataDirOption = None, output_format: FormatOption = "text") -> None:
    """How long applications waited at each step (published, so delays are visible)."""
    from fivesafes.environment import projects

    with opened(data_dir, recover=False) as env:  # a public read: it writes nothing
        waits, summary = projects.waits(env)
    if output_format == "json":
        _print_json(
            {
                "summary": summary,
                "waits": [
                    {
                        **w.__dict__,
                        "started_at": w.started_at.isoformat(),
                        "ended_at": w.ended_at.isoformat() if w.ended_at else None,
                    }
                    for w in waits
                ],
            }
        )
        return
    table = RichTable(title="Waiting times")
    for column in ("step", "finished", "still waiting", "median days", "longest days"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step, s in summary.items():
        table.add_row(
            step,
            str(s["finished"]),
            str(s["open"]),
            f"{s['median_days']:.1f}",
            f"{s['longest_days']:.1f}",
        )
    console.print(table)


@opt_out_app.command("load")
def opt_out_load(
    file: Annotated[Path, typer.Argument(help="CSV: nhs_number,kind (national or type1)")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Load opt-outs from a file in one transaction; a bad row loads nothing (custodian)."""
    from fivesafes.environment import consent

    credential = need_token(token)
    with opened(data_dir) as env:
        loaded = consent.load_file(env, credential, file)
    kinds = ", ".join(f"{k} {n:,}" for k, n in loaded.by_kind.items())
    console.print(
        f"{loaded.rows:,} rows ({kinds}); {loaded.added:,} new; file sha256 {loaded.file_sha256}"
    )


@opt_out_app.command("add")
def opt_out_add(
    nhs_number: str,
    kind: Annotated[OptOutKind, typer.Option("--kind", help="national or type1")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Record one person's opt-out (custodian)."""
    from fivesafes.environment import consent

    credential = need_token(token)
    with opened(data_dir) as env:
        added = consent.add(env, credential, nhs_number, kind)
    console.print(f"{kind.value} opt-out recorded" if added else "already recorded")


@opt_out_app.command("consent")
def opt_out_consent(
    nhs_number: str,
    scope: Annotated[ConsentScope, typer.Option("--scope", help="care or research")],
    grant: Annotated[bool, typer.Option("--grant/--withdraw")] = True,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Record consent (or its withdrawal) to use a person's wearable data (custodian)."""
    from fivesafes.environment import consent

    credential = need_token(token)
    with opened(data_dir) as env:
        consent.set_shared_data_consent(env, credential, nhs_number, scope, grant)
    console.print(f"wearable consent for {scope.value}: {'granted' if grant else 'withdrawn'}")


@opt_out_app.command("report")
def opt_out_report_command(
    token: TokenOption = None, data_dir: DataDirOption = None, output_format: FormatOption = "text"
) -> None:
    """How many people opt-outs removed from each extract (custodian only)."""
    from fivesafes.environment import consent

    credential = need_token(token)
    with opened(data_dir) as env:
        rows = consent.report(env, credential)
    if output_format == "json":
        _print_json([{**r.__dict__, "applied_at": r.applied_at.isoformat()} for r in rows])
        return
    table = RichTable(title="Opt-outs applied")
    for column in ("when", "project", "purpose", "people excluded"):
        table.add_column(column, no_wrap=column in ("when", "project"))
    for r in rows:
        table.add_row(
            f"{r.applied_at:%Y-%m-%d %H:%M}", r.project_id or "-", r.purpose, f"{r.excluded:,}"
        )
    console.print(table)


@ledger_app.command("verify")
def ledger_verify(
    trusted_key: Annotated[
        str | None, typer.Option(help="The log's first public key (vkey) to pin")
    ] = None,
    data_dir: DataDirOption = None,
    output_format: FormatOption = "text",
) -> None:
    """Replay the whole log: re-hash every entry, recompute every root, check every signature.

    Any tampering, and a file that cannot be read as a ledger at all, is a failure (exit 1)
    that names what is wrong.
    """
    from fivesafes.environment import public_ledger

    with opened(data_dir, recover=False) as env:
        report = public_ledger.verify(env, trusted_key)
    if output_format == "json":
        _print_json(
            {
                "ok": report.ok,
                "origin": report.origin,
                "entries": report.entries,
                "checkpoints": report.checkpoints,
                "signed_size": report.signed_size,
                "problems": [p.__dict__ for p in report.problems],
            }
        )
    else:
        console.print(report.render(), markup=False)
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command("prove")
def ledger_prove(
    index: int, data_dir: DataDirOption = None, output_format: FormatOption = "text"
) -> None:
    """Print entry INDEX with its inclusion proof and the signed checkpoint it leads to."""
    from fivesafes.environment import public_ledger

    with opened(data_dir) as env:
        receipt = public_ledger.prove(env, index)
    if output_format == "json":
        _print_json(receipt.to_dict())
    else:
        console.print(receipt.render(), markup=False)


@ledger_app.command("export")
def ledger_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write the static files to")],
    data_dir: DataDirOption = None,
) -> None:
    """Write entries, checkpoints, keys and proofs as static files anyone can serve and check."""
    from fivesafes.environment import public_ledger

    with opened(data_dir) as env:
        summary = public_ledger.export(env, directory)
    console.print(summary.render(), markup=False)


@ledger_app.command("publish")
def ledger_publish(
    directory: Annotated[Path, typer.Argument(help="Folder served as the log's URL prefix")],
    data_dir: DataDirOption = None,
) -> None:
    """Write or bring up to date the C2SP tlog-tiles log (checkpoint, tiles, entry bundles).

    Serve the folder at https://<origin>/ and any tlog-tiles client or witness can follow the
    log; run it again after more entries and it writes only what is new.
    """
    from fivesafes.environment import public_ledger

    with opened(data_dir) as env:
        summary, origin = public_ledger.publish(env, directory)
    console.print(summary.render(), markup=False)
    console.print(f"origin: {origin}", markup=False)


@ledger_app.command("public")
def ledger_public(data_dir: DataDirOption = None, output_format: FormatOption = "text") -> None:
    """Projects, purposes, people's public names, decisions, jobs and releases; no patient data."""
    from fivesafes.environment import public_ledger

    with opened(data_dir, recover=False) as env:
        view = public_ledger.public_view(env)
    if output_format == "json":
        _print_json(view.to_list())
    else:
        console.print(view.render(), markup=False)


@project_app.command("document")
def document_command(
    project_id: str,
    kind: Annotated[
        str, typer.Option("--kind", help="dpia, ethics, data_sharing_agreement, funding")
    ],
    reference: Annotated[str, typer.Option("--reference", help="The document's own reference")],
    ends: Annotated[str, typer.Option("--ends", help="The day it ends (YYYY-MM-DD)")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Record (or renew) a project's DPIA, ethics approval, agreement or funding (an approver);
    once it ends, the project's jobs and release requests stop."""
    from fivesafes.environment import projects

    until = _date(ends, "--ends")
    with opened(data_dir) as env:
        projects.document(env, need_token(token), project_id, kind, reference, until)
    console.print(f"{kind} of {project_id} recorded, until {ends}")


@project_app.command("ceiling")
def ceiling_command(
    project_id: str,
    cpu_cores: Annotated[float, typer.Option("--cpu-cores")],
    memory_mb: Annotated[int, typer.Option("--memory-mb")],
    storage_mb: Annotated[int, typer.Option("--storage-mb", help="The largest file written")],
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="Wall-clock per action")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Set the most each of a project's job actions may use (an approver, not the analyst)."""
    from fivesafes.environment import projects
    from fivesafes.governance.project_records import MIB, Ceiling

    ceiling = Ceiling(cpu_cores, memory_mb * MIB, storage_mb * MIB, max_seconds)
    with opened(data_dir) as env:
        projects.ceiling(env, need_token(token), project_id, ceiling)
    console.print(f"ceiling of {project_id} set")


@project_app.command("close")
def close_command(
    project_id: str,
    archive: Annotated[Path, typer.Option("--archive", help="The sealed archive to write")],
    key_file: Annotated[
        Path, typer.Option("--key-file", help="The backup key (kept apart from the backups)")
    ],
    workspace: Annotated[
        list[Path] | None, typer.Option("--workspace", help="A job workspace of the project")
    ] = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Archive a finished project's outputs, history and workspaces, then delete them (a data
    custodian); the closure is in the ledger and the project can do nothing more."""
    from fivesafes.environment import projects
    from fivesafes.environment.sealed import SealError, read_key

    try:
        key = read_key(key_file)
    except SealError as exc:
        raise fail(str(exc)) from None
    with opened(data_dir) as env:
        done = projects.close(env, need_token(token), project_id, key, archive, workspace or [])
    console.print(
        f"{project_id} closed: {done.files_removed} files archived to {archive} and deleted"
        f"\nsha256 {done.archive_sha256}"
    )
