"""Looking at requests: each caller sees what their part needs, and no vote before its time.

The requester and the project's members see their requests, drafts too; output checkers see
every submitted request (they review them). Nobody sees another reviewer's verdict or comments
while votes are sealed — only how many are in — so each checker judges the outputs alone. Once
both votes are in, all votes are open to anyone who may see the request.
"""

from __future__ import annotations

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.governance import Principal, Role, list_projects
from fivesafes.release.files import FileKind
from fivesafes.release.model import FileCheck, Outcome, ReleaseError, ReleaseView, State, Vote
from fivesafes.release.model import Verdict as VoteVerdict
from fivesafes.release.office import VIEW_ACTION, ReleaseOffice
from fivesafes.release.tables import ReleaseFileRow, ReleaseRequestRow, ReleaseVoteRow


def _view(
    office: ReleaseOffice, session: Session, me: Principal, request: ReleaseRequestRow
) -> ReleaseView:
    files = tuple(
        FileCheck(
            f.path,
            f.sha256,
            f.size,
            f.job_id,
            FileKind(f.kind),
            Outcome(f.outcome),
            orjson.loads(f.report),
            f.exception,
        )
        for f in session.scalars(
            select(ReleaseFileRow)
            .where(ReleaseFileRow.release_id == request.release_id)
            .order_by(ReleaseFileRow.path)
        )
    )
    rows = session.scalars(
        select(ReleaseVoteRow)
        .where(ReleaseVoteRow.release_id == request.release_id)
        .order_by(ReleaseVoteRow.round)
    )
    shown, sealed = [], 0
    for row in rows:
        if row.revealed or row.person_id == me.person_id:
            shown.append(
                Vote(
                    row.person_id,
                    row.round,
                    VoteVerdict(row.verdict),
                    row.comments,
                    row.voted_at,
                    orjson.loads(row.statement),
                    row.signature,
                )
            )
        else:
            sealed += 1
    folder = office.released_folder(request.project_id) / request.release_id
    return ReleaseView(
        request.release_id,
        request.project_id,
        request.requester,
        State(request.state),
        request.justification,
        request.note,
        request.created_at,
        request.request_sha256,
        files,
        tuple(shown),
        sealed,
        str(folder) if request.state == State.RELEASED.value else None,
    )


def _may_see(me: Principal, request: ReleaseRequestRow, members: tuple[str, ...]) -> bool:
    """The project sees its requests; output checkers see every request once submitted."""
    on_project = me.person_id == request.requester or me.person_id in members
    checker = Role.OUTPUT_CHECKER in me.roles and request.state != State.DRAFT.value
    return on_project or checker


def _members(office: ReleaseOffice) -> dict[str, tuple[str, ...]]:
    return {p.project_id: p.members for p in list_projects(office.cp)}


def show_release(office: ReleaseOffice, credential: str, release_id: str) -> ReleaseView:
    """One request as the caller may see it."""
    members = _members(office)
    with office.cp.transaction() as session:
        me = office.cp.authenticate(session, credential, VIEW_ACTION)
        request = session.get(ReleaseRequestRow, release_id)
        if request is None or not _may_see(me, request, members.get(request.project_id, ())):
            raise ReleaseError(f"no release request {release_id} that you may see")
        return _view(office, session, me, request)


def list_releases(
    office: ReleaseOffice,
    credential: str,
    project_id: str | None = None,
    state: State | None = None,
) -> list[ReleaseView]:
    """The requests the caller may see, oldest first, optionally of one project or state."""
    members = _members(office)
    with office.cp.transaction() as session:
        me = office.cp.authenticate(session, credential, VIEW_ACTION)
        query = select(ReleaseRequestRow).order_by(ReleaseRequestRow.created_at)
        if project_id is not None:
            query = query.where(ReleaseRequestRow.project_id == project_id)
        if state is not None:
            query = query.where(ReleaseRequestRow.state == state.value)
        return [
            _view(office, session, me, r)
            for r in session.scalars(query)
            if _may_see(me, r, members.get(r.project_id, ()))
        ]
