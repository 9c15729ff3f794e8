"""The words of the release workflow: a request's states, reviewers' verdicts, each file's outcome.

A request moves draft → submitted → under_review → approved / returned / rejected → released.
Two output checkers vote; if they disagree the request waits for a third (``awaiting_third``),
whose vote decides. These names are what the ledger, the command line and the documentation all use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from fivesafes.release.files import FileKind


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    AWAITING_THIRD = "awaiting_third"
    APPROVED = "approved"
    RETURNED = "returned"
    REJECTED = "rejected"
    RELEASED = "released"


OPEN_FOR_VOTES = frozenset({State.SUBMITTED, State.UNDER_REVIEW, State.AWAITING_THIRD})


class Verdict(StrEnum):
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"


class Outcome(StrEnum):
    """What the automatic checks made of one file."""

    PASSED = "passed"
    """Every rule passed: the file is published exactly as the job wrote it."""
    SAFE_VERSION = "safe_version"
    """Some cells broke a rule that suppression or rounding fixes: the checker's safe version
    is what gets published, never the file as written."""
    REVIEW_ONLY = "review_only"
    """Text the rules cannot read: only the reviewers' eyes check it."""


class ReleaseError(ValueError):
    """A request, vote or publication that cannot go ahead; the message says what to do."""


@dataclass(frozen=True)
class FileCheck:
    """One file as requested: its bytes by hash, the job that wrote it, and what the checks found.

    ``report`` is the disclosure check report as JSON-ready data (never the hidden values).
    """

    path: str
    sha256: str
    size: int
    job_id: str
    kind: FileKind
    outcome: Outcome
    report: dict[str, Any]
    exception: str = ""

    @property
    def needs_exception(self) -> bool:
        return self.outcome is not Outcome.PASSED


@dataclass(frozen=True)
class Vote:
    """A reviewer's vote as someone allowed to see it sees it."""

    person_id: str
    round: int
    verdict: Verdict
    comments: str
    voted_at: datetime
    statement: dict[str, Any]
    signature: str


@dataclass(frozen=True)
class ReleaseView:
    """A request as one caller may see it: votes of others stay sealed until both are in."""

    release_id: str
    project_id: str
    requester: str
    state: State
    justification: str
    note: str
    created_at: datetime
    request_sha256: str
    files: tuple[FileCheck, ...]
    votes: tuple[Vote, ...] = ()
    sealed_votes: int = 0
    folder: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "project_id": self.project_id,
            "requester": self.requester,
            "state": self.state.value,
            "justification": self.justification,
            "note": self.note,
            "created_at": self.created_at.isoformat(),
            "request_sha256": self.request_sha256,
            "files": [
                {
                    "path": f.path,
                    "sha256": f.sha256,
                    "size": f.size,
                    "job_id": f.job_id,
                    "kind": f.kind.value,
                    "outcome": f.outcome.value,
                    "exception": f.exception,
                    "report": f.report,
                }
                for f in self.files
            ],
            "votes": [
                {
                    "person_id": v.person_id,
                    "round": v.round,
                    "verdict": v.verdict.value,
                    "comments": v.comments,
                    "voted_at": v.voted_at.isoformat(),
                }
                for v in self.votes
            ],
            "sealed_votes": self.sealed_votes,
            "folder": self.folder,
        }
