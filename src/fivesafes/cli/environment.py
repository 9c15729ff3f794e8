"""``fivesafes environment init``, and how every command opens the environment it acts in.

The command line is a face: it parses, opens the :class:`~fivesafes.environment.Environment`,
calls one use case with the caller's token, and renders what comes back. A refusal (already in
the ledger when it arrives here) is printed as one line and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from fivesafes.cli.common import DataDirOption, app, console, err, fail
from fivesafes.environment.refusals import Refused
from fivesafes.store.config import DataDir

if TYPE_CHECKING:  # imported where used: every command imports this module, few open anything
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fivesafes.environment.core import Environment

environment_app = typer.Typer(help="An environment: initialise it, once, with its first custodian.")
app.add_typer(environment_app, name="environment", no_args_is_help=True)


@contextmanager
def opened(data_dir: Path | None, *, recover: bool = True) -> Iterator[Environment]:
    """The environment of ``--data-dir`` (or ``$FIVESAFES_DATA_DIR``) under the deployment's
    access policy; say who acted; turn a refusal into a clear error.

    Opening it first settles what a crash left half-done, saying what it found; read-only
    commands pass ``recover=False`` and write nothing.
    """
    from fivesafes.environment.core import Environment

    try:
        with Environment.open(data_dir, recover=recover) as env:
            for said in env.recovered:
                err.print(said)
            try:
                yield env
            finally:
                acting = env.cp.acting
                if acting is not None:
                    roles = ", ".join(sorted(acting.roles))
                    err.print(
                        Text.assemble("acting as ", (acting.person_id, "bold"), f" ({roles})")
                    )
    except Refused as refused:
        raise fail(f"refused: {refused.reason}") from None


def signing_key(path: Path) -> Ed25519PrivateKey:
    """The caller's own decision-signing key, read from the file they keep."""
    from fivesafes.governance.signing import load_person_key

    try:
        return load_person_key(path)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read your signing key {path}: {exc}") from None


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} must be a date like 2027-03-31, not {value!r}") from None


@environment_app.command("init")
def environment_init(
    name: Annotated[str, typer.Option("--name", help="The environment's public name")],
    custodian: Annotated[str, typer.Option("--custodian", help="The first custodian's id")],
    custodian_name: Annotated[str, typer.Option("--custodian-name", help="Their public name")],
    organisation: Annotated[str, typer.Option("--organisation", help="Their organisation")],
    contact: Annotated[
        str, typer.Option("--contact", help="Their e-mail address: their enrolment code goes there")
    ],
    expires: Annotated[str, typer.Option(help="Their account's expiry, YYYY-MM-DD")] = "",
    trained: Annotated[str, typer.Option(help="Their training date, YYYY-MM-DD")] = "",
    data_dir: DataDirOption = None,
) -> None:
    """Make a new environment: its data directory, pseudonym key and first data custodian.

    Run once, by the operator. The custodian's one-time enrolment code is sent to them
    (`fivesafes user enrol CODE` makes their token); nobody else ever sees it.
    """
    from fivesafes.environment.settings import Settings
    from fivesafes.environment.setup import initialise
    from fivesafes.governance.accounts import NewAccount
    from fivesafes.governance.roles import Role

    today = date.today()
    spec = NewAccount(
        person_id=custodian,
        public_name=custodian_name,
        organisation=organisation,
        roles=frozenset({Role.DATA_CUSTODIAN}),
        expires_on=parse_date(expires, "--expires") if expires else today + timedelta(days=365),
        trained_on=parse_date(trained, "--trained") if trained else today,
        contact=contact,
    )
    try:
        made = initialise(DataDir.from_env(data_dir), Settings(name), spec)
    except Refused as refused:
        raise fail(f"refused: {refused.reason}") from None
    console.print(Text.assemble("environment ", (name, "bold"), f" made at {made.root}"))
    if made.key_made:
        console.print("pseudonym key made: back it up offline; without it nothing can be loaded")
    console.print(
        f"{made.custodian.person_id}'s enrolment code was sent to {made.custodian.delivered_to}; "
        f"it works once, until {made.custodian.code_expires_at:%Y-%m-%d %H:%M} UTC"
    )


@environment_app.command("statement-key")
def environment_statement_key(data_dir: DataDirOption = None) -> None:
    """Make the key that seals statements prepared for signing elsewhere, if there is none.

    `environment init` makes it; an environment initialised before it existed refuses the
    management API's two-step decisions and votes until the operator runs this once.
    """
    from fivesafes.environment.prepared import key_path, make_key

    where = DataDir.from_env(data_dir)
    made = make_key(where)
    console.print(f"statement-sealing key {'made' if made else 'already'} at {key_path(where)}")
