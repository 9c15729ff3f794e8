"""Release delegates: egress as a permission of individual people, given per dataset by its
information asset owner (SATRE 3.1.06).

The owner named in the datasets register does not sign in here; a data custodian records, on
the owner's authority (their letter, email or minute, by reference), that a person may approve
the release of outputs derived from the dataset, and an approver who is not that custodian
confirms it, as a dataset's registration is agreed (:func:`.control.second_person`). A custodian
withdraws a delegation when the owner says so, and deleting a dataset withdraws them all. Each
step is a ``dataset`` ledger entry naming the delegate and the owner.

:func:`check_egress` is the rule the release stage applies to every vote: a checker's vote
counts only where they are a confirmed, unwithdrawn delegate of every dataset the job read (the
tables its grant cut for it); a dataset nobody is delegated for is one whose outputs nobody can
release. Failing closed, a job the control plane does not hold is refused too. It holds the
delegations it counted until the vote's transaction ends, so a withdrawal (or a deletion) racing
a vote takes effect wholly before it, and the vote is refused, or wholly after it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fivesafes.governance.control import ControlPlane, Principal, second_person
from fivesafes.governance.operating_tables import DatasetRecord, ReleaseDelegate
from fivesafes.governance.roles import Action
from fivesafes.governance.signing import sha256_hex
from fivesafes.governance.tables import Account, Job


@dataclass(frozen=True)
class Delegation:
    """A delegation as the register shows it (the authority only by its hash)."""

    dataset: str
    person_id: str
    owner: str
    recorded_by: str
    recorded_at: datetime
    confirmed_by: str | None
    withdrawn_at: datetime | None

    @property
    def in_force(self) -> bool:
        return self.confirmed_by is not None and self.withdrawn_at is None


def _owner(session: Session, dataset: str) -> str:
    row = session.get(DatasetRecord, dataset)
    if row is None or row.deleted_at is not None:
        raise ValueError(f"{dataset} is not registered: its owner is not known")
    return row.owner


def _open(session: Session, dataset: str, person_id: str) -> ReleaseDelegate | None:
    """The person's delegation for the dataset not yet withdrawn (there is at most one)."""
    return session.scalar(
        select(ReleaseDelegate).where(
            ReleaseDelegate.dataset == dataset,
            ReleaseDelegate.person_id == person_id,
            ReleaseDelegate.withdrawn_at.is_(None),
        )
    )


def _log(cp: ControlPlane, session: Session, row: ReleaseDelegate, change: str, actor: str) -> None:
    """The ledger entry of one step, naming the owner on whose behalf it was taken (the
    dataset's entry in the register, kept, if marked deleted, until it is registered anew)."""
    held = session.get(DatasetRecord, row.dataset)
    subject = {
        "dataset": row.dataset,
        "owner": held.owner if held is not None else "",
        "delegate": row.person_id,
        "change": change,
        "authority_sha256": sha256_hex(row.authority),
    }
    cp.log("dataset", subject, actor)


def record_delegate(
    cp: ControlPlane, credential: str, dataset: str, person_id: str, authority: str
) -> None:
    """Record, on the owner's ``authority``, that ``person_id`` may approve releases from the
    dataset (a data custodian); it is in force once an approver confirms it."""
    if not authority.strip():
        raise ValueError("name the owner's authority for the delegation")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_DATA)
        _owner(session, dataset)
        if session.get(Account, person_id) is None:
            raise ValueError(f"no account {person_id}")
        if _open(session, dataset, person_id) is not None:
            raise ValueError(f"{person_id} is already a delegate of {dataset} (or awaits one)")
        row = ReleaseDelegate(
            delegation_id=secrets.token_hex(16),
            dataset=dataset,
            person_id=person_id,
            authority=authority.strip(),
            recorded_by=me.person_id,
            recorded_at=cp.now(),
        )
        session.add(row)
        _log(cp, session, row, "delegate recorded", me.person_id)


