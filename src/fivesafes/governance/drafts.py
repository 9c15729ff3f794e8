"""Application drafts: the one application form, saved unfinished by its applicant and
submitted when ready.

An application takes more than one sitting (a legal basis to check, a repository to set up), so
an analyst may save the form as it stands, come back to it and submit it. A draft is nobody's
business but its applicant's: it is not a project (it is in no public list and holds no place in
the approvers' queue), only its applicant may read, change or submit it, and anyone else asking
for it, whether it exists or not, is refused the same way and the refusal logged. Saving checks
only that the form is well formed, since a draft may be unfinished; what it still lacks is
listed field by field, by the same rules a submission is checked by. Submitting is
:func:`~.projects.submit_new`, the very code ``fivesafes project submit`` runs, in the same
transaction that marks the draft submitted: a draft is submitted once, or not at all.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from fivesafes.governance.control import ControlPlane, Principal
from fivesafes.governance.projects import (
    Application,
    FormProblem,
    form_problems,
    member_problems,
    new_project_problem,
    submit_new,
)
from fivesafes.governance.roles import Action
from fivesafes.governance.signing import canonical
from fivesafes.governance.tables import Base, UTCDateTime

TEXT_LIMIT = 20_000
"""The most characters any one answer may hold (a draft is stored whole, so it is bounded)."""
ITEMS_LIMIT = 200
"""The most members, planned outputs, datasets or columns of one dataset a form may name."""
TEXT_FIELDS = (
    "title",
    "purpose",
    "purpose_description",
    "public_benefit",
    "legal_basis",
    "repository",
    "organisation",
)
LIST_FIELDS = ("members", "planned_outputs")
FIELDS = frozenset({*TEXT_FIELDS, *LIST_FIELDS, "datasets"})
assert set(Application.__dataclass_fields__) == FIELDS, "a draft holds the whole form"


class ApplicationDraft(Base):
    """A saved, not yet submitted (or since submitted) application form and who owns it.
    Declared on the same ``Base`` as :mod:`.tables` and made by migration 0009."""

    __tablename__ = "application_drafts"

    draft_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64))
    """The id the project is to have; checked only at submission."""
    form: Mapped[str] = mapped_column(Text)
    """Canonical JSON in :meth:`Application.to_dict`'s shape (its answers may be unfinished)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


@dataclass(frozen=True)
class DraftView:
    """A draft as its applicant sees it, with what it still lacks before it can be submitted."""

    draft_id: str
    project_id: str
    form: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    problems: tuple[FormProblem, ...]

    @property
    def title(self) -> str:
        return str(self.form["title"])


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"application form: {name} must be text")
    if len(value) > TEXT_LIMIT:
        raise ValueError(f"application form: {name} is longer than {TEXT_LIMIT} characters")
    return value


def _items(name: str, value: object) -> list[str]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"application form: {name} must be a list")
    if len(value) > ITEMS_LIMIT:
        raise ValueError(f"application form: {name} names more than {ITEMS_LIMIT}")
    return [_text(name, item) for item in value]


