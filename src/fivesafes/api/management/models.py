"""The management API's bodies: what it takes and answers, as pydantic models, so the OpenAPI
document says exactly what each operation returns.

Answers are made from the environment layer's own frozen results (``from_attributes``): the
models choose what crosses the wire and how it is named, never what the caller may see — that
the environment decided before it returned.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue

from fivesafes.environment.prepared import Prepared
from fivesafes.governance import Purpose
from fivesafes.governance import Verdict as Decision
from fivesafes.governance.signing import b64, canonical
from fivesafes.release import State
from fivesafes.release.model import FileKind, Outcome, Verdict

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
"""A person's, project's, job's or release's id as the environment writes them."""
PROJECT_ID = r"^[a-z0-9][a-z0-9-]{2,63}$"
"""A project's id, as governance allows one to be made."""


def _in_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


Instant = Annotated[datetime, AfterValidator(_in_utc)]
"""A moment as RFC 3339 has it, with its offset: the environment keeps its times in UTC."""


class Answer(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Problem(BaseModel):
    """An RFC 9457 problem: every error of ``/api/v1``."""

    type: str
    title: str
    status: int
    detail: str
    code: str


class Project(Answer):
    project_id: str
    title: str
    status: str
    version: int
    approved_until: date | None
    purpose: str
    members: list[str]


class ApplicationForm(BaseModel):
    """The one application form (as ``fivesafes project submit`` reads it from a file)."""

    model_config = ConfigDict(extra="forbid")

    title: str
    purpose: Purpose
    purpose_description: str
    public_benefit: str
    legal_basis: str
    datasets: dict[str, list[str]] = Field(
        description="Each table needed, with the columns needed from it"
    )
    members: list[str]
    repository: str = Field(description="The study's code repository: jobs are fetched from it")
    planned_outputs: list[str]
    organisation: str


class Applied(BaseModel):
    project_id: str
    version: int


class Wait(Answer):
    project_id: str
    version: int
    step: str
    started_at: Instant
    ended_at: Instant | None
    seconds: int | None


class Waits(BaseModel):
    summary: dict[str, dict[str, float]]
    waits: list[Wait]


class JobSubmission(BaseModel):
    """A job: the study at a commit of the repository the project's approved application names."""

    model_config = ConfigDict(extra="forbid")

    commit: str = Field(pattern=r"^[0-9a-f]{7,64}$", description="The commit to run")
    action: str | None = Field(None, description="One action (and what it needs); all if none")
    cpu_cores: float | None = Field(None, gt=0, le=1024)
    memory_mb: int | None = Field(None, gt=0, le=16 * 1024 * 1024)
    wall_seconds: float | None = Field(None, gt=0, le=30 * 24 * 3600)


class JobOutput(Answer):
    path: str
    sha256: str
    size: int
    privacy: str
    action: str
    run_id: str


class JobRecord(Answer):
    job_id: str
    project_id: str
    person_id: str
    purpose: str
    state: str
    action: str | None
    study_sha256: str
    git_commit: str | None
    git_dirty: bool | None
    limits: dict[str, float]
    created_at: Instant
    started_at: Instant | None
    finished_at: Instant | None
    error: str
    outputs: list[JobOutput]
    grant: dict[str, list[str]]


class ActionRun(Answer):
    action: str
    status: str
    run_id: str | None
    seconds: float | None
    reason: str | None


class Job(Answer):
    record: JobRecord
    runs: list[ActionRun]


class JobLog(BaseModel):
    job_id: str
    log: str = Field(description="What the environment did for the job, line by line")


class DisclosureCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: list[str] = Field(min_length=1, description="Outputs of the job, by path")
    exceptions: dict[str, str] = Field(
        default_factory=dict, description="Why a file that fails a check should still be reviewed"
    )


class FileCheck(Answer):
    path: str
    sha256: str
    size: int
    job_id: str
    kind: FileKind
    outcome: Outcome
    report: dict[str, Any] = Field(description="The disclosure checks' report (no hidden values)")
    exception: str


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: str = Field(pattern=PROJECT_ID)
    job_id: str = Field(pattern=NAME)
    files: list[str] = Field(min_length=1)
    justification: str
    exceptions: dict[str, str] = Field(default_factory=dict)
    draft: bool = Field(False, description="Keep it as a draft, to submit later")


class InclusionProof(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    path: list[str]


class Receipt(BaseModel):
    """A ledger entry with its inclusion proof and the signed checkpoint it leads to."""

    index: int
    entry: dict[str, Any]
    proof: InclusionProof | None
    checkpoint: str | None


class Requested(BaseModel):
    release_id: str
    receipt: Receipt | None = Field(description="The requester's ledger receipt; none for a draft")


class DraftSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exceptions: dict[str, str] = Field(default_factory=dict)


KEY_ID = r"^[0-9a-f]{32}$"
"""A signing key's id, as ``fivesafes user keygen`` prints it."""

_DECISION_STATEMENT: dict[str, JsonValue] = {
    "project_id": "heat",
    "version": 1,
    "form_sha256": "9f2c0d6b3a51e8c4f7a2b0d9e6c3f1a8b5d2e9c6f3a0b7d4e1c8f5a2b9d6e3c0",
    "decision": "approve",
    "reasons_sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    "person_id": "val",
    "key_id": "5d41402abc4b2a76b9719d911017c592",
    "until": "2027-03-31",
    "decided_at": "2026-12-07T14:00:00+00:00",
    "nonce": "7b1e5c0f9a3d2e8b6c4a1f0d9e8b7c6a",
    "expires_at": "2026-12-07T14:10:00+00:00",
}
_VOTE_STATEMENT: dict[str, JsonValue] = {
    "release_id": "heat-1",
    "request_sha256": "4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce",
    "decision": "approve",
    "comments_sha256": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    "person_id": "oc1",
    "key_id": "7d793037a0760186574b0282f2f435e7",
    "nonce": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "voted_at": "2026-12-07T14:00:00+00:00",
    "expires_at": "2026-12-07T14:10:00+00:00",
}
_SIGNATURE = (
    "LdMSrvSxjWlZ+TVLGkogeXz0ppKw3RElBDmytfOj9XORWXoms9JOptIiiCxcjw2LM27WXR/fUdghZar4ed4n+A=="
)
_SEAL = "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea"


class DecisionStatementRequest(BaseModel):
    """An approver's decision, to be prepared for them to sign on their own machine."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"verdict": "approve", "reasons": "Meets the criteria.", "until": "2027-03-31"}
            ]
        },
    )

    verdict: Decision
    reasons: str = Field(max_length=10_000, description="Kept by the environment; signed as a hash")
    until: date | None = Field(None, description="An approval's last day; only an approval has one")
    key_id: str | None = Field(
        None, pattern=KEY_ID, description="The key to sign with; by default the caller's only one"
    )


class VoteStatementRequest(BaseModel):
    """An output checker's vote, to be prepared for them to sign on their own machine."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"verdict": "approve", "comments": "Counts of 10 or more, rounded."}]
        },
    )

    verdict: Verdict
    comments: str = Field(max_length=10_000, description="What was checked; signed as a hash")
    key_id: str | None = Field(
        None, pattern=KEY_ID, description="The key to sign with; by default the caller's only one"
    )


