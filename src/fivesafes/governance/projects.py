"""Projects: one application form, signed decisions, published waiting times, and the job gate.

One form serves every approval (the Goldacre review asks for approvals to be rationalised into
one): purpose, public benefit, legal basis, the datasets and columns needed, the people, the code
repository and the planned outputs. An approver approves (until a date), asks for changes or
rejects, always with reasons, signing the decision with their own key (:mod:`.signing`); nobody
may decide on a project they are on (SATRE: separation of duties). The time each application waits
on the approvers, and on the applicants after a request for changes, is recorded and published
(the review recommends publishing delays).

:func:`authorise_job` is the gate the job runner calls before anything runs: only a member of an
approved, unexpired project, holding the analyst role, may run a job for it, and only on the
datasets and columns the approved version of the form names. :func:`authorise_project_member`
is the same membership gate for other actions taken for a project (requesting a release).
"""

from __future__ import annotations

import re
import statistics
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.failpoints import failpoint
from fivesafes.governance.control import ControlPlane, Principal, account_problem
from fivesafes.governance.datasets import dataset_problem
from fivesafes.governance.optouts import Purpose
from fivesafes.governance.people import active_suspension
from fivesafes.governance.project_records import (
    Ceiling,
    ceiling_of,
    over_ceiling,
    project_problem,
)
from fivesafes.governance.roles import AccessDenied, Action
from fivesafes.governance.signing import (
    DecisionSigner,
    Pinning,
    SignedElsewhere,
    canonical,
    public_key_bytes,
    sha256_hex,
    sign_statement,
    signature_valid,
)
from fivesafes.governance.tables import (
    Account,
    ApplicationVersion,
    Decision,
    PersonKey,
    Project,
    WaitingStep,
)
from fivesafes.ledger.intents import Intent, Operation
from fivesafes.model import TABLES

_PROJECT_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
RESERVED_PROJECT_IDS = frozenset({"new"})
"""Ids no project may take: ``/my/applications/new`` is where an application is started, and
a project called ``new`` would leave its page for deciders unreachable there."""


