"""Time-based one-time passwords (RFC 6238), the second factor every interactive account holds.

SATRE 3.2.04 asks for multi-factor authentication for every user: something the person knows or
holds (their personal credential) and something only their device holds (a TOTP secret shared
once, at set-up, with an authenticator app). The algorithm is RFC 6238 over RFC 4226's HOTP:
HMAC of the count of 30-second steps since the Unix epoch, dynamically truncated to 6 digits.
SHA-1 is the default because every authenticator app implements it (RFC 6238 allows SHA-256 and
SHA-512; the tests check all three against the RFC's own vectors).

A code is accepted within one step either side of now (clock drift between phone and server),
and a step, once used, is never accepted again for that person (RFC 6238 §5.2: a replayed code
is refused), which is why :func:`matching_step` returns the step it matched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
"""How many steps either side of now a code may be from (RFC 6238 §5.2 recommends at most one)."""
SECRET_BYTES = 20
"""160 bits, the length RFC 4226 §4 recommends for an HMAC-SHA-1 key."""
ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def hotp(secret: bytes, counter: int, digits: int = DIGITS, algorithm: str = "SHA1") -> str:
    """RFC 4226 HOTP: HMAC the 8-byte big-endian counter, truncate dynamically, keep ``digits``."""
    mac = hmac.new(secret, struct.pack(">Q", counter), ALGORITHMS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_at(unix_time: float) -> int:
    """The RFC 6238 time step ``T`` holding ``unix_time`` (T0 = 0, X = 30 s)."""
    return int(unix_time // STEP_SECONDS)


def totp(secret: bytes, unix_time: float, digits: int = DIGITS, algorithm: str = "SHA1") -> str:
    """The code a device shows at ``unix_time``."""
    return hotp(secret, step_at(unix_time), digits, algorithm)


def matching_step(secret: bytes, code: str, unix_time: float, after_step: int = -1) -> int | None:
    """The time step within the drift window whose code is ``code``, later than ``after_step``
    (the last step this person used), or None: a wrong, stale or replayed code."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step_at(unix_time)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if step > after_step and hmac.compare_digest(hotp(secret, step), code):
            return step
    return None


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def b32(secret: bytes) -> str:
    """The secret as authenticator apps take it typed in: base32 without padding."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def from_b32(text: str) -> bytes:
    cleaned = text.strip().replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


@dataclass(frozen=True)
class Enrolment:
    """A new TOTP secret as shown to its person once: typed in, or scanned as a URI."""

    person_id: str
    secret: str
    uri: str


def provisioning_uri(secret: bytes, person_id: str, issuer: str) -> str:
    """The ``otpauth://`` URI authenticator apps read from a QR code (Key Uri Format)."""
    label = quote(f"{issuer}:{person_id}")
    query = urlencode({"secret": b32(secret), "issuer": issuer, "digits": DIGITS})
    return f"otpauth://totp/{label}?{query}&period={STEP_SECONDS}"