class PreparedStatement(BaseModel):
    """The exact statement the environment will record, to be signed where the key is."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "statement": _DECISION_STATEMENT,
                    "canonical": b64(canonical(_DECISION_STATEMENT)),
                    "seal": _SEAL,
                    "expires_at": "2026-12-07T14:10:00Z",
                }
            ]
        }
    )

    statement: dict[str, Any] = Field(
        description="What will be recorded and published; send it back unchanged"
    )
    canonical: str = Field(
        description="Base64 of the statement's canonical JSON (sorted keys, UTF-8, no spaces): "
        "the bytes to sign with Ed25519"
    )
    seal: str = Field(description="The environment's own seal over the statement: send it back")
    expires_at: Instant = Field(description="Send the signature before this")

    @classmethod
    def of(cls, made: Prepared) -> PreparedStatement:
        return cls(
            statement=made.statement,
            canonical=b64(made.canonical),
            seal=made.seal,
            expires_at=made.expires_at,
        )


class _Signed(BaseModel):
    statement: dict[str, Any] = Field(description="The prepared statement, unchanged")
    signature: str = Field(
        max_length=200, description="Base64 Ed25519 signature of the statement's canonical bytes"
    )
    seal: str = Field(max_length=200, description="The seal the statement was prepared with")


class SignedDecision(_Signed):
    """A prepared decision statement with the approver's signature, and its reasons."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "statement": _DECISION_STATEMENT,
                    "reasons": "Meets the criteria.",
                    "signature": _SIGNATURE,
                    "seal": _SEAL,
                }
            ]
        },
    )

    reasons: str = Field(max_length=10_000, description="The reasons the statement was made with")


class SignedVote(_Signed):
    """A prepared vote statement with the checker's signature, and its comments."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "statement": _VOTE_STATEMENT,
                    "comments": "Counts of 10 or more, rounded.",
                    "signature": _SIGNATURE,
                    "seal": _SEAL,
                }
            ]
        },
    )

    comments: str = Field(max_length=10_000, description="The comments it was made with")


class DecisionRecorded(Answer):
    """A decision recorded: the statement and signature the ledger and public page carry."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "decision_id": 7,
                    "project_id": "heat",
                    "version": 1,
                    "verdict": "approve",
                    "person_id": "val",
                    "statement": _DECISION_STATEMENT,
                    "signature": _SIGNATURE,
                    "waited_seconds": 86400,
                }
            ]
        },
    )

    decision_id: int
    project_id: str
    version: int
    verdict: Decision
    person_id: str
    statement: dict[str, Any]
    signature: str
    waited_seconds: int = Field(description="How long the application waited for it")