class Status(StrEnum):
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class Verdict(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"


STATUS_AFTER = {
    Verdict.APPROVE: Status.APPROVED,
    Verdict.REQUEST_CHANGES: Status.CHANGES_REQUESTED,
    Verdict.REJECT: Status.REJECTED,
}

APPROVAL = "approval"
"""The ledger kind of a decision's entry, and the name of its recoverable operation."""

AWAITING_DECISION = "awaiting_decision"
AWAITING_CHANGES = "awaiting_changes"


PURPOSE_PROBLEM = "purpose must be one of " + ", ".join(p.value for p in Purpose)
REQUIRED_TEXT = (
    "title",
    "purpose_description",
    "public_benefit",
    "legal_basis",
    "repository",
    "organisation",
)
"""The form's fields that must not be empty."""


@dataclass(frozen=True)
class FormProblem:
    """One thing wrong with an application form, and the field it is in (for a face to point
    at): what :meth:`Application.problems` says, field by field."""

    field: str
    message: str


def form_problems(data: Mapping[str, Any]) -> list[FormProblem]:
    """Everything wrong with a form in :meth:`Application.to_dict`'s shape, field by field: the
    one set of rules a submitted form and a saved draft are both checked by."""
    found = [
        FormProblem(name, f"{name} is required")
        for name in REQUIRED_TEXT
        if not str(data.get(name, "")).strip()
    ]
    if data.get("purpose") not in {p.value for p in Purpose}:
        found.append(FormProblem("purpose", PURPOSE_PROBLEM))
    if not data.get("members"):
        found.append(FormProblem("members", "at least one member is required"))
    if not data.get("planned_outputs"):
        found.append(FormProblem("planned_outputs", "at least one planned output is required"))
    datasets: Mapping[str, Any] = data.get("datasets") or {}
    if not datasets:
        found.append(FormProblem("datasets", "at least one dataset is required"))
    for dataset, columns in datasets.items():
        table = TABLES.get(dataset)
        if table is None:
            known = ", ".join(sorted(TABLES))
            found.append(FormProblem("datasets", f"unknown dataset {dataset!r}; known: {known}"))
            continue
        unknown = sorted(set(columns) - {c.name for c in table.columns})
        if unknown:
            message = f"dataset {dataset}: unknown columns {', '.join(unknown)}"
            found.append(FormProblem("datasets", message))
        if not columns:
            found.append(FormProblem("datasets", f"dataset {dataset}: name the columns needed"))
    return found


@dataclass(frozen=True)
class Application:
    """The one application form."""

    title: str
    purpose: Purpose
    purpose_description: str
    public_benefit: str
    legal_basis: str
    datasets: Mapping[str, tuple[str, ...]]
    members: tuple[str, ...]
    repository: str
    planned_outputs: tuple[str, ...]
    organisation: str

    def problems(self) -> list[str]:
        """Everything wrong with the form, so an applicant can fix it all in one go."""
        return [p.message for p in form_problems(self.to_dict())]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "purpose": self.purpose.value,
            "purpose_description": self.purpose_description,
            "public_benefit": self.public_benefit,
            "legal_basis": self.legal_basis,
            "datasets": {k: sorted(v) for k, v in sorted(self.datasets.items())},
            "members": sorted(self.members),
            "repository": self.repository,
            "planned_outputs": list(self.planned_outputs),
            "organisation": self.organisation,
        }

    def to_json(self) -> str:
        return canonical(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Application:
        expected = set(cls.__dataclass_fields__)
        missing, extra = expected - set(data), set(data) - expected
        if missing or extra:
            raise ValueError(
                "application form: "
                + "; ".join(
                    part
                    for part in (
                        f"missing {', '.join(sorted(missing))}" if missing else "",
                        f"unknown {', '.join(sorted(extra))}" if extra else "",
                    )
                    if part
                )
            )
        try:
            purpose = Purpose(data["purpose"])
        except ValueError:
            raise ValueError(PURPOSE_PROBLEM) from None
        return cls(
            title=str(data["title"]),
            purpose=purpose,
            purpose_description=str(data["purpose_description"]),
            public_benefit=str(data["public_benefit"]),
            legal_basis=str(data["legal_basis"]),
            datasets={str(k): tuple(map(str, v)) for k, v in dict(data["datasets"]).items()},
            members=tuple(map(str, data["members"])),
            repository=str(data["repository"]),
            planned_outputs=tuple(map(str, data["planned_outputs"])),
            organisation=str(data["organisation"]),
        )

    @classmethod
    def from_file(cls, path: Path) -> Application:
        """Read a form from TOML (easy to write by hand) or JSON."""
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else orjson.loads(raw)
        return cls.from_dict(data)


@dataclass(frozen=True)
class DecisionRecord:
    decision_id: int
    project_id: str
    version: int
    verdict: Verdict
    person_id: str
    statement: dict[str, Any]
    signature: str
    waited_seconds: int
    already: bool = False
    """Made by an earlier call (a retry of the same decision): this one changed nothing."""


@dataclass(frozen=True)
class JobAuthorisation:
    """Proof for the job runner that this person may run this job now."""

    person_id: str
    project_id: str
    purpose: Purpose
    version: int
    datasets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ceiling: Ceiling | None = None
    """The resources the approver allowed each action: the job's limits are bounded by it."""
    repository: str = ""
    """The code repository the approved application names: where a job's study may be fetched
    from by commit (:func:`fivesafes.environment.jobs.submit_commit`)."""


@dataclass(frozen=True)
class Wait:
    """One stretch an application waited, and on whom; ``seconds`` is None while still waiting."""

    project_id: str
    version: int
    step: str
    started_at: datetime
    ended_at: datetime | None
    seconds: int | None


def _form_of(session: Session, project_id: str, version: int) -> tuple[Application, str]:
    row = session.get(ApplicationVersion, (project_id, version))
    assert row is not None
    return Application.from_dict(orjson.loads(row.form)), row.form_hash


def member_problems(
    session: Session, members: Iterable[str], applicant: str, now: datetime
) -> list[FormProblem]:
    """What is wrong with the people an application names: the applicant must be one of them
    and every member must hold a current account."""
    members = tuple(members)
    found = []
    if members and applicant not in members:
        found.append(FormProblem("members", APPLICANT_NOT_MEMBER))
    for person_id in members:
        account = session.get(Account, person_id)
        problem = (
            f"{person_id} has no account" if account is None else account_problem(account, now)
        )
        if problem:
            found.append(FormProblem("members", f"member {problem}"))
    return found


APPLICANT_NOT_MEMBER = "the applicant must be one of the project's members"


def _store_version(
    cp: ControlPlane, session: Session, project: Project, form: Application, me: Principal
) -> str:
    problems = form.problems()
    if problems:
        raise ValueError("application form: " + "; ".join(problems))
    if me.person_id not in form.members:
        raise AccessDenied(APPLICANT_NOT_MEMBER)
    members = member_problems(session, form.members, me.person_id, cp.now())
    if members:
        raise ValueError(members[0].message)
    text = form.to_json()
    digest = sha256_hex(text)
    session.add(
        ApplicationVersion(
            project_id=project.project_id,
            version=project.version,
            form=text,
            form_hash=digest,
            submitted_by=me.person_id,
            submitted_at=cp.now(),
        )
    )
    session.add(
        WaitingStep(
            project_id=project.project_id,
            version=project.version,
            step=AWAITING_DECISION,
            started_at=cp.now(),
        )
    )
    session.flush()
    subject = {
        "project_id": project.project_id,
        "title": form.title,
        "purpose": form.purpose.value,
        "organisation": form.organisation,
        "status": project.status,
        "version": project.version,
        "form_sha256": digest,
        "members": sorted(form.members),
        "datasets": sorted(form.datasets),
    }
    cp.log("project", subject, me.person_id)
    return digest


def project_id_problem(project_id: str) -> str | None:
    """What makes ``project_id`` unfit to name a project, or None. Asked when a project is
    submitted, and by `fivesafes init` before a new study is named after its folder."""
    if project_id in RESERVED_PROJECT_IDS:
        return f"{project_id!r} cannot name a project: it names the portal's page for a new one"
    if _PROJECT_ID.fullmatch(project_id):
        return None
    return "project id must be 3-64 characters: lower-case letters, digits, '-'"


def new_project_problem(session: Session, project_id: str) -> str | None:
    """Why ``project_id`` cannot name a new project (unfit, or taken), or None."""
    problem = project_id_problem(project_id)
    if problem is None and session.get(Project, project_id) is not None:
        problem = f"project {project_id} already exists"
    return problem


def submit_project(cp: ControlPlane, credential: str, project_id: str, form: Application) -> int:
    """Submit a new application; returns its version (1)."""
    problem = project_id_problem(project_id)
    if problem is not None:
        raise ValueError(problem)
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SUBMIT_PROJECT)
        return submit_new(cp, session, me, project_id, form)