def confirm_delegate(cp: ControlPlane, credential: str, dataset: str, person_id: str) -> None:
    """Confirm a recorded delegation (an approver, never the custodian who recorded it)."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.APPROVE_DATASET)
        row = _open(session, dataset, person_id)
        if row is None or row.confirmed_by is not None:
            raise ValueError(f"no delegation of {dataset} to {person_id} awaits confirmation")
        what = "confirms a delegation they recorded"
        second_person(cp, me, Action.APPROVE_DATASET, row.recorded_by, what)
        row.confirmed_by, row.confirmed_at = me.person_id, cp.now()
        _log(cp, session, row, "delegate confirmed", me.person_id)


def withdraw_delegate(cp: ControlPlane, credential: str, dataset: str, person_id: str) -> None:
    """Withdraw a delegation, confirmed or not (a data custodian, on the owner's word)."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_DATA)
        row = _open(session, dataset, person_id)
        if row is None:
            raise ValueError(f"{person_id} is not a delegate of {dataset}")
        withdraw(cp, session, row, me.person_id)


def withdraw(cp: ControlPlane, session: Session, row: ReleaseDelegate, actor: str) -> None:
    """End a delegation; the row is written (waiting for a vote that holds it, see
    :func:`undelegated`) before the ledger says so, so the ledger orders the two as they were."""
    row.withdrawn_by, row.withdrawn_at = actor, cp.now()
    session.flush()
    _log(cp, session, row, "delegate withdrawn", actor)


def withdraw_all(cp: ControlPlane, session: Session, dataset: str, actor: str) -> None:
    """Withdraw every delegation of a dataset being deleted: a dataset registered again later
    starts with no delegates, whoever its owner is then."""
    rows = session.scalars(
        select(ReleaseDelegate).where(
            ReleaseDelegate.dataset == dataset, ReleaseDelegate.withdrawn_at.is_(None)
        )
    )
    for row in list(rows):
        withdraw(cp, session, row, actor)


def delegations(cp: ControlPlane) -> list[Delegation]:
    """Every delegation ever recorded, by dataset and person (public, as the register is)."""
    with cp.transaction() as session:
        rows = session.scalars(
            select(ReleaseDelegate).order_by(
                ReleaseDelegate.dataset, ReleaseDelegate.person_id, ReleaseDelegate.recorded_at
            )
        )
        owners = {r.dataset: r.owner for r in session.scalars(select(DatasetRecord))}
        return [
            Delegation(
                r.dataset,
                r.person_id,
                owners.get(r.dataset, ""),
                r.recorded_by,
                r.recorded_at,
                r.confirmed_by,
                r.withdrawn_at,
            )
            for r in rows
        ]


def undelegated(session: Session, person_id: str, datasets: Iterable[str]) -> list[str]:
    """Which of ``datasets`` ``person_id`` is not a delegate of (confirmed, not withdrawn, the
    dataset still registered), sorted: the whole rule, empty when they may release.

    The delegations in force are held, not only read, until the caller's transaction ends: a
    write that changes nothing (``UPDATE ... RETURNING``), so a withdrawal or a deletion racing
    the caller waits for it to commit, or, committed first, leaves the delegation out. A read
    would let a vote checked against a delegation count after it was withdrawn: on SQLite a
    read takes no lock until the transaction's first write, on PostgreSQL none at all."""
    wanted = sorted(set(datasets))
    registered = select(DatasetRecord.dataset).where(DatasetRecord.deleted_at.is_(None))
    held = session.scalars(
        update(ReleaseDelegate)
        .where(
            ReleaseDelegate.person_id == person_id,
            ReleaseDelegate.dataset.in_(wanted),
            ReleaseDelegate.confirmed_by.is_not(None),
            ReleaseDelegate.withdrawn_at.is_(None),
            ReleaseDelegate.dataset.in_(registered),
        )
        .values(confirmed_by=ReleaseDelegate.confirmed_by)
        .returning(ReleaseDelegate.dataset)
        .execution_options(synchronize_session=False)
    )
    return sorted(set(wanted) - set(held))


def job_datasets(session: Session, job_id: str) -> list[str]:
    """The datasets a job read: the tables of its grant, all its cut copy of the store held."""
    job = session.get(Job, job_id)
    if job is None:
        raise ValueError(f"the control plane holds no job {job_id}: its data cannot be known")
    return sorted(orjson.loads(job.grant))


def check_egress(
    cp: ControlPlane, session: Session, me: Principal, action: Action, job_id: str
) -> None:
    """Refuse (logged, naming each dataset) ``me`` judging outputs of ``job_id`` unless they
    are a delegate of every dataset it read."""
    missing = undelegated(session, me.person_id, job_datasets(session, job_id))
    if missing:
        raise cp.refuse(
            me,
            action,
            f"{me.person_id} is not a release delegate of {', '.join(missing)}: only a "
            "delegate of every dataset a job read may judge its outputs",
        )
