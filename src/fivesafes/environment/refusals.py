"""The one way the environment says no: :class:`Refused`, written to the ledger every time.

Every use case runs inside :func:`refusing`. Whatever a stage below raises because the request
cannot go ahead (a role or project condition missing, another person's key, a second vote, one
approval where two are needed, bad input, a missing store or sandbox) leaves the use case as one
``Refused`` carrying the reason and what kind of no it is, so every face can render it the same
way (a CLI message and exit code 2; an HTTP status). And every refusal is a ``refusal`` entry in
the ledger, saying who was refused, doing what, and why: a login that was allowed and then
refused is never left looking like an allowed login.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING

from fivesafes.governance.roles import AccessDenied
from fivesafes.ledger.entry import PatientDataError
from fivesafes.ledger.errors import LedgerError
from fivesafes.store.pseudonym import PseudonymKeyError

if TYPE_CHECKING:  # a refusal is caught in every command: the control plane's ORM is not needed
    from fivesafes.governance.control import ControlPlane


class RefusalKind(StrEnum):
    """What kind of no: for a face to choose its words (or its HTTP status) by."""

    FORBIDDEN = "forbidden"
    """The caller may not: credential, role, project membership, separation of duties."""
    INVALID = "invalid"
    """The request itself cannot be done as asked: bad input, wrong state, unknown name."""
    UNAVAILABLE = "unavailable"
    """The environment cannot do it safely now: a key, store, sandbox or setting is missing."""


class Refused(Exception):
    """A use case that did not go ahead, and why; already in the ledger when raised."""

    def __init__(self, reason: str, kind: RefusalKind = RefusalKind.INVALID) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.logged = False


def kind_of(error: BaseException) -> RefusalKind | None:
    """How a stage's error reads as a refusal; None for an error that is a fault, not a no.

    The stages' own errors are imported here, when something was refused, so that opening an
    environment does not load every stage."""
    from fivesafes.environment.job_records import JobBusy
    from fivesafes.jobs import RunInProgress, SandboxUnavailable
    from fivesafes.store.upgrades import StoreOutdated

    unavailable = (
        PseudonymKeyError,
        SandboxUnavailable,
        RunInProgress,
        JobBusy,
        FileNotFoundError,
        StoreOutdated,
    )
    if isinstance(error, AccessDenied):
        return RefusalKind.FORBIDDEN
    if isinstance(error, (*unavailable, LedgerError)):
        return RefusalKind.UNAVAILABLE
    if isinstance(error, ValueError | KeyError):  # bad input, wrong state, unknown name
        return RefusalKind.INVALID
    from fivesafes.query.study import StudyError

    if isinstance(error, StudyError):
        return RefusalKind.INVALID
    return None


def reason_of(error: BaseException) -> str:
    """The words of a refusal (a ``KeyError`` keeps its message without Python's quotes)."""
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error)


def log_refusal(cp: ControlPlane, action: str, reason: str, kind: RefusalKind) -> None:
    """The ledger entry for a refusal: who (the caller, if their credential was checked), what
    they tried, and why; a reason that looks like personal data is kept as its hash only."""
    actor = cp.acting.person_id if cp.acting is not None else "unknown"
    subject: dict[str, str] = {"action": action, "kind": kind.value, "reason": reason}
    if cp.acting is not None and cp.acting.token_id:
        subject["token_id"] = cp.acting.token_id
    try:
        cp.log("refusal", subject, actor)
    except PatientDataError:
        subject["reason"] = "withheld: it looks like personal data"
        subject["reason_sha256"] = hashlib.sha256(reason.encode("utf-8")).hexdigest()
        cp.log("refusal", subject, actor)


@contextmanager
def refusing(cp: ControlPlane, action: str) -> Iterator[None]:
    """Run one use case: any no from below becomes a logged :class:`Refused`.

    ``cp.acting`` (who the last checked credential belonged to) is cleared first, so a refusal
    is never put down to the previous caller.
    """
    cp.acting = None
    try:
        yield
    except Refused as refused:
        if not refused.logged:  # a use case inside another is logged once, by the inner one
            log_refusal(cp, action, refused.reason, refused.kind)
            refused.logged = True
        raise
    except Exception as error:
        kind = kind_of(error)
        if kind is None:
            raise
        made = Refused(reason_of(error), kind)
        log_refusal(cp, action, made.reason, kind)
        made.logged = True
        raise made from None