def submit_new(
    cp: ControlPlane, session: Session, me: Principal, project_id: str, form: Application
) -> int:
    """The submission of a new application by ``me``, in the caller's transaction: what
    :func:`submit_project` does once the credential is checked, and what submitting a saved
    draft does (:mod:`.drafts`), so both pass the very same checks."""
    problem = new_project_problem(session, project_id)
    if problem is not None:
        raise ValueError(problem)
    project = Project(
        project_id=project_id,
        title=form.title,
        status=Status.SUBMITTED.value,
        created_by=me.person_id,
        created_at=cp.now(),
        version=1,
    )
    session.add(project)
    _store_version(cp, session, project, form, me)
    return project.version


def _close_wait(cp: ControlPlane, session: Session, project: Project, step: str) -> int:
    wait = session.scalar(
        select(WaitingStep).where(
            WaitingStep.project_id == project.project_id,
            WaitingStep.step == step,
            WaitingStep.ended_at.is_(None),
        )
    )
    assert wait is not None, f"{project.project_id} has no open {step} step"
    wait.ended_at = cp.now()
    return int((wait.ended_at - wait.started_at).total_seconds())


def revise_project(cp: ControlPlane, credential: str, project_id: str, form: Application) -> int:
    """Resubmit after changes were requested; returns the new version."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SUBMIT_PROJECT)
        project = _project(session, project_id)
        current, _ = _form_of(session, project_id, project.version)
        if me.person_id not in current.members:
            raise AccessDenied(f"{me.person_id} is not a member of {project_id}")
        if project.status != Status.CHANGES_REQUESTED:
            raise ValueError(f"project {project_id} is {project.status}, not awaiting changes")
        _close_wait(cp, session, project, AWAITING_CHANGES)
        project.version += 1
        project.status = Status.SUBMITTED.value
        project.title = form.title
        _store_version(cp, session, project, form, me)
        return project.version


def _project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise ValueError(f"no project {project_id}")
    return project


def _registered_key(session: Session, person_id: str, raw: bytes) -> PersonKey:
    for key in session.scalars(
        select(PersonKey).where(PersonKey.person_id == person_id, PersonKey.revoked_at.is_(None))
    ):
        if key.public_key == raw:
            return key
    raise AccessDenied(f"sign with a key {person_id} has registered (fivesafes user keygen)")


def signing_key_named(session: Session, person_id: str, key_id: str | None) -> PersonKey:
    """The person's own current signing key with this id, or their only one when ``key_id`` is
    None: the key a statement prepared for signing elsewhere names. Raises AccessDenied for a
    key that is someone else's, revoked or unknown, and ValueError when the choice is open."""
    keys = list(
        session.scalars(
            select(PersonKey).where(
                PersonKey.person_id == person_id, PersonKey.revoked_at.is_(None)
            )
        )
    )
    if key_id is None:
        if len(keys) == 1:
            return keys[0]
        if keys:
            names = ", ".join(sorted(k.key_id for k in keys))
            raise ValueError(f"{person_id} has several signing keys ({names}): name one")
    else:
        for key in keys:
            if key.key_id == key_id:
                return key
    raise AccessDenied(f"sign with a key {person_id} has registered (fivesafes user keygen)")


