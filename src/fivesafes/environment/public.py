"""What anyone may see of an environment without signing in: the public portal's reads.

The promise to the public is that every use of their data can be seen: each project with its
purpose and lay summary, who decided it and whether the decision's signature verifies, how long
each step waited, every job run for it, every release with its files and checks, and the signed
ledger checkpoints that let anyone check the log was not rewritten. This module is the one place
that decides what of that is public, so the portal (and any other face) holds no rule of its own:

- a project is shown with what its application form says about purpose and benefit, its
  organisation, datasets and members by their **public names**; never the reasons text of a
  decision (the ledger holds only its hash) nor an account's contact details;
- a job is shown by its state, times, action and the study commit it ran, never its error text
  (which may quote data) or its outputs' contents;
- only **released** requests are shown (a request under review is the checkers' business), with
  each file's hash, size, how it went out and the automatic check's outcome, and how many signed
  approvals the published manifest carries;
- the ledger's receipts (an entry, its inclusion proof and the checkpoint) are given for entries
  of the kinds the ledger itself declares public, and no other;
- how many people's records opt-outs kept out of a project's extracts is one published figure
  per project, rounded and suppressed by the environment's disclosure profile as the public
  catalogue's counts are (:class:`PublicOptOuts`), never a figure per job.

None of these takes a credential or writes to the ledger; what cannot be found is a ``Refused``
(``invalid``) that is not logged, as for the public ledger's reads (:mod:`.public_ledger`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func, select

from fivesafes.disclosure.public import public_count
from fivesafes.environment import job_records, public_ledger
from fivesafes.environment.catalogue import public_profile
from fivesafes.environment.refusals import RefusalKind, Refused
from fivesafes.governance.projects import Application, decision_signature_valid
from fivesafes.governance.tables import (
    Account,
    ApplicationVersion,
    Decision,
    OptOutApplied,
    Project,
)
from fivesafes.ledger import Receipt
from fivesafes.ledger.entry import decode_entry
from fivesafes.ledger.schema import PUBLIC_KINDS
from fivesafes.release.manifest import MANIFEST_FILE
from fivesafes.release.model import State
from fivesafes.release.office import RELEASED_FOLDER
from fivesafes.release.tables import ReleaseFileRow, ReleaseRequestRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from fivesafes.environment.core import Environment

STEP_NAMES = {
    "awaiting_decision": "submitted, waiting for a decision",
    "awaiting_changes": "changes asked for, waiting for the applicant",
}
"""What each waiting step means, in words the public read."""


@dataclass(frozen=True)
class PublicProject:
    """A project as listed: enough to find it and judge whether it is going on."""

    project_id: str
    title: str
    status: str
    purpose: str
    organisation: str
    approved_until: date | None


@dataclass(frozen=True)
class PublicDecision:
    """A signed decision: who made it (public name), what, when, and whether it verifies."""

    version: int
    decision: str
    decider: str
    decided_at: datetime
    until: str | None
    signature_verifies: bool
    ledger_index: int | None


@dataclass(frozen=True)
class PublicWait:
    """One stretch an application waited; ``days`` is None while it still waits."""

    version: int
    step: str
    meaning: str
    started_at: datetime
    ended_at: datetime | None
    days: float | None


@dataclass(frozen=True)
class PublicJob:
    """A job run for a project, by the study commit it ran (never its outputs or errors)."""

    job_id: str
    state: str
    action: str | None
    submitted_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    git_commit: str | None
    git_dirty: bool | None
    study_sha256: str
    ledger_indexes: tuple[int, ...]


@dataclass(frozen=True)
class PublicFile:
    """A released file by its hash, with the automatic disclosure check's outcome."""

    path: str
    sha256: str
    size: int
    job_id: str
    kind: str
    check: str
    published_as: str


@dataclass(frozen=True)
class PublicRelease:
    """A published release: its files, checks, the signed approvals it carries, its entry."""

    release_id: str
    project_id: str
    requested_by: str
    published_at: datetime | None
    profile: str
    files: tuple[PublicFile, ...]
    approvals: int
    manifest_sha256: str | None
    ledger_index: int | None


