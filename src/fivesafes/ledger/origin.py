"""The ledger's origin: the name that tells this environment's log apart from every other's.

A C2SP checkpoint starts with its log's *origin* line, and a verifier, witness or monitor checks
it: two logs with the same origin cannot be told apart by the standard tools. So the origin is
derived from the deployment's public name, the host (and optional path) the environment is known
by, set in ``$FIVESAFES_PUBLIC_NAME``: ``sde.example-icb.nhs.uk`` gives the origin
``sde.example-icb.nhs.uk/ledger``, which is also where tlog-tiles says the log should be served
(``https://sde.example-icb.nhs.uk/ledger/checkpoint``, the origin being the URL prefix without
its scheme).

A log keeps its origin for life: it is signed into every checkpoint and is the name of every
signing key, so the log itself records it (entry 0 names the first key, whose name is the
origin) and :class:`~fivesafes.ledger.log.Ledger` refuses to open a log under another one. An
environment with no public name yet (a laptop, a test) gets a unique local origin,
``fivesafes-<8 hex digits>.localhost/ledger``, made from its first key: never shared by two
logs, and plainly not a published deployment (``.localhost`` is reserved by RFC 6761).
"""

from __future__ import annotations

import hashlib
import os
import re

PUBLIC_NAME_ENV = "FIVESAFES_PUBLIC_NAME"
LEGACY_ORIGIN = "fivesafes.local/ledger"
"""The fixed origin every log had before origins were settings; such logs keep it."""

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PUBLIC_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?(?:/[A-Za-z0-9._~-]+)*")
_MAX_NAME = 253


class OriginError(ValueError):
    """A public name or origin that cannot name a C2SP log; the message says what to change."""


def check_public_name(name: str) -> str:
    """Return ``name`` if it is a host name with an optional path, else raise OriginError."""
    if "://" in name:
        raise OriginError(
            f"{PUBLIC_NAME_ENV} is a host name without a scheme, like sde.example.nhs.uk, "
            f"not {name!r}"
        )
    if len(name) > _MAX_NAME or not _PUBLIC_NAME.fullmatch(name):
        raise OriginError(
            f"{PUBLIC_NAME_ENV} {name!r} is not a lower-case host name with an optional path "
            "(letters, digits, '-' and '.', e.g. sde.example.nhs.uk or example.org/north-sde)"
        )
    return name


def origin_for(public_name: str) -> str:
    """The origin of the ledger of the deployment called ``public_name``."""
    return f"{check_public_name(public_name)}/ledger"


def local_origin(public_key: bytes) -> str:
    """The origin of a log with no public name: unique to its first key, plainly local."""
    return f"fivesafes-{hashlib.sha256(public_key).hexdigest()[:8]}.localhost/ledger"


def configured_origin() -> str | None:
    """The origin ``$FIVESAFES_PUBLIC_NAME`` asks for, or None when it is not set."""
    name = os.environ.get(PUBLIC_NAME_ENV, "").strip()
    return origin_for(name) if name else None


def check_origin(origin: str) -> str:
    """Refuse an origin that C2SP tools would reject or could confuse with another log's.

    tlog-checkpoint: non-empty, and (so that it is also a valid key name, which signed-note
    requires and which the log's keys carry) no Unicode spaces, no '+', no control characters.
    """
    if not origin or "+" in origin or any(c.isspace() or ord(c) < 0x20 for c in origin):
        raise OriginError(f"ledger origin {origin!r} must be non-empty, with no spaces or '+'")
    return origin