def _check_decision(verdict: Verdict, reasons: str, until: date | None) -> None:
    if not reasons.strip():
        raise ValueError("a decision needs its reasons")
    if (verdict is Verdict.APPROVE) != (until is not None):
        raise ValueError("an approval needs an end date (--until), and only an approval has one")


def decide(
    cp: ControlPlane,
    credential: str,
    project_id: str,
    verdict: Verdict,
    reasons: str,
    signing_key: DecisionSigner | SignedElsewhere,
    until: date | None = None,
) -> DecisionRecord:
    """Approve (until a date), request changes or reject, with reasons, signed by the approver.

    The signature must verify against a key the approver registered, or nothing is recorded.
    ``signing_key`` is the approver's key, or the signature they made elsewhere of a statement
    :func:`decision_statement` prepared (which must be exactly what this builds afresh).
    The decision is a recoverable operation (:mod:`fivesafes.ledger.intents`): its ``intent``
    entry, holding the ``approval`` entry to come, is logged before the control plane changes,
    and the ``approval`` entry after the change commits, so a kill between the two is settled
    by recovery from the decision row (:func:`approval_committed`).
    """
    _check_decision(verdict, reasons, until)
    resolve = partial(approval_committed, cp)
    with cp.operation(APPROVAL, project_id, resolve) as operation:
        record = _decide(
            cp, operation, credential, project_id, verdict, reasons, signing_key, until
        )
        if record.already:
            return record
        failpoint("approval.after-commit")
        operation.commit()
        failpoint("approval.after-outcome")
    return record