@dataclass(frozen=True)
class PublicOptOuts:
    """How many people's records opt-outs kept out of a project's extracts, as published.

    Each extract (a job's cut of the store) leaves out everyone whose opt-out applies to the
    project's purpose, and the control plane keeps how many that was. The public see one
    figure a project: the most any one of its extracts left out (the people every extract left
    out are at least that many), rounded and suppressed like any public count. Never a figure
    per job, nor their sum: beside the public list of jobs, per-job figures could be differenced
    and a sum divided, each time undoing the suppression of a small count."""

    extracts: int
    """How many extracts the project's jobs made (each job that started made one)."""
    people: int | None
    """The figure; None where it is suppressed (fewer people than the profile's threshold)."""
    profile: str
    """The disclosure profile it was rounded and suppressed by."""
    threshold: int
    """The profile's threshold: a suppressed figure is fewer people than this."""


@dataclass(frozen=True)
class ProjectPage:
    """Everything public about one project."""

    project: PublicProject
    purpose_description: str
    public_benefit: str
    legal_basis: str
    datasets: tuple[str, ...]
    members: tuple[str, ...]
    version: int
    decisions: tuple[PublicDecision, ...]
    waits: tuple[PublicWait, ...]
    jobs: tuple[PublicJob, ...]
    releases: tuple[PublicRelease, ...]
    opt_outs: PublicOptOuts


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint: how many entries it covers and when it was signed."""

    size: int
    created: str


LEDGER_PAGE = 50
"""How many public entries one read of the ledger gives: a page, newest first, so a visitor
(and the server) never handles the whole log at once."""


@dataclass(frozen=True)
class LedgerPage:
    """The ledger as the public check it: its origin, key, latest signed checkpoint, every
    checkpoint, and one page of the public entries a receipt can be asked for."""

    origin: str
    vkey: str
    latest: str | None
    checkpoints: tuple[Checkpoint, ...]
    """The newest :data:`LEDGER_PAGE` signed checkpoints, oldest first (the last is the latest)."""
    checkpoint_total: int
    """How many checkpoints have been signed in all (every one is kept and can be listed)."""
    public_entries: tuple[tuple[int, str, str], ...]
    """(index, kind, time) of each public entry on this page, newest first."""
    public_total: int
    """How many public entries the ledger holds in all."""
    page: int
    """Which page this is, from 1 (the newest entries)."""
    pages: int
    """How many pages there are (at least 1, which may be empty)."""


def public_names(session: Session) -> dict[str, str]:
    """Each account's name as the public read it (its person id is for the ledger)."""
    return {a.person_id: a.public_name for a in session.scalars(select(Account))}


def _form(session: Session, project_id: str, version: int) -> Application:
    row = session.get(ApplicationVersion, (project_id, version))
    if row is None:
        raise Refused(f"project {project_id} has no version {version}", RefusalKind.INVALID)
    return Application.from_dict(orjson.loads(row.form))


def _listed(project: Project, form: Application) -> PublicProject:
    return PublicProject(
        project.project_id,
        project.title,
        project.status,
        form.purpose.value,
        form.organisation,
        project.approved_until,
    )


def projects(env: Environment) -> list[PublicProject]:
    """Every project, by id, with its current form: one query, not one a project."""
    current = (ApplicationVersion.project_id == Project.project_id) & (
        ApplicationVersion.version == Project.version
    )
    with env.cp.transaction() as session:
        found = session.execute(
            select(Project, ApplicationVersion.form)
            .outerjoin(ApplicationVersion, current)
            .order_by(Project.project_id)
        )
        listed = []
        for project, form in found:
            if form is None:
                raise Refused(
                    f"project {project.project_id} has no version {project.version}",
                    RefusalKind.INVALID,
                )
            listed.append(_listed(project, Application.from_dict(orjson.loads(form))))
        return listed


LINKED = ("approval", "job", "release")
"""The kinds of entry a project's or a release's page links to (so only those are read)."""