def well_formed(project_id: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """``form`` as a draft holds it: every field of the application form, each of its type and
    within bounds, or a ``ValueError`` naming the field. Blank answers are allowed."""
    missing, extra = FIELDS - set(form), set(form) - FIELDS
    if missing or extra:
        named = sorted(missing) or sorted(extra)
        raise ValueError(f"application form: {'missing' if missing else 'unknown'} {named}")
    _text("project id", project_id)
    out: dict[str, Any] = {name: _text(name, form[name]) for name in TEXT_FIELDS}
    out |= {name: _items(name, form[name]) for name in LIST_FIELDS}
    datasets = form["datasets"]
    if not isinstance(datasets, Mapping) or len(datasets) > ITEMS_LIMIT:
        raise ValueError(f"application form: datasets must map at most {ITEMS_LIMIT} tables")
    out["datasets"] = {
        _text("datasets", k): sorted(_items(f"dataset {k}", v)) for k, v in datasets.items()
    }
    return out


def _mine(cp: ControlPlane, session: Session, me: Principal, draft_id: str) -> ApplicationDraft:
    """The caller's own draft ``draft_id``; anyone else's, or none, is refused alike (logged),
    so asking tells a stranger nothing of whether it exists."""
    row = session.get(ApplicationDraft, draft_id)
    if row is None or row.person_id != me.person_id:
        raise cp.refuse(me, Action.SUBMIT_PROJECT, f"{me.person_id} has no draft {draft_id}")
    return row


def _unsubmitted(row: ApplicationDraft) -> ApplicationDraft:
    if row.submitted_at is not None:
        raise ValueError(
            f"draft {row.draft_id} was submitted as project {row.project_id}: "
            "it can no longer be changed"
        )
    return row


def _view(cp: ControlPlane, session: Session, row: ApplicationDraft) -> DraftView:
    form = orjson.loads(row.form)
    problems: list[FormProblem] = []
    if row.submitted_at is None:
        taken = new_project_problem(session, row.project_id)
        if taken:
            problems.append(FormProblem("project_id", taken))
        problems += form_problems(form)
        problems += member_problems(session, form["members"], row.person_id, cp.now())
    return DraftView(
        row.draft_id,
        row.project_id,
        form,
        row.created_at,
        row.updated_at,
        row.submitted_at,
        tuple(problems),
    )


def applicant(cp: ControlPlane, credential: str) -> str:
    """Who the caller is, if they may start an application (an analyst, as saving one needs)."""
    with cp.transaction() as session:
        return cp.authenticate(session, credential, Action.SUBMIT_PROJECT).person_id


def save_draft(
    cp: ControlPlane,
    credential: str,
    draft_id: str | None,
    project_id: str,
    form: Mapping[str, Any],
) -> DraftView:
    """Save the caller's draft (a new one when ``draft_id`` is None), as it stands."""
    held = canonical(well_formed(project_id, form)).decode()
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SUBMIT_PROJECT)
        if draft_id is None:
            row = ApplicationDraft(
                draft_id=f"draft-{secrets.token_hex(8)}",
                person_id=me.person_id,
                created_at=cp.now(),
            )
            session.add(row)
        else:
            row = _unsubmitted(_mine(cp, session, me, draft_id))
        row.project_id, row.form, row.updated_at = project_id.strip(), held, cp.now()
        session.flush()
        return _view(cp, session, row)


def draft_of(cp: ControlPlane, credential: str, draft_id: str) -> DraftView:
    """One of the caller's own drafts."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SUBMIT_PROJECT)
        return _view(cp, session, _mine(cp, session, me, draft_id))


def drafts_of(cp: ControlPlane, credential: str) -> tuple[str, bool, list[DraftView]]:
    """Who the caller is, whether they may start an application (as :func:`applicant` would
    let them), and their drafts not yet submitted, the latest saved first (anyone signed in may
    ask, and is shown none but their own; only an analyst can have any)."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SIGN_IN)
        rows = session.scalars(
            select(ApplicationDraft)
            .where(
                ApplicationDraft.person_id == me.person_id,
                ApplicationDraft.submitted_at.is_(None),
            )
            .order_by(ApplicationDraft.updated_at.desc())
        )
        views = [_view(cp, session, row) for row in rows]
        return me.person_id, me.may(Action.SUBMIT_PROJECT), views


def submit_draft(cp: ControlPlane, credential: str, draft_id: str) -> tuple[str, int]:
    """Submit the caller's draft as a new application, through the checks every submission
    passes; the project's id and version (1). The draft is marked submitted in the same
    transaction, so it cannot be submitted twice."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SUBMIT_PROJECT)
        row = _unsubmitted(_mine(cp, session, me, draft_id))
        form = Application.from_dict(orjson.loads(row.form))
        version = submit_new(cp, session, me, row.project_id, form)
        row.submitted_at = cp.now()
        return row.project_id, version
