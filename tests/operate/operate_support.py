"""An environment's people, onboarded as the standard access policy asks: identity checked,
accredited where the role reaches data, trained per role, terms accepted, TOTP set up, and
signed in with it. Tests then take away one thing at a time and watch the refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from governance_support import account

from fivesafes.governance import ControlPlane, Role, create_account, enrol, register_key
from fivesafes.governance.mfa import confirm_totp, set_up_totp, sign_in
from fivesafes.governance.onboarding import (
    accept_terms,
    record_first_custodian,
    record_identity_check,
    record_training,
)
from fivesafes.governance.people import DATA_ROLES, STANDARD_TRAINING, AccessPolicy, Terms
from fivesafes.governance.totp import from_b32, totp

TERMS = Terms("2026-01", "I will use the data only for the approved purpose and keep it safe.")
ISSUER = "Test SDE"


def current_code(cp: ControlPlane, secret: bytes, steps_ahead: int = 0) -> str:
    return totp(secret, cp.now().timestamp() + 30 * steps_ahead)


@dataclass
class People:
    """Accounts under the standard policy: each person's first-factor token, TOTP secret and
    signed-in token."""

    cp: ControlPlane
    first: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    @classmethod
    def start(cls, cp: ControlPlane) -> People:
        cp.policy = AccessPolicy.standard(TERMS)
        people = cls(cp)
        today = cp.today()
        spec = account("cus", Role.DATA_CUSTODIAN, today=today)
        spec = type(spec)(**{**spec.__dict__, "accredited_until": today + timedelta(days=365)})
        people.first["cus"] = enrol(cp, create_account(cp, None, spec).code).token
        courses = {
            c: (today, today + timedelta(days=365)) for c in STANDARD_TRAINING[Role.DATA_CUSTODIAN]
        }
        record_first_custodian(cp, "cus", "photo ID seen in person", courses)
        people._second_factor("cus")
        return people

    def _second_factor(self, person_id: str) -> None:
        first = self.first[person_id]
        accept_terms(self.cp, first, TERMS)
        secret = from_b32(set_up_totp(self.cp, first, ISSUER).secret)
        confirm_totp(self.cp, first, current_code(self.cp, secret))
        self.secrets[person_id] = secret
        self.sign_in(person_id)

    def sign_in(self, person_id: str) -> str:
        """A fresh signed-in token (the clock moves one step, so the code is a new one)."""
        self.cp.clock.advance(30)  # type: ignore[attr-defined]
        code = current_code(self.cp, self.secrets[person_id])
        self.tokens[person_id] = sign_in(self.cp, self.first[person_id], code).token
        return self.tokens[person_id]

    def add(
        self,
        person_id: str,
        *roles: Role,
        skip: frozenset[str] = frozenset(),
        training_days: int = 365,
        **changes: Any,
    ) -> str:
        """Onboard a person fully, leaving out the steps named in ``skip`` (``identity``,
        ``accreditation``, ``training``, ``terms``, ``mfa``); returns their usable token."""
        today: date = self.cp.today()
        custodian = self.tokens["cus"]
        if "accreditation" not in skip and set(roles) & DATA_ROLES:
            changes.setdefault("accredited_until", today + timedelta(days=365))
        spec = account(person_id, *roles, today=today)
        spec = type(spec)(**{**spec.__dict__, **changes})
        self.first[person_id] = enrol(self.cp, create_account(self.cp, custodian, spec).code).token
        if "identity" not in skip:
            record_identity_check(self.cp, custodian, person_id, "photo ID seen in person", today)
        if "training" not in skip:
            for course in sorted({c for r in roles for c in STANDARD_TRAINING[r]}):
                record_training(
                    self.cp,
                    custodian,
                    person_id,
                    course,
                    today,
                    today + timedelta(days=training_days),
                )
        if "mfa" in skip:
            if "terms" not in skip:
                accept_terms(self.cp, self.first[person_id], TERMS)
            self.tokens[person_id] = self.first[person_id]
        elif "terms" in skip:
            secret = from_b32(set_up_totp(self.cp, self.first[person_id], ISSUER).secret)
            confirm_totp(self.cp, self.first[person_id], current_code(self.cp, secret))
            self.secrets[person_id] = secret
            self.sign_in(person_id)
        else:
            self._second_factor(person_id)
        token = self.tokens[person_id]
        if {Role.APPROVER, Role.OUTPUT_CHECKER, Role.DATA_CUSTODIAN} & set(roles) and not skip:
            key = Ed25519PrivateKey.generate()
            register_key(self.cp, token, key.public_key())
            self.keys[person_id] = key
        return token