def decision_statement(
    cp: ControlPlane,
    credential: str,
    project_id: str,
    verdict: Verdict,
    reasons: str,
    until: date | None,
    key_id: str | None,
    pinning: Pinning,
) -> dict[str, Any]:
    """The exact statement :func:`decide` would record for this decision, pinned, for the
    approver to sign on their own machine; every check of a decision is made now, and nothing
    is recorded (but a refusal)."""
    _check_decision(verdict, reasons, until)
    with cp.transaction() as session:
        me, project, form_hash = _decidable(cp, session, credential, project_id)
        _open_for_decision(cp, project, until)
        key = signing_key_named(session, me.person_id, key_id)
        return _statement(cp, project, form_hash, verdict, reasons, me, key, until, pinning)


def _decidable(
    cp: ControlPlane, session: Session, credential: str, project_id: str
) -> tuple[Principal, Project, str]:
    """The caller, allowed to decide on the project (an approver off it); the project; the hash
    of its current form."""
    me = cp.authenticate(session, credential, Action.DECIDE_PROJECT)
    project = _project(session, project_id)
    form, form_hash = _form_of(session, project_id, project.version)
    if me.person_id in form.members or me.person_id == project.created_by:
        raise cp.refuse(me, Action.DECIDE_PROJECT, f"conflict: on project {project_id}")
    return me, project, form_hash


def _open_for_decision(cp: ControlPlane, project: Project, until: date | None) -> None:
    if project.status != Status.SUBMITTED:
        raise ValueError(f"project {project.project_id} is {project.status}; nothing to decide")
    if until is not None and until <= cp.today():
        raise ValueError("an approval must end in the future")


def _statement(
    cp: ControlPlane,
    project: Project,
    form_hash: str,
    verdict: Verdict,
    reasons: str,
    me: Principal,
    key: PersonKey,
    until: date | None,
    pinning: Pinning | None,
) -> dict[str, Any]:
    """What the approver signs: the project's exact version, the decision and its reasons'
    hash, who, with which key, and when (fixed beforehand, with a nonce and expiry, when the
    statement was prepared to be signed elsewhere)."""
    statement: dict[str, Any] = {
        "project_id": project.project_id,
        "version": project.version,
        "form_sha256": form_hash,
        "decision": verdict.value,
        "reasons_sha256": sha256_hex(reasons),
        "person_id": me.person_id,
        "key_id": key.key_id,
        "until": until.isoformat() if until else None,
        "decided_at": (pinning.at if pinning else cp.now()).isoformat(),
    }
    return {**statement, **pinning.fields()} if pinning else statement


def _same_decision(
    session: Session,
    project: Project,
    person_id: str,
    verdict: Verdict,
    reasons: str,
    until: date | None,
) -> DecisionRecord | None:
    """The decision already made on the project's current version, if it is this very one
    (same person, verdict, reasons and end date): the retry of a decision changes nothing."""
    row = session.scalar(
        select(Decision)
        .where(Decision.project_id == project.project_id, Decision.version == project.version)
        .order_by(Decision.decision_id.desc())
    )
    if row is None:
        return None
    statement = orjson.loads(row.statement)
    if (
        row.person_id != person_id
        or row.decision != verdict.value
        or statement["reasons_sha256"] != sha256_hex(reasons)
        or statement["until"] != (until.isoformat() if until else None)
    ):
        return None
    wait = session.scalar(
        select(WaitingStep).where(
            WaitingStep.project_id == project.project_id,
            WaitingStep.version == project.version,
            WaitingStep.step == AWAITING_DECISION,
        )
    )
    assert wait is not None and wait.ended_at is not None
    waited = int((wait.ended_at - wait.started_at).total_seconds())
    return DecisionRecord(
        row.decision_id,
        project.project_id,
        project.version,
        verdict,
        person_id,
        statement,
        row.signature,
        waited,
        already=True,
    )


