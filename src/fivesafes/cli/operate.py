"""Commands for running an environment: doctor, backup, restore, decommission, sign-in with a
second factor, onboarding records, the datasets register, usage, schema upgrades. Each parses,
calls the environment layer, and renders; the rules live there.

Every command that acts in an environment opens it with :func:`~fivesafes.cli.environment.opened`
and calls one use case (:mod:`fivesafes.environment.operations`, ``.onboarding``, ``.datasets``).
A few cannot, and say why where they are: ``doctor`` and ``settings`` check an installation that
may be broken or not yet made (they read the configuration, and ``doctor`` reports what is
missing rather than refuse to open); ``backup key`` writes a file and touches no environment;
``restore`` makes a new environment in an empty directory, which has none to open yet; and
``database upgrade``/``rollback`` move the schema itself, which opening an environment would
first migrate to head.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

if TYPE_CHECKING:
    from fivesafes.environment.configuration import Configuration

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

backup_app = typer.Typer(help="Full backups of an environment, sealed with a key of their own.")
mfa_app = typer.Typer(help="Your second factor: a TOTP authenticator app.")
person_app = typer.Typer(help="Onboarding records: identity checks, training, terms of use.")
database_app = typer.Typer(help="The control plane's schema: upgrade and roll back.")
datasets_app = typer.Typer(help="The datasets register: what is held, whose, under what terms.")
app.add_typer(backup_app, name="backup")
app.add_typer(mfa_app, name="mfa")
app.add_typer(person_app, name="onboarding")
app.add_typer(database_app, name="database")
app.add_typer(datasets_app, name="datasets")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="The deployment's config file", show_default="$FIVESAFES_CONFIG"),
]
KeyFileOption = Annotated[
    Path, typer.Option("--key-file", help="The backup key (kept apart from the backups)")
]


def _config(config: Path | None) -> Configuration:
    from fivesafes.environment.configuration import ConfigurationError, load

    try:
        return load(file=config)
    except ConfigurationError as exc:
        raise fail(str(exc)) from None


@app.command("doctor")
def doctor_command(config: ConfigOption = None, output_format: FormatOption = "text") -> None:
    """Check this installation against its configuration; exit 1 if anything fails."""
    from fivesafes.environment.doctor import Status, doctor

    findings = doctor(_config(config))
    if output_format == "json":
        console.print(
            json.dumps([{"check": f.check, "status": f.status, "message": f.message}
                        for f in findings], indent=2)
        )  # fmt: skip
    else:
        styles = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}
        for f in findings:
            console.print(Text.assemble((f"{f.status:4}", styles[f.status]), f"  {f.check}: ",
                                        f.message))  # fmt: skip
    failed = sum(f.status is Status.FAIL for f in findings)
    if failed:
        console.print(f"{failed} check(s) failed")
        raise typer.Exit(1)


@app.command("settings")
def settings_command(config: ConfigOption = None, output_format: FormatOption = "text") -> None:
    """Every deployment setting, checked, with where its value came from (``--format env``:
    as variables for a service's EnvironmentFile)."""
    from fivesafes.environment.configuration import SETTINGS

    loaded = _config(config)
    for setting in SETTINGS:
        value = loaded.get(setting.key)
        if output_format == "env":
            if value is not None:
                console.print(f"{setting.variable}={value}")
        else:
            shown = "(unset)" if value is None else value
            if "://" in shown and "@" in shown:
                shown = shown.split("//")[0] + "//***@" + shown.split("@", 1)[-1]
            console.print(f"{setting.key} = {shown}    [{loaded.sources[setting.key]}]")


@backup_app.command("key")
def backup_key(out: Annotated[Path, typer.Option("--out", help="Where to write the key")]) -> None:
    """Make a new backup key (mode 0600); keep it offline, apart from the backups."""
    from fivesafes.environment.sealed import new_key

    try:
        new_key(out)
    except FileExistsError:
        raise fail(f"{out} exists: a backup key is never overwritten") from None
    console.print(f"backup key written to {out}")


@backup_app.command("create")
def backup_create(
    archive: Annotated[Path, typer.Argument(help="The sealed archive to write")],
    key_file: KeyFileOption,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Back up the whole environment into one sealed archive (a data custodian)."""
    from fivesafes.environment import operations
    from fivesafes.environment.sealed import SealError, read_key

    try:
        key = read_key(key_file)
    except SealError as exc:
        raise fail(str(exc)) from None
    with opened(data_dir) as env:
        done = operations.backup(env, need_token(token), key, archive)
    console.print(
        f"backed up {done.files} files ({done.size:,} bytes sealed) and {done.ledger_size} "
        f"ledger entries to {done.archive}\nsha256 {done.archive_sha256}"
    )


@app.command("restore")
def restore_command(
    archive: Annotated[Path, typer.Argument(help="The sealed archive")],
    key_file: KeyFileOption,
    data_dir: DataDirOption = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Empty PostgreSQL database to restore into")
    ] = None,
) -> None:
    """Restore a backup into a new, empty data directory, and verify its ledger there."""
    from fivesafes.environment.backup import BackupError, restore
    from fivesafes.environment.sealed import SealError, read_key
    from fivesafes.store.config import DataDir

    try:
        done = restore(archive, read_key(key_file), DataDir.from_env(data_dir), url=database_url)
    except (BackupError, SealError) as exc:
        raise fail(str(exc)) from None
    console.print(
        f"restored {done.files} files into {done.root}; the ledger verifies "
        f"({done.ledger_size} entries, the last saying it was restored)"
    )


@app.command("decommission")
def decommission_command(
    confirm: Annotated[str, typer.Option("--confirm", help="The data directory's path, typed")],
    public_copy: Annotated[
        Path, typer.Option("--public-copy", help="Where to keep the public ledger")
    ],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Destroy this environment's data and keys, leaving its public ledger verifiable."""
    from fivesafes.environment import operations

    with opened(data_dir) as env:
        done = operations.decommission(env, need_token(token), public_copy, confirm)
    console.print(
        f"destroyed {done.files_destroyed} files ({done.bytes_destroyed:,} bytes); the public "
        f"ledger is in {done.public_copy}, its last entry {done.final_entry} saying so.\n"
        "Now destroy the backup key and the encrypted volume's key (see the docs)."
    )


@mfa_app.command("set-up")
def mfa_set_up(token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """Make your TOTP secret (shown once): add it to your authenticator app."""
    from fivesafes.environment import onboarding

    with opened(data_dir) as env:
        enrolment = onboarding.set_up_second_factor(env, need_token(token))
    console.print(f"secret {enrolment.secret}\n{enrolment.uri}")
    console.print("then: fivesafes mfa confirm CODE")


@mfa_app.command("confirm")
def mfa_confirm(code: str, token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """Confirm your authenticator with one code from it."""
    from fivesafes.environment import onboarding

    with opened(data_dir) as env:
        onboarding.confirm_second_factor(env, need_token(token), code)
    console.print("second factor confirmed: sign in with `fivesafes sign-in CODE`")


@mfa_app.command("reset")
def mfa_reset(person_id: str, token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """Remove someone's second factor so they can set up a new one (a data custodian)."""
    from fivesafes.environment import onboarding

    with opened(data_dir) as env:
        onboarding.reset_second_factor(env, need_token(token), person_id)
    console.print(f"{person_id}'s second factor removed")


@app.command("sign-in")
def sign_in_command(
    code: Annotated[str, typer.Argument(help="The code your authenticator shows now")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Exchange your credential and a current code for a signed-in token (12 hours)."""
    from fivesafes.environment import onboarding

    with opened(data_dir) as env:
        issued = onboarding.sign_in(env, need_token(token), code)
    console.print(f"{issued.token}\nexpires {issued.expires_at:%Y-%m-%d %H:%M} UTC")


@person_app.command("identity")
def record_identity(
    person_id: str,
    method: Annotated[str, typer.Option("--method", help="How it was checked")],
    on: Annotated[str, typer.Option("--on", help="When (YYYY-MM-DD)")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Record how a person's identity was verified (a data custodian)."""
    from fivesafes.environment import onboarding

    day = _day(on)
    with opened(data_dir) as env:
        onboarding.record_identity(env, need_token(token), person_id, method, day)
    console.print(f"identity check of {person_id} recorded")


@person_app.command("training")
def training_command(
    person_id: str,
    course: Annotated[str, typer.Option("--course")],
    completed: Annotated[str, typer.Option("--completed", help="YYYY-MM-DD")],
    expires: Annotated[str, typer.Option("--expires", help="YYYY-MM-DD")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Record a completed course and when it must be repeated (a data custodian)."""
    from fivesafes.environment import onboarding

    done, until = _day(completed), _day(expires)
    with opened(data_dir) as env:
        onboarding.record_training(env, need_token(token), person_id, course, done, until)
    console.print(f"{course} training of {person_id} recorded, until {expires}")


@person_app.command("accept-terms")
def accept_terms_command(
    config: ConfigOption = None, token: TokenOption = None, data_dir: DataDirOption = None
) -> None:
    """Accept the deployment's terms of use (read them first: `terms_file`)."""
    from fivesafes.environment import onboarding
    from fivesafes.environment.access import terms_of
    from fivesafes.environment.configuration import ConfigurationError

    try:
        terms = terms_of(_config(config))
    except ConfigurationError as exc:
        raise fail(str(exc)) from None
    with opened(data_dir) as env:
        onboarding.accept_terms(env, need_token(token), terms)
    console.print(f"terms of use version {terms.version} accepted")


@app.command("usage")
def usage_command(
    since: Annotated[str, typer.Option("--since", help="From (YYYY-MM-DD, UTC)")],
    until: Annotated[str, typer.Option("--until", help="Up to, not including")],
    output_format: FormatOption = "text",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Who used the environment in a period, what each project ran and released, what was
    loaded, and the storage each takes now (a data custodian)."""
    from dataclasses import asdict
    from datetime import UTC, datetime

    from fivesafes.environment import operations

    start, end = (datetime.combine(_day(d), datetime.min.time(), UTC) for d in (since, until))
    with opened(data_dir) as env:
        got = operations.usage(env, need_token(token), start, end)
    if output_format == "json":
        shown = {"people": dict(got.people), "loads": got.loads,
                 "records_loaded": got.records_loaded, "store_bytes": got.store_bytes,
                 "projects": {k: asdict(v) for k, v in got.projects.items()}}  # fmt: skip
        console.print(json.dumps(shown, indent=2))
        return
    console.print(f"{since} to {until}: {len(got.people)} people active, {got.loads} loads "
                  f"({got.records_loaded:,} records), store {got.store_bytes:,} bytes")  # fmt: skip
    for person, actions in sorted(got.people.items()):
        console.print(f"  {person}: {actions} actions")
    for project, use in got.projects.items():
        console.print(f"  {project}: {use.jobs} jobs, {use.release_requests} release requests, "
                      f"{use.releases} releases, {use.released_bytes + use.history_bytes:,} "
                      "bytes kept")  # fmt: skip


@datasets_app.command("register")
def dataset_register(
    dataset: str,
    owner: Annotated[str, typer.Option("--owner", help="The information asset owner")],
    agreement: Annotated[str, typer.Option("--agreement", help="The data-sharing agreement")],
    sensitivity: Annotated[
        str, typer.Option("--sensitivity", help="identifiable, pseudonymised, aggregate, public")
    ],
    legal_basis: Annotated[str, typer.Option("--legal-basis")],
    retain_until: Annotated[str, typer.Option("--retain-until", help="YYYY-MM-DD")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Register a dataset (a data custodian); an approver then agrees to it."""
    from fivesafes.environment import datasets
    from fivesafes.governance.datasets import DatasetEntry, Sensitivity

    try:
        kind = Sensitivity(sensitivity)
    except ValueError as exc:
        raise fail(str(exc)) from None
    entry = DatasetEntry(dataset, owner, agreement, kind, legal_basis, _day(retain_until))
    with opened(data_dir) as env:
        datasets.register(env, need_token(token), entry)
    console.print(f"{dataset} registered; it waits for an approver's agreement")


@datasets_app.command("approve")
def dataset_approve(
    dataset: str, token: TokenOption = None, data_dir: DataDirOption = None
) -> None:
    """Agree, for the data controller, that a registered dataset may be loaded and used."""
    from fivesafes.environment import datasets

    with opened(data_dir) as env:
        datasets.approve(env, need_token(token), dataset)
    console.print(f"{dataset} agreed")


@datasets_app.command("delete")
def dataset_delete(dataset: str, token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """Delete a dataset past its retention date for good (a data custodian): its rows, the
    resources only it was made from, and the old store file that held them."""
    from fivesafes.environment import datasets

    with opened(data_dir) as env:
        rows = datasets.delete(env, need_token(token), dataset)
    console.print(f"{dataset} deleted ({rows} rows); the ledger records its deletion")


@datasets_app.command("list")
def dataset_list(output_format: FormatOption = "text", data_dir: DataDirOption = None) -> None:
    """Every dataset held, whose it is, under what terms, and the projects that may use it."""
    from fivesafes.environment import datasets

    with opened(data_dir) as env:
        held = datasets.held(env)
    rows = [{"dataset": h.entry.dataset, "owner": h.entry.owner, "agreement": h.entry.agreement,
             "sensitivity": h.entry.sensitivity.value, "legal_basis": h.entry.legal_basis,
             "retain_until": h.entry.retention_until.isoformat(),
             "agreed_by": h.entry.approved_by, "deleted": h.entry.deleted,
             "projects": list(h.projects)} for h in held]  # fmt: skip
    if output_format == "json":
        console.print(json.dumps(rows, indent=2))
        return
    for h in held:
        e = h.entry
        agreed = f"agreed by {e.approved_by}" if e.approved_by else "awaiting agreement"
        console.print(f"{e.dataset}: {e.sensitivity.value}, {e.owner} ({e.agreement}), until "
                      f"{e.retention_until}, {agreed}; used by "
                      f"{', '.join(h.projects) or 'no project'}")  # fmt: skip


@datasets_app.command("delegate")
def dataset_delegate(
    dataset: str,
    person: str,
    authority: Annotated[
        str, typer.Option("--authority", help="The owner's authority: their letter, by reference")
    ],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Record that PERSON may approve releases from DATASET, on its owner's authority (a data
    custodian); an approver then confirms it."""
    from fivesafes.environment import datasets

    with opened(data_dir) as env:
        datasets.delegate(env, need_token(token), dataset, person, authority)
    console.print(f"{person} recorded as a release delegate of {dataset}; it waits for an approver")


@datasets_app.command("confirm-delegate")
def dataset_confirm_delegate(
    dataset: str, person: str, token: TokenOption = None, data_dir: DataDirOption = None
) -> None:
    """Confirm a delegation another person recorded (an approver)."""
    from fivesafes.environment import datasets

    with opened(data_dir) as env:
        datasets.confirm(env, need_token(token), dataset, person)
    console.print(f"{person} is a release delegate of {dataset}")


@datasets_app.command("withdraw-delegate")
def dataset_withdraw_delegate(
    dataset: str, person: str, token: TokenOption = None, data_dir: DataDirOption = None
) -> None:
    """Withdraw a delegation (a data custodian): PERSON judges no more of DATASET's outputs."""
    from fivesafes.environment import datasets

    with opened(data_dir) as env:
        datasets.withdraw(env, need_token(token), dataset, person)
    console.print(f"{person} is no longer a release delegate of {dataset}")


@datasets_app.command("delegates")
def dataset_delegates(output_format: FormatOption = "text", data_dir: DataDirOption = None) -> None:
    """Every release delegation recorded: who may approve outputs derived from each dataset."""
    from fivesafes.environment import datasets

    with opened(data_dir) as env:
        found = datasets.delegates(env)
    rows = [{"dataset": d.dataset, "person": d.person_id, "owner": d.owner,
             "recorded_by": d.recorded_by, "confirmed_by": d.confirmed_by,
             "withdrawn": d.withdrawn_at is not None, "in_force": d.in_force}
            for d in found]  # fmt: skip
    if output_format == "json":
        console.print(json.dumps(rows, indent=2))
        return
    for d in found:
        state = f"confirmed by {d.confirmed_by}" if d.confirmed_by else "awaiting confirmation"
        state = "withdrawn" if d.withdrawn_at else state
        console.print(f"{d.dataset}: {d.person_id}, for {d.owner}, recorded by {d.recorded_by}, "
                      f"{state}")  # fmt: skip


@database_app.command("upgrade")
def database_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    data_dir: DataDirOption = None,
) -> None:
    """Migrate the control plane's schema up to REVISION (every open does this to head)."""
    _migrate(data_dir, revision, up=True)


@database_app.command("rollback")
def database_rollback(
    revision: Annotated[str, typer.Argument(help="The revision to roll back to")],
    data_dir: DataDirOption = None,
) -> None:
    """Roll the control plane's schema back to REVISION (back up first: tables go)."""
    _migrate(data_dir, revision, up=False)


def _migrate(data_dir: Path | None, revision: str, *, up: bool) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError
    from sqlalchemy import create_engine

    from fivesafes.governance.database import database_url
    from fivesafes.store.config import DataDir

    config = Config()
    config.set_main_option("script_location", "fivesafes.governance:migrations")
    engine = create_engine(database_url(DataDir.from_env(data_dir).root))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.upgrade if up else command.downgrade)(config, revision)
    except CommandError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
    console.print(f"control plane schema {'upgraded' if up else 'rolled back'} to {revision}")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{text!r} is not a date (YYYY-MM-DD)") from None
