"""Opt-outs and consent, and the exclusion set every research or planning extract must apply.

Kept per NHS number on the identifiable side of the control plane:

- the **national data opt-out** — no use of the person's data for research or planning;
- a **type-1 objection** — no data leaves the GP practice for purposes beyond direct care;
- **wearable consent**, given separately for care and for research, and revocable.

At extraction the query engine anti-joins :func:`excluded_patient_ids`, computed with the store's
own keyed hash, so an opted-out person is absent from every research and planning extract
whatever the dataset definition says; direct care is unaffected (as the opt-out policy says).
How many people an extract lost is recorded for the data custodian only
(:func:`record_opt_outs_applied`, :func:`opt_out_report`): a count beside a small cohort could
single someone out, so it is never shown to the analyst or put in the public ledger.
Loads and additions go to the ledger as counts and a file hash, never NHS numbers.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fivesafes.governance.control import ControlPlane
from fivesafes.governance.roles import Action
from fivesafes.governance.tables import Consent, OptOut, OptOutApplied
from fivesafes.governance.vocabulary import ConsentScope, OptOutKind
from fivesafes.model.codes import nhs_number_problem
from fivesafes.store.database import Store


class Purpose(StrEnum):
    """Why data is extracted: this, not the dataset definition, decides who is excluded."""

    RESEARCH = "research"
    PLANNING = "planning"
    DIRECT_CARE = "direct_care"


EXCLUDED_BY: dict[Purpose, frozenset[OptOutKind]] = {
    Purpose.RESEARCH: frozenset(OptOutKind),
    Purpose.PLANNING: frozenset(OptOutKind),
    Purpose.DIRECT_CARE: frozenset(),
}
"""Which opt-outs remove a person from an extract for each purpose."""


class OptOutFileError(ValueError):
    """An opt-out file has a bad row; nothing from the file was stored."""


@dataclass(frozen=True)
class OptOutLoad:
    """What a load did, in counts only (this is also what the ledger records)."""

    file_sha256: str
    rows: int
    added: int
    by_kind: dict[str, int]


def _checked_number(value: str, where: str) -> str:
    number = value.replace(" ", "").strip()
    problem = nhs_number_problem(number)
    if problem:
        raise OptOutFileError(f"{where}: {problem}")
    return number


def read_opt_out_file(path: Path) -> tuple[str, list[tuple[str, OptOutKind]]]:
    """Every (NHS number, kind) row of a CSV file, with the file's SHA-256; all rows checked.

    One row per opt-out: ``nhs_number,kind`` with kind ``national`` or ``type1``; a header row
    naming those columns is optional. The first bad row stops the load, naming file and line.
    """
    data = path.read_bytes()
    rows: list[tuple[str, OptOutKind]] = []
    text = data.decode("utf-8-sig")
    for line_no, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip():
            continue
        where = f"{path}, line {line_no}"
        if line_no == 1 and [c.strip().lower() for c in row] == ["nhs_number", "kind"]:
            continue
        if len(row) != 2:
            raise OptOutFileError(f"{where}: expected 2 columns (nhs_number,kind), got {len(row)}")
        kind = row[1].strip().lower()
        if kind not in OptOutKind.__members__.values():
            raise OptOutFileError(f"{where}: kind {row[1]!r} is not national or type1")
        rows.append((_checked_number(row[0], where), OptOutKind(kind)))
    return hashlib.sha256(data).hexdigest(), rows


def _insert_new(
    session: Session, rows: list[tuple[str, OptOutKind]], now: datetime, source: str
) -> None:
    """Insert the opt-outs not already held, in one statement (repeats are ignored)."""
    if not rows:
        return
    values = [
        {"nhs_number": n, "kind": k.value, "recorded_at": now, "source": source}
        for n, k in sorted(set(rows))
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(OptOut).on_conflict_do_nothing(), values)


def load_opt_outs(cp: ControlPlane, credential: str, path: Path) -> OptOutLoad:
    """Load an opt-out file in one transaction (custodian only); a bad row loads nothing."""
    digest, rows = read_opt_out_file(path)
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_OPT_OUTS)
        before = _count(session)
        _insert_new(session, rows, cp.now(), f"file:{digest[:16]}")
        added = _count(session) - before
        by_kind = dict(sorted(Counter(k.value for _, k in rows).items()))
        load = OptOutLoad(digest, len(rows), added, by_kind)
        subject = {
            "what": "opt_outs",
            "file_sha256": digest,
            "rows": len(rows),
            "added": added,
            "by_kind": by_kind,
        }
        cp.log("load", subject, me.person_id)
        return load


def add_opt_out(cp: ControlPlane, credential: str, nhs_number: str, kind: OptOutKind) -> bool:
    """Record one opt-out (custodian now; the person through the API later). True if new."""
    number = _checked_number(nhs_number, "NHS number")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_OPT_OUTS)
        added = session.get(OptOut, (number, kind.value)) is None
        if added:
            session.add(
                OptOut(nhs_number=number, kind=kind.value, recorded_at=cp.now(), source="command")
            )
        cp.log("load", {"what": "opt_out", "kind": kind.value, "added": int(added)}, me.person_id)
        return added


def set_wearable_consent(
    cp: ControlPlane, credential: str, nhs_number: str, scope: ConsentScope, granted: bool
) -> None:
    """Give or withdraw consent to use one's wearable data for care or for research."""
    number = _checked_number(nhs_number, "NHS number")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_OPT_OUTS)
        row = session.get(Consent, (number, scope.value))
        if row is None:
            session.add(
                Consent(nhs_number=number, scope=scope.value, granted=granted, recorded_at=cp.now())
            )
        else:
            row.granted, row.recorded_at = granted, cp.now()
        subject = {"what": "wearable_consent", "scope": scope.value, "granted": int(granted)}
        cp.log("load", subject, me.person_id)


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OptOut)) or 0