def _entries_by(env: Environment) -> dict[tuple[str, str], list[int]]:
    """Public ledger entries by (kind, the id they are about), for linking to receipts."""
    found: dict[tuple[str, str], list[int]] = {}
    for row in public_ledger.public_view(env, LINKED).rows:
        about = row.fields.get("release_id") or row.fields.get("job_id")
        about = about or row.fields.get("project_id")
        if isinstance(about, str):
            found.setdefault((row.kind, about), []).append(row.index)
    return found


def _decisions(
    env: Environment, session: Session, project_id: str, names: dict[str, str], entries: list[int]
) -> tuple[PublicDecision, ...]:
    rows = list(
        session.scalars(
            select(Decision).where(Decision.project_id == project_id).order_by(Decision.decided_at)
        )
    )
    out = []
    for i, row in enumerate(rows):
        statement = orjson.loads(row.statement)
        out.append(
            PublicDecision(
                row.version,
                row.decision,
                names.get(row.person_id, row.person_id),
                row.decided_at,
                statement.get("until"),
                decision_signature_valid(env.cp, row.decision_id),
                entries[i] if i < len(entries) else None,
            )
        )
    return tuple(out)


def _waits(env: Environment, project_id: str) -> tuple[PublicWait, ...]:
    from fivesafes.governance import waiting_times

    return tuple(
        PublicWait(
            w.version,
            w.step,
            STEP_NAMES.get(w.step, w.step.replace("_", " ")),
            w.started_at,
            w.ended_at,
            None if w.seconds is None else round(w.seconds / 86400, 2),
        )
        for w in waiting_times(env.cp)
        if w.project_id == project_id
    )


def _jobs(
    env: Environment,
    project_id: str,
    names: dict[str, str],
    entries: dict[tuple[str, str], list[int]],
) -> tuple[PublicJob, ...]:
    return tuple(
        PublicJob(
            r.job_id,
            r.state,
            r.action,
            names.get(r.person_id, r.person_id),
            r.created_at,
            r.started_at,
            r.finished_at,
            r.git_commit,
            r.git_dirty,
            r.study_sha256,
            tuple(entries.get(("job", r.job_id), ())),
        )
        for r in job_records.of_project(env, project_id)
    )


def _manifest(
    env: Environment, project_id: str, release_id: str
) -> tuple[dict[str, Any], str | None]:
    """The published manifest (what went out, as signed) and its SHA-256; nothing and None if
    it is not there (the page says so: a released request always has one)."""
    path = env.data_dir.root / RELEASED_FOLDER / project_id / release_id / MANIFEST_FILE
    try:
        raw = path.read_bytes()
    except OSError:
        return {}, None
    return orjson.loads(raw), hashlib.sha256(raw).hexdigest()


def _jobs_by_run(env: Environment, project_id: str) -> dict[str, str]:
    """The environment's job id for each run of an action (a released file names its run)."""
    return {o.run_id: r.job_id for r in job_records.of_project(env, project_id) for o in r.outputs}


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _releases(
    env: Environment,
    session: Session,
    project_id: str | None,
    names: dict[str, str],
    entries: dict[tuple[str, str], list[int]],
) -> tuple[PublicRelease, ...]:
    query = select(ReleaseRequestRow).where(ReleaseRequestRow.state == State.RELEASED.value)
    if project_id is not None:
        query = query.where(ReleaseRequestRow.project_id == project_id)
    out = []
    for request in session.scalars(query.order_by(ReleaseRequestRow.created_at)):
        manifest, digest = _manifest(env, request.project_id, request.release_id)
        runs = _jobs_by_run(env, request.project_id)
        published = {f["path"]: f for f in manifest.get("files", ())}
        files = tuple(
            PublicFile(
                f.path,
                published.get(f.path, {}).get("sha256", f.sha256),
                f.size,
                runs.get(f.job_id, f.job_id),
                f.kind,
                f.outcome,
                published.get(f.path, {}).get("published_as", ""),
            )
            for f in session.scalars(
                select(ReleaseFileRow)
                .where(ReleaseFileRow.release_id == request.release_id)
                .order_by(ReleaseFileRow.path)
            )
        )
        released = entries.get(("release", request.release_id), [])
        out.append(
            PublicRelease(
                request.release_id,
                request.project_id,
                names.get(request.requester, request.requester),
                _time(manifest.get("published_at")),
                str(manifest.get("profile", "")),
                files,
                len(manifest.get("approvals", ())),
                digest,
                released[-1] if released else None,
            )
        )
    return tuple(out)