def _decide(
    cp: ControlPlane,
    operation: Operation,
    credential: str,
    project_id: str,
    verdict: Verdict,
    reasons: str,
    signing_key: DecisionSigner | SignedElsewhere,
    until: date | None,
) -> DecisionRecord:
    """The decision's checks and its change, in one control-plane transaction; the intent is
    logged after every check passed and before anything is written."""
    elsewhere = isinstance(signing_key, SignedElsewhere)
    with cp.transaction() as session:
        me, project, form_hash = _decidable(cp, session, credential, project_id)
        if project.status != Status.SUBMITTED and not elsewhere:
            earlier = _same_decision(session, project, me.person_id, verdict, reasons, until)
            if earlier is not None:  # a retry; a prepared statement is used once, so never one
                return earlier
        _open_for_decision(cp, project, until)
        if isinstance(signing_key, SignedElsewhere):
            key = signing_key_named(session, me.person_id, signing_key.key_id)
            statement = _statement(
                cp, project, form_hash, verdict, reasons, me, key, until, signing_key.pinning
            )
            problem = signing_key.problem(statement, cp.now())
            if problem:
                raise cp.refuse(me, Action.DECIDE_PROJECT, problem)
            signature = signing_key.signature
        else:
            raw = public_key_bytes(signing_key.public_key())
            key = _registered_key(session, me.person_id, raw)
            statement = _statement(cp, project, form_hash, verdict, reasons, me, key, until, None)
            signature = sign_statement(signing_key, statement)
        if not signature_valid(key.public_key, statement, signature):
            raise cp.refuse(me, Action.DECIDE_PROJECT, "the signature does not verify")
        waited = _close_wait(cp, session, project, AWAITING_DECISION)
        entry = {**statement, "what": "application", "signature": signature}
        operation.intend({**entry, "waited_seconds": waited}, me.person_id)
        failpoint("approval.after-intent")
        project.status = STATUS_AFTER[verdict].value
        if verdict is Verdict.APPROVE:
            project.approved_version, project.approved_until = project.version, until
        if verdict is Verdict.REQUEST_CHANGES:
            session.add(
                WaitingStep(
                    project_id=project_id,
                    version=project.version,
                    step=AWAITING_CHANGES,
                    started_at=cp.now(),
                )
            )
        row = Decision(
            project_id=project_id,
            version=project.version,
            decision=verdict.value,
            reasons=reasons,
            person_id=me.person_id,
            key_id=key.key_id,
            statement=canonical(statement).decode(),
            signature=signature,
            decided_at=cp.now(),
        )
        session.add(row)
        session.flush()
        return DecisionRecord(
            row.decision_id,
            project_id,
            project.version,
            verdict,
            me.person_id,
            statement,
            signature,
            waited,
        )


def approval_committed(cp: ControlPlane, intent: Intent) -> bool:
    """Recovery's look at the control plane: is the decision an intent announced recorded?

    Each decision's signature covers its statement, time included, so the decision row holding
    the intent's signature for that project and version is this decision and no other.
    """
    promised = intent.outcome
    with cp.transaction() as session:
        found = session.scalar(
            select(Decision.decision_id).where(
                Decision.project_id == promised["project_id"],
                Decision.version == promised["version"],
                Decision.signature == promised["signature"],
            )
        )
        return found is not None


def decision_signature_valid(cp: ControlPlane, decision_id: int) -> bool:
    """Re-check a stored decision's signature against the decider's registered key."""
    with cp.transaction() as session:
        row = session.get(Decision, decision_id)
        if row is None:
            raise ValueError(f"no decision {decision_id}")
        key = session.get(PersonKey, row.key_id)
        assert key is not None
        statement = orjson.loads(row.statement)
        return key.person_id == row.person_id == statement["person_id"] and signature_valid(
            key.public_key, statement, row.signature
        )