class VoteCast(BaseModel):
    """A vote cast (sealed until a verdict): the request's state after it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"release_id": "heat-1", "state": "under_review"}]}
    )

    release_id: str
    state: State


class Vote(Answer):
    person_id: str
    round: int
    verdict: Verdict
    comments: str
    voted_at: Instant
    statement: dict[str, Any]
    signature: str


class Release(Answer):
    release_id: str
    project_id: str
    requester: str
    state: State
    justification: str
    note: str
    created_at: Instant
    request_sha256: str
    files: list[FileCheck]
    votes: list[Vote] = Field(description="The votes the caller may see: others' stay sealed")
    sealed_votes: int
    folder: str | None


class Publication(BaseModel):
    release_id: str
    files: dict[str, str] = Field(description="What went out: path to SHA-256")
    receipt: Receipt
    already: bool = Field(description="Published by an earlier call: this one changed nothing")


class Column(Answer):
    name: str
    type: str
    description: str
    nullable: bool
    code_system: str | None
    filled: int | None
    completeness: float | None


class Dataset(Answer):
    name: str
    description: str
    kind: str
    source: str
    consent_required: bool
    rows: int | None
    patients: int | None
    first: str | None
    last: str | None
    columns: list[Column]
    suppressed: list[str]


class Load(Answer):
    load_id: str
    finished_at: Instant
    files: list[str]
    file_count: int
    totals: dict[str, int | None]


class Catalogue(Answer):
    datasets: list[Dataset]
    loads: list[Load]
    view: str = Field(description="custodian (exact) or public (rounded and suppressed)")
    profile: str | None


class CodeUse(Answer):
    table: str
    column: str
    code_system: str
    code: str
    term: str | None
    patients: int | None
    records: int | None


class CodeUsage(Answer):
    codes: list[CodeUse]
    left_out: dict[str, int]
    view: str
    profile: str | None


class Checkpoint(Answer):
    size: int
    note: str = Field(description="The signed checkpoint (C2SP signed note)")
    created: str


class Consistency(BaseModel):
    """Proof that the log at ``old_size`` is a prefix of the log at ``new_size``."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    path: list[str]


SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
"""A code list's slug, as the environment allows one to be made."""


class CodeHit(Answer):
    code: str
    term: str | None
    system: str
    table: str
    column: str
    patients: int = Field(description="People with the code, rounded")
    records: int = Field(description="Records with the code, rounded")


class CodeSearch(Answer):
    """The codes in the data matching a term: those held by too few people are only counted."""

    term: str
    system: str | None
    hits: list[CodeHit]
    left_out: dict[str, int] = Field(
        description="Per table.column: how many codes are not listed, held by too few people"
    )
    profile: str = Field(description="The disclosure profile the counts follow")
    threshold: int = Field(description="The fewest people a listed code is held by")


class Code(Answer):
    code: str
    term: str


class CodelistVersion(Answer):
    """One version of a list, never changed once made, and its publication if any."""

    slug: str
    version: int
    system: str
    codes: list[Code]
    codes_sha256: str = Field(description="SHA-256 of the sorted codes, one a line")
    change: str
    created_by: str
    created_at: Instant
    published_by: str | None
    published_at: Instant | None
    ledger_index: int | None = Field(description="The ledger's codelist entry, once published")


class Codelist(Answer):
    slug: str
    name: str
    system: str
    owner: str
    created_at: Instant
    versions: list[CodelistVersion] = Field(description="Oldest first; none until codes are added")


class NewCodelist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    system: str = Field(
        max_length=32, description="snomedct, icd10, dmd, opcs4, loinc or ethnicity"
    )
    slug: str | None = Field(
        None, pattern=SLUG, description="How studies name it; made from the name if not given"
    )


class CodesToAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: dict[str, str | None] = Field(
        min_length=1, description="Each code with its term, or null for the term the data knows"
    )


class CodesToRemove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codes: list[str] = Field(min_length=1)


class PublishedAs(BaseModel):
    slug: str
    version: int
    published_by: str
    published_on: date


class ListCheck(BaseModel):
    """A code list a job's definition used, as the job's log says of it."""

    codelist: str = Field(description="As the definition names it: its file, or its name=")
    table: str
    column: str
    codes: int
    published: list[PublishedAs] = Field(description="Published versions with exactly its codes")
    too_few: bool = Field(description="Fewer people than the threshold have any of its codes")
    threshold: int