def _opt_outs(env: Environment, session: Session, project_id: str) -> PublicOptOuts:
    most, extracts = session.execute(
        select(func.max(OptOutApplied.excluded), func.count()).where(
            OptOutApplied.project_id == project_id
        )
    ).one()
    rules = public_profile(env.data_dir)
    return PublicOptOuts(extracts, public_count(most or 0, rules), rules.name, rules.threshold)


def project(env: Environment, project_id: str) -> ProjectPage:
    """One project with its decisions, waits, jobs and releases; ``Refused`` if unknown."""
    entries = _entries_by(env)
    with env.cp.transaction() as session:
        row = session.get(Project, project_id)
        if row is None:
            raise Refused(f"no project {project_id}", RefusalKind.INVALID)
        form = _form(session, project_id, row.version)
        names = public_names(session)
        decisions = _decisions(
            env, session, project_id, names, entries.get(("approval", project_id), [])
        )
        releases = _releases(env, session, project_id, names, entries)
        opt_outs = _opt_outs(env, session, project_id)
    return ProjectPage(
        _listed(row, form),
        form.purpose_description,
        form.public_benefit,
        form.legal_basis,
        tuple(sorted(form.datasets)),
        tuple(sorted(names.get(m, m) for m in form.members)),
        row.version,
        decisions,
        _waits(env, project_id),
        _jobs(env, project_id, names, entries),
        releases,
        opt_outs,
    )


def releases(env: Environment) -> tuple[PublicRelease, ...]:
    """Every published release, oldest first."""
    entries = _entries_by(env)
    with env.cp.transaction() as session:
        return _releases(env, session, None, public_names(session), entries)


def ledger(env: Environment, page: int = 1) -> LedgerPage:
    """The ledger's origin, current key, checkpoints and page ``page`` of its public entries
    (:data:`LEDGER_PAGE` a page, newest first), including what other processes (a job or a
    load run from the command line) appended since this one looked; a page past the last is
    refused, saying how many there are."""
    log = env.cp.ledger
    log.catch_up()
    if page < 1:
        raise Refused(f"page {page}: the ledger's pages are numbered from 1", RefusalKind.INVALID)
    total, view = public_ledger.public_page(env, (page - 1) * LEDGER_PAGE, LEDGER_PAGE)
    signed = log.checkpoints()
    pages = max(1, -(-total // LEDGER_PAGE))
    if page > pages:
        raise Refused(
            f"page {page}: the ledger's public entries fill {pages} page(s)", RefusalKind.INVALID
        )
    return LedgerPage(
        log.origin,
        log.verifier.vkey,
        log.latest_checkpoint,
        tuple(Checkpoint(c.size, str(c.created)) for c in signed[-LEDGER_PAGE:]),
        len(signed),
        tuple((r.index, r.kind, r.time) for r in view.rows),
        total,
        page,
        pages,
    )


def _kind(entry: bytes) -> str | None:
    try:
        return str(decode_entry(entry).get("kind"))
    except ValueError:  # a damaged entry is in no public view
        return None


def receipt(env: Environment, index: int) -> Receipt:
    """A public entry with its inclusion proof in the latest signed checkpoint; an entry of a
    kind the ledger keeps private is refused exactly as one that does not exist, so asking
    says nothing about what is there. Nothing is signed: the write that made a public entry
    signed a checkpoint over it, and one that somehow was not is refused as not yet provable
    rather than have a reader's request write to the log."""
    log = env.cp.ledger
    log.catch_up()  # an entry another process appended is proved like any other
    found = public_ledger.prove(env, index) if 0 <= index < log.size else None
    if found is None or _kind(found.entry) not in PUBLIC_KINDS:
        raise Refused(f"no public ledger entry {index}", RefusalKind.INVALID)
    if found.proof is None:
        raise Refused(
            f"ledger entry {index} is not yet covered by a signed checkpoint; try again later",
            RefusalKind.INVALID,
        )
    return found