def _approved_member(
    cp: ControlPlane, session: Session, credential: str, project_id: str, action: Action
) -> tuple[Principal, Project, Application]:
    """The caller, checked for ``action`` and as a member of the approved, unexpired version of
    the project; raises :class:`AccessDenied` (and logs the refusal) otherwise."""
    me = cp.authenticate(session, credential, action)
    project = session.get(Project, project_id)

    def refuse(reason: str) -> AccessDenied:
        return cp.refuse(me, action, f"{project_id}: {reason}")

    if project is None:
        raise refuse("no such project")
    if project.status != Status.APPROVED or project.approved_version is None:
        raise refuse(f"project is {project.status}, not approved")
    if project.approved_until is None or project.approved_until < cp.today():
        raise refuse(f"approval ended on {project.approved_until}")
    lapsed = project_problem(session, project_id, cp.today(), cp.policy.project_documents)
    if lapsed:
        raise refuse(lapsed)
    form, _ = _form_of(session, project_id, project.approved_version)
    if me.person_id not in form.members:
        raise refuse(f"{me.person_id} is not a member")
    return me, project, form


def authorise_on_any_project(cp: ControlPlane, credential: str, action: Action) -> Principal:
    """Allow ``action`` to a member of at least one approved, unexpired project holding a role
    for it: the gate for work that serves every study a person may run rather than one project
    (searching the codes in the data, building code lists). Raises :class:`AccessDenied`."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, action)
        for project in session.scalars(select(Project).where(Project.status == Status.APPROVED)):
            if project.approved_version is None or project.approved_until is None:
                continue
            if project.approved_until < cp.today():
                continue
            documents = cp.policy.project_documents
            if project_problem(session, project.project_id, cp.today(), documents):
                continue
            form, _ = _form_of(session, project.project_id, project.approved_version)
            if me.person_id in form.members:
                return me
        raise cp.refuse(me, action, f"{me.person_id} is not a member of any approved project")


def job_start_problem(cp: ControlPlane, project_id: str, person_id: str) -> str | None:
    """Why a job submitted by ``person_id`` on ``project_id`` may not start now, or None.

    A job is authorised when it is submitted and may wait in the queue; by the time a worker
    takes it the environment may be suspended, the project's approval may have ended or its
    documents lapsed, or the submitter may have left the project or lost their account. The
    worker asks again, with no credential (it acts for the environment), the same questions
    :func:`authorise_job` asks of the project and of the person, and runs nothing if one fails."""
    with cp.transaction() as session:
        held = active_suspension(session)
        if held is not None:
            return f"the environment is suspended ({held.reason})"
        account = session.get(Account, person_id)
        if account is None:
            return f"no account {person_id}"
        problem = account_problem(account, cp.now())
        if problem is not None:
            return problem
        project = session.get(Project, project_id)
        if project is None:
            return f"{project_id}: no such project"
        if project.status != Status.APPROVED or project.approved_version is None:
            return f"{project_id}: project is {project.status}, not approved"
        if project.approved_until is None or project.approved_until < cp.today():
            return f"{project_id}: approval ended on {project.approved_until}"
        lapsed = project_problem(session, project_id, cp.today(), cp.policy.project_documents)
        if lapsed:
            return f"{project_id}: {lapsed}"
        form, _ = _form_of(session, project_id, project.approved_version)
        if person_id not in form.members:
            return f"{project_id}: {person_id} is not a member"
    return None


def authorise_job(
    cp: ControlPlane,
    credential: str,
    project_id: str,
    datasets: Mapping[str, Iterable[str]] | Iterable[str] | None,
    resources: Mapping[str, float] | None = None,
) -> JobAuthorisation:
    """Allow a job only for a member of an approved, unexpired project whose documents are
    current, on approved data, within the project's resource ceiling.

    ``datasets`` names the tables the job reads, or maps each to the columns it reads; ``None``
    asks for everything the project was approved for (the job runner then shows the job only
    that). ``resources`` are what the job asks for per action (named as
    :class:`~fivesafes.governance.project_records.Ceiling`'s fields). Raises
    :class:`AccessDenied` (and logs the refusal) otherwise.
    """
    wanted: dict[str, tuple[str, ...] | None] | None = (
        None
        if datasets is None
        else {k: tuple(v) for k, v in datasets.items()}
        if isinstance(datasets, Mapping)
        else dict.fromkeys(datasets)
    )
    with cp.transaction() as session:
        me, project, form = _approved_member(cp, session, credential, project_id, Action.RUN_JOB)
        granted: dict[str, tuple[str, ...]] = {}
        if wanted is None:
            wanted = dict.fromkeys(form.datasets)
        for dataset, columns in wanted.items():
            approved = form.datasets.get(dataset)
            if approved is None:
                raise cp.refuse(
                    me,
                    Action.RUN_JOB,
                    f"{project_id}: dataset {dataset} is not approved for this project",
                )
            extra = sorted(set(columns or ()) - set(approved))
            if extra:
                raise cp.refuse(
                    me,
                    Action.RUN_JOB,
                    f"{project_id}: columns {', '.join(extra)} of {dataset} are not approved",
                )
            granted[dataset] = tuple(columns) if columns is not None else approved
            unagreed = cp.policy.registered_datasets and dataset_problem(
                session, dataset, cp.today()
            )
            if unagreed:
                raise cp.refuse(me, Action.RUN_JOB, f"{project_id}: {unagreed}")
        ceiling = ceiling_of(session, project_id)
        over = over_ceiling(ceiling, dict(resources or {}))
        if over:
            raise cp.refuse(me, Action.RUN_JOB, f"{project_id}: {'; '.join(over)}")
        assert project.approved_version is not None  # checked by _approved_member
        return JobAuthorisation(
            me.person_id,
            project_id,
            form.purpose,
            project.approved_version,
            granted,
            ceiling,
            form.repository,
        )


def authorise_project_member(
    cp: ControlPlane, credential: str, project_id: str, action: Action
) -> Principal:
    """Allow ``action`` only to a member of the approved, unexpired project holding a role for it:
    the gate for steps on a project's behalf other than jobs (requesting a release of its
    outputs). Raises :class:`AccessDenied`, naming the role or the project condition missing."""
    with cp.transaction() as session:
        me, _, _ = _approved_member(cp, session, credential, project_id, action)
        return me


def waiting_times(cp: ControlPlane) -> list[Wait]:
    """Every wait of every application, oldest first: public, so delays are visible."""
    with cp.transaction() as session:
        rows = session.scalars(select(WaitingStep).order_by(WaitingStep.step_id))
        return [
            Wait(
                w.project_id,
                w.version,
                w.step,
                w.started_at,
                w.ended_at,
                int((w.ended_at - w.started_at).total_seconds()) if w.ended_at else None,
            )
            for w in rows
        ]


def waiting_summary(waits: Iterable[Wait]) -> dict[str, dict[str, float | int]]:
    """Per step: how many finished waits, their median and longest in days, and how many open."""
    summary: dict[str, dict[str, float | int]] = {}
    by_step: dict[str, list[Wait]] = {}
    for wait in waits:
        by_step.setdefault(wait.step, []).append(wait)
    for step, group in sorted(by_step.items()):
        days = [w.seconds / 86400 for w in group if w.seconds is not None]
        summary[step] = {
            "finished": len(days),
            "open": len(group) - len(days),
            "median_days": round(statistics.median(days), 2) if days else 0.0,
            "longest_days": round(max(days), 2) if days else 0.0,
        }
    return summary


@dataclass(frozen=True)
class ProjectSummary:
    project_id: str
    title: str
    status: str
    version: int
    approved_until: date | None
    purpose: str
    members: tuple[str, ...]


def list_projects(cp: ControlPlane) -> list[ProjectSummary]:
    """Every project with its status: public information."""
    with cp.transaction() as session:
        out = []
        for p in session.scalars(select(Project).order_by(Project.project_id)):
            form, _ = _form_of(session, p.project_id, p.version)
            out.append(
                ProjectSummary(
                    p.project_id,
                    p.title,
                    p.status,
                    p.version,
                    p.approved_until,
                    form.purpose.value,
                    tuple(sorted(form.members)),
                )
            )
        return out
