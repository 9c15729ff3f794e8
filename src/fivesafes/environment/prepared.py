"""Statements prepared for a decider to sign on their own machine, so their key never travels.

An approver's decision and an output checker's vote are signed with the person's own Ed25519
key. Over the management API the environment never asks for that key: it prepares the exact
statement governance would record (:func:`fivesafes.governance.projects.decision_statement`,
:func:`fivesafes.release.reviews.vote_statement`), pinned with its moment, a random nonce and an
expiry, and seals it with an HMAC under a key of its own. The decider signs the statement's
canonical bytes wherever their key is and sends back the statement, the seal and the signature.
Governance then builds the statement afresh from the project or request as it is now and
records it only if the seal vouches for exactly those bytes, the preparation has not expired,
and the signature verifies against the decider's registered key.

Nothing is stored between the two steps: the seal is the record of what was prepared, so this
needs no table. A prepared statement is used once because what it pins is: a decision names
the application's version and is taken only while that version waits for one, a vote names the
request and each checker votes on a request once; so a signature sent again is refused by the
rule it would break, and after its expiry by the expiry.

The sealing key is 32 random bytes in the environment's ``keys`` folder, made when the
environment is initialised (``fivesafes environment statement-key`` makes one for an environment
initialised before it existed). Without it both steps are refused as unavailable: a seal made
with a key nobody chose would vouch for nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fivesafes.environment.refusals import RefusalKind, Refused
from fivesafes.environment.sealed import KEY_BYTES, new_key
from fivesafes.governance.signing import Pinning, SignedElsewhere, canonical
from fivesafes.store.config import DataDir

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment

KEY_FILE = "statement-seal.key"
LIFETIME = timedelta(minutes=10)
"""How long a prepared statement may be signed and sent back: long enough to read and sign,
short enough that a statement left lying about soon can be used by nobody."""
DECISION = "decision"
VOTE = "vote"
SIGNATURE_BYTES = 64


def key_path(data_dir: DataDir) -> Path:
    """Where the sealing key lives: beside the pseudonym and ledger keys."""
    return data_dir.key_file.parent / KEY_FILE


def make_key(data_dir: DataDir) -> bool:
    """Make the sealing key if there is none (owner-only); whether one was made."""
    path = key_path(data_dir)
    if path.exists():
        return False
    new_key(path)
    return True


def _key(env: Environment) -> bytes:
    path = key_path(env.data_dir)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise Refused(
            f"no statement-sealing key at {path}: statements cannot be prepared for signing "
            "elsewhere; the operator makes one with `fivesafes environment statement-key`",
            RefusalKind.UNAVAILABLE,
        ) from None
    if len(key) != KEY_BYTES:
        raise Refused(
            f"{path}: a statement-sealing key is {KEY_BYTES} bytes, found {len(key)}",
            RefusalKind.UNAVAILABLE,
        )
    return key


def _mac(key: bytes, kind: str, statement: bytes) -> str:
    return hmac.new(key, kind.encode() + b"\n" + statement, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Prepared:
    """A statement ready to sign: the statement, its canonical bytes (what is signed) and the
    environment's seal over them, to be sent back with the signature."""

    statement: dict[str, Any]
    canonical: bytes
    seal: str
    expires_at: datetime


def pinning(env: Environment) -> tuple[bytes, Pinning]:
    """The sealing key (refused if missing, before anything else is asked) and a new pinning."""
    key = _key(env)
    now = env.cp.now()
    return key, Pinning(now, secrets.token_hex(16), now + LIFETIME)


def prepared(key: bytes, kind: str, statement: dict[str, Any], pinned: Pinning) -> Prepared:
    text = canonical(statement)
    return Prepared(statement, text, _mac(key, kind, text), pinned.expires_at)


def _field(statement: Mapping[str, Any], name: str) -> str:
    value = statement.get(name)
    if not isinstance(value, str) or not value:
        raise Refused(f"statement.{name}: missing, or not a string", RefusalKind.INVALID)
    return value


def _moment(statement: Mapping[str, Any], name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(_field(statement, name))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Refused(
            f"statement.{name}: not an ISO 8601 time with its offset", RefusalKind.INVALID
        )
    return moment


Choice = TypeVar("Choice", bound=StrEnum)


def choice_of(statement: Mapping[str, Any], name: str, choices: type[Choice]) -> Choice:
    """The statement's verdict (or other choice) ``name``, one of ``choices``."""
    try:
        return choices(str(statement.get(name)))
    except ValueError:
        known = ", ".join(c.value for c in choices)
        raise Refused(f"statement.{name}: expected one of {known}", RefusalKind.INVALID) from None


def signed_elsewhere(
    env: Environment,
    kind: str,
    statement: Mapping[str, Any],
    moment: str,
    signature: str,
    seal: str,
) -> SignedElsewhere:
    """What governance needs to record a statement prepared here and signed elsewhere: the
    pinning and key it names, the signature, and the seal's word on what governance builds.

    ``moment`` names the statement's time field (``decided_at``, ``voted_at``). Only the shape
    is checked here; whether the statement is the one prepared is the seal's to say, over the
    statement governance builds afresh."""
    key = _key(env)
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != SIGNATURE_BYTES:
        raise Refused(
            f"signature: expected the base64 of a {SIGNATURE_BYTES}-byte Ed25519 signature",
            RefusalKind.INVALID,
        )
    pinned = Pinning(
        _moment(statement, moment), _field(statement, "nonce"), _moment(statement, "expires_at")
    )

    def vouch(built: bytes) -> bool:
        return hmac.compare_digest(_mac(key, kind, built).encode(), seal.encode())

    key_id = _field(statement, "key_id")
    return SignedElsewhere(pinned, key_id, base64.b64encode(raw).decode(), vouch)
