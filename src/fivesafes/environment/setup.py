"""Making a new environment: the only place a pseudonym key and a first custodian are made.

``fivesafes environment init`` is run once, on purpose, by the operator standing it up. It makes
the data directory (owner-only), the pseudonym key, the key that seals statements prepared
for signing elsewhere (:mod:`.prepared`), the control plane and the first data
custodian, whose enrolment code is delivered to them and shown to nobody, and writes the
settings file last: a data directory without it is not an environment and will not open. An
initialisation killed part-way can be run again; it never replaces a key it finds, and refuses
to start over a store whose key is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fivesafes.environment.accounts import AccountCreated, deliver
from fivesafes.environment.core import Environment
from fivesafes.environment.delivery import Delivery, delivery_for
from fivesafes.environment.prepared import make_key as make_statement_key
from fivesafes.environment.refusals import RefusalKind, Refused
from fivesafes.environment.settings import SETTINGS_FILE, Settings, write_settings
from fivesafes.governance import AccessDenied, ControlPlane, NewAccount, Role, create_account
from fivesafes.governance.control import utc_now
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.pseudonym import create_key


@dataclass(frozen=True)
class Initialised:
    """A new environment: where it is, and where its first custodian's code went."""

    root: str
    custodian: AccountCreated
    key_made: bool


def initialise(
    where: DataDir,
    settings: Settings,
    custodian: NewAccount,
    *,
    url: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    delivery: Delivery | None = None,
) -> Initialised:
    """Make the environment at ``where`` with its first data custodian; ``Refused`` if it
    exists already, if the custodian is not a custodian, or if there is no address to send
    their code to."""
    if (where.root / SETTINGS_FILE).exists():
        raise Refused(f"{where.root} is already an environment", RefusalKind.INVALID)
    if Role.DATA_CUSTODIAN not in custodian.roles or not custodian.contact:
        raise Refused(
            "the first account is a data custodian, with a contact address to send their "
            "enrolment code to",
            RefusalKind.INVALID,
        )
    where.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(where.root, 0o700)
    key_made = not where.key_file.exists()
    if key_made and where.database.exists():
        raise Refused(
            f"{where.database} exists but its pseudonym key {where.key_file} does not: restore "
            "the key from its backup; a new one would match no one's opt-out",
            RefusalKind.UNAVAILABLE,
        )
    if key_made:
        create_key(where.key_file)
    make_statement_key(where)
    if where.database.exists():  # an existing store adopted: its key must be the one it knows
        with Store.open(where) as store:
            _ = store.key
    sender = delivery or delivery_for(settings.delivery, where.root)
    with ControlPlane.open(where, url=url, clock=clock) as cp:
        try:
            enrolment = create_account(cp, None, custodian)
        except (AccessDenied, ValueError) as exc:
            raise Refused(str(exc), RefusalKind.INVALID) from None
        environment = Environment(where, settings, cp, sender)
        created = deliver(environment, enrolment)
    write_settings(where.root, settings)
    return Initialised(str(where.root), created, key_made)
