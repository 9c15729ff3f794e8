"""Helpers for tests of the environment layer and its faces: a new environment, people enrolled
through their own codes (read from the file outbox, which stands for their mail)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fivesafes.environment import Environment, accounts
from fivesafes.environment.delivery import OUTBOX
from fivesafes.environment.settings import Settings
from fivesafes.environment.setup import initialise
from fivesafes.governance import NewAccount, Role
from fivesafes.store.config import DataDir

DECIDERS = {Role.APPROVER, Role.OUTPUT_CHECKER, Role.DATA_CUSTODIAN}


def address(person_id: str) -> str:
    return f"{person_id}@example.org"


def outbox_code(data_root: Path, to: str) -> str:
    """The latest enrolment code sent to ``to``: what that person reads in their mail."""
    codes = [
        match.group(1)
        for path in sorted((data_root / OUTBOX).glob("*.eml"))
        if f"To: {to}\n" in (text := path.read_text(encoding="utf-8"))
        for match in [re.search(r"fivesafes user enrol (fse_[A-Za-z0-9_-]+)", text)]
        if match
    ]
    assert codes, f"no enrolment code was sent to {to}"
    return codes[-1]


def person(person_id: str, *roles: Role, today: date | None = None) -> NewAccount:
    today = today or date.today()
    return NewAccount(
        person_id=person_id,
        public_name=f"Person {person_id.title()}",
        organisation="Test Trust",
        roles=frozenset(roles),
        expires_on=today + timedelta(days=365),
        trained_on=today - timedelta(days=30),
        contact=address(person_id),
    )


@dataclass
class People:
    """An initialised environment's people: their own tokens, and deciders' signing keys."""

    env: Environment
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    def enrol(self, person_id: str) -> str:
        code = outbox_code(self.env.data_dir.root, address(person_id))
        self.tokens[person_id] = accounts.enrol(self.env, code).token
        return self.tokens[person_id]

    def add(self, person_id: str, *roles: Role) -> str:
        """A custodian creates the account; the person enrols with the code they were sent."""
        accounts.create(self.env, self.tokens["cus"], person(person_id, *roles))
        token = self.enrol(person_id)
        if DECIDERS & set(roles):
            self.key(person_id)
        return token

    def key(self, person_id: str) -> Ed25519PrivateKey:
        key = self.keys[person_id] = Ed25519PrivateKey.generate()
        accounts.register_key(self.env, self.tokens[person_id], key.public_key())
        return key


def new_environment(data_dir: DataDir) -> None:
    """Initialise an environment whose first custodian is 'cus' (not yet enrolled)."""
    initialise(data_dir, Settings("Test environment"), person("cus", Role.DATA_CUSTODIAN))


def open_with_custodian(data_dir: DataDir) -> People:
    """A new environment at ``data_dir``, opened, with its custodian enrolled and keyed."""
    new_environment(data_dir)
    people = People(Environment.open(data_dir))
    people.enrol("cus")
    people.key("cus")
    return people


def steps(oid: str, pid: str, value: int = 9000, when: str = "2024-02-01") -> dict[str, object]:
    """A day's steps a person shared from their own device (a wearable observation)."""
    from fivesafes.synth.records import quantity
    from fivesafes.synth.wearables import ACTIVITY, KINDS

    code, unit = KINDS[0]
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": ACTIVITY,
        "code": code.concept,
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": quantity(value, *unit),
    }
