"""Deciders' own Ed25519 keys and the signed statements that make every decision provable.

A decision is a small canonical-JSON statement (sorted keys, UTF-8, as ledger entries are) naming
the project, the exact application version (by its SHA-256), the decision, a hash of the reasons,
the decider, the key and the time. The decider signs it with their own private key, which never
leaves them; the server checks the signature against the public key that person registered
before storing or logging anything. The statement and signature go into the public ledger with
the public key, so anyone can re-check who decided what without trusting the operator.
Reasons are hashed, not copied, into the statement: the ledger is public and permanent, and
free text may carry something that must not be published.

A decider away from the server's command line (a script over the management API) signs in two
steps, so their private key is never sent anywhere: the environment prepares the statement it
would record, fixing its moment, a random nonce and an expiry (:class:`Pinning`); the decider
signs its canonical bytes on their own machine and sends back only the signature
(:class:`SignedElsewhere`). The governance code that records a decision builds the statement
afresh, exactly as it does for a key in hand, and records it only if what it built is what the
environment prepared and what the decider signed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fivesafes.ledger.keys import read_key, write_key


class DecisionSigner(Protocol):
    """Whatever holds a decider's private key: an :class:`Ed25519PrivateKey` read from their file,
    or a wrapper round a smart card or hardware key, so long as it signs bytes with Ed25519 and
    names its public key. The server only ever sees the signature."""

    def sign(self, data: bytes) -> bytes: ...

    def public_key(self) -> Ed25519PublicKey: ...


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def key_id_of(raw_public_key: bytes) -> str:
    """A short, stable name for a public key: the first 16 bytes of its SHA-256, in hex."""
    return hashlib.sha256(raw_public_key).hexdigest()[:32]


def create_person_key(path: Path) -> Ed25519PublicKey:
    """Generate a decider's key into a new owner-only PEM file; returns the public half."""
    if path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite a signing key")
    key = Ed25519PrivateKey.generate()
    write_key(path, key)
    return key.public_key()


def load_person_key(path: Path) -> Ed25519PrivateKey:
    return read_key(path)


def canonical(statement: Mapping[str, Any]) -> bytes:
    return orjson.dumps(statement, option=orjson.OPT_SORT_KEYS)


def sign_statement(key: DecisionSigner, statement: Mapping[str, Any]) -> str:
    """The base64 Ed25519 signature of the statement's canonical bytes."""
    return b64(key.sign(canonical(statement)))


def signature_valid(raw_public_key: bytes, statement: Mapping[str, Any], signature: str) -> bool:
    try:
        public = Ed25519PublicKey.from_public_bytes(raw_public_key)
        public.verify(base64.b64decode(signature, validate=True), canonical(statement))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Pinning:
    """What the environment fixes when it prepares a statement to be signed elsewhere: the
    statement's moment, a random nonce and when the preparation lapses. The nonce and expiry
    go into the signed statement, so the signature itself says which preparation it answers
    and until when it may be used."""

    at: datetime
    nonce: str
    expires_at: datetime

    def fields(self) -> dict[str, str]:
        """The fields a pinned statement carries besides its moment."""
        return {"nonce": self.nonce, "expires_at": self.expires_at.isoformat()}


@dataclass(frozen=True)
class SignedElsewhere:
    """A prepared statement's signature, made on the decider's own machine with the key named.

    ``vouch`` says whether canonical statement bytes are exactly what the environment prepared
    (its seal over them checks out); governance asks it of the statement it builds afresh, so a
    statement changed in any field, or one the environment never prepared, is refused."""

    pinning: Pinning
    key_id: str
    signature: str
    vouch: Callable[[bytes], bool]

    def problem(self, statement: Mapping[str, Any], now: datetime) -> str | None:
        """Why the statement built afresh may not be recorded with this signature, or None."""
        if not self.vouch(canonical(statement)):
            return (
                "the statement is not one this environment prepared, or it (or what it pins) "
                "has changed since: prepare a new one"
            )
        if now >= self.pinning.expires_at:
            return (
                f"the prepared statement expired at {self.pinning.expires_at.isoformat()}: "
                "prepare a new one"
            )
        return None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_ledger_decisions(entries: Iterable[bytes]) -> list[tuple[int, bool]]:
    """Re-check every signed decision in a ledger from its public entries alone.

    Keys come from ``account`` entries with ``change: key_registered``; each ``approval`` entry
    holds its signed statement's fields plus :data:`UNSIGNED_APPROVAL_FIELDS`.
    Returns (entry index, signature valid and made by the key's own holder) for each decision.
    """
    keys: dict[str, tuple[str, bytes]] = {}
    results = []
    for raw in entries:
        record = orjson.loads(raw)
        subject = record["subject"]
        if record["kind"] == "account" and subject.get("change") == "key_registered":
            keys[subject["key_id"]] = (
                subject["person_id"],
                base64.b64decode(subject["public_key"]),
            )
        elif record["kind"] == "approval" and "signature" in subject:
            statement = {k: v for k, v in subject.items() if k not in UNSIGNED_APPROVAL_FIELDS}
            owner, public = keys.get(subject.get("key_id", ""), ("", b""))
            ok = owner == subject.get("person_id") == record["actor"] and signature_valid(
                public, statement, subject["signature"]
            )
            results.append((record["index"], ok))
    return results


UNSIGNED_APPROVAL_FIELDS = frozenset({"signature", "what", "waited_seconds", "intent"})
"""Fields an approval entry adds around the signed statement (``intent``: the index of the intent
entry it answers, see :mod:`fivesafes.ledger.intents`)."""
