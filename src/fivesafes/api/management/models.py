"""The management API's bodies: what it takes and answers, as pydantic models, so the OpenAPI
document says exactly what each operation returns.

Answers are made from the environment layer's own frozen results (``from_attributes``): the
models choose what crosses the wire and how it is named, never what the caller may see — that
the environment decided before it returned.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fivesafes.governance import Purpose
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