def _control_for(store: Store) -> ControlPlane:
    if store.path is None:
        raise ValueError("an in-memory store has no control plane; pass control= explicitly")
    return ControlPlane.for_data_root(store.path.parent)


def excluded_patient_ids(
    store: Store, purpose: str, control: ControlPlane | None = None
) -> set[int]:
    """The pseudonymous ``patient_id``s an extract for ``purpose`` must leave out.

    ``control`` defaults to the control plane of the store's data directory.
    """
    kinds = EXCLUDED_BY[Purpose(purpose)]
    if not kinds:
        return set()
    cp = control or _control_for(store)
    try:
        with cp.transaction() as session:
            numbers = session.scalars(
                select(OptOut.nhs_number).where(OptOut.kind.in_([k.value for k in kinds]))
            ).all()
    finally:
        if control is None:
            cp.close()
    pseudonymise = store.pseudonymise
    return {pseudonymise(n) for n in set(numbers)}


def wearable_consented_ids(store: Store, scope: str, control: ControlPlane) -> set[int]:
    """The ``patient_id``s whose wearable data may be used for ``scope`` (care or research)."""
    with control.transaction() as session:
        numbers = session.scalars(
            select(Consent.nhs_number).where(
                Consent.scope == ConsentScope(scope).value, Consent.granted.is_(True)
            )
        ).all()
    pseudonymise = store.pseudonymise
    return {pseudonymise(n) for n in numbers}


def record_opt_outs_applied(
    control: ControlPlane, purpose: str, excluded: int, project_id: str | None = None
) -> None:
    """Called by extraction: how many people opt-outs removed from one extract."""
    with control.transaction() as session:
        session.add(
            OptOutApplied(
                project_id=project_id,
                purpose=Purpose(purpose).value,
                excluded=excluded,
                applied_at=control.now(),
            )
        )


@dataclass(frozen=True)
class AppliedCount:
    project_id: str | None
    purpose: str
    excluded: int
    applied_at: datetime


def opt_out_report(cp: ControlPlane, credential: str) -> list[AppliedCount]:
    """Opt-outs applied per extract, for the data custodian only."""
    with cp.transaction() as session:
        cp.authenticate(session, credential, Action.VIEW_OPT_OUT_COUNTS)
        rows = session.scalars(select(OptOutApplied).order_by(OptOutApplied.applied_id))
        return [AppliedCount(r.project_id, r.purpose, r.excluded, r.applied_at) for r in rows]
