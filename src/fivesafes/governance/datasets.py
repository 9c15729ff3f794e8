"""The datasets register (SATRE 3.1.03 classification, 3.1.08 a record of what is held, 1.5.04
the data controller's agreement, 3.1.09 deletion when no longer needed).

Each dataset (a table of the common data model) is registered by a data custodian with its
information asset owner, the data-sharing agreement it came under, its legal basis, its
sensitivity class and the date it may be kept until; an approver, acting for the data
controller and never the one who registered it, agrees to it before its first load
(:func:`check_loadable`). Past its retention date a dataset is flagged (:func:`past_retention`)
and can be deleted, with a ledger entry saying so; a deleted dataset cannot be loaded again
without registering it anew.

The sensitivity classes are one methodology for every dataset, from the NHS's own terms:
``identifiable`` (personal confidential data, NHS numbers: the store's identifiable layer),
``pseudonymised`` (the analysis layer: patient-level, keyed by ``patient_id``), ``aggregate``
(counts and statistics, disclosure-checked before release) and ``public`` (published
reference data, such as the ONS and IMD lookups).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.governance.control import ControlPlane, Principal, second_person
from fivesafes.governance.delegates import withdraw_all
from fivesafes.governance.operating_tables import DatasetRecord
from fivesafes.governance.roles import Action
from fivesafes.governance.signing import sha256_hex
from fivesafes.model import TABLES


class Sensitivity(StrEnum):
    IDENTIFIABLE = "identifiable"
    PSEUDONYMISED = "pseudonymised"
    AGGREGATE = "aggregate"
    PUBLIC = "public"


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset as the register holds it."""

    dataset: str
    owner: str
    agreement: str
    sensitivity: Sensitivity
    legal_basis: str
    retention_until: date
    approved_by: str | None = None
    deleted: bool = False

    def problems(self, today: date) -> list[str]:
        found = [f"{n} is required" for n in ("owner", "agreement", "legal_basis")
                 if not getattr(self, n).strip()]  # fmt: skip
        if self.dataset not in TABLES:
            found.append(f"unknown dataset {self.dataset!r}; known: {', '.join(sorted(TABLES))}")
        if self.retention_until <= today:
            found.append("the retention date must be in the future")
        return found


def _entry(row: DatasetRecord) -> DatasetEntry:
    return DatasetEntry(
        row.dataset,
        row.owner,
        row.agreement,
        Sensitivity(row.sensitivity),
        row.legal_basis,
        row.retention_until,
        row.approved_by,
        row.deleted_at is not None,
    )


def _public(row: DatasetRecord, change: str) -> dict[str, object]:
    return {
        "dataset": row.dataset,
        "owner": row.owner,
        "sensitivity": row.sensitivity,
        "legal_basis": row.legal_basis,
        "retention_until": row.retention_until.isoformat(),
        "change": change,
        "agreement_sha256": sha256_hex(row.agreement),
    }


def register_dataset(cp: ControlPlane, credential: str, entry: DatasetEntry) -> None:
    """Register (or re-register after deletion) a dataset; it waits for an approver."""
    problems = entry.problems(cp.today())
    if problems:
        raise ValueError("; ".join(problems))
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_DATA)
        row = session.get(DatasetRecord, entry.dataset)
        if row is not None and row.deleted_at is None:
            raise ValueError(f"{entry.dataset} is already registered")
        if row is not None:
            session.delete(row)
            session.flush()
        row = DatasetRecord(
            dataset=entry.dataset,
            owner=entry.owner.strip(),
            agreement=entry.agreement.strip(),
            sensitivity=entry.sensitivity.value,
            legal_basis=entry.legal_basis.strip(),
            retention_until=entry.retention_until,
            registered_by=me.person_id,
            registered_at=cp.now(),
        )
        session.add(row)
        cp.log("dataset", _public(row, "registered"), me.person_id)


def approve_dataset(cp: ControlPlane, credential: str, dataset: str) -> None:
    """Agree, for the data controller, that a registered dataset may be loaded and used."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.APPROVE_DATASET)
        row = session.get(DatasetRecord, dataset)
        if row is None or row.deleted_at is not None:
            raise ValueError(f"{dataset} is not registered")
        what = "approves a dataset they registered"
        second_person(cp, me, Action.APPROVE_DATASET, row.registered_by, what)
        row.approved_by, row.approved_at = me.person_id, cp.now()
        cp.log("dataset", _public(row, "approved"), me.person_id)


def dataset_problem(session: Session, dataset: str, today: date) -> str | None:
    """Why the register does not let ``dataset`` be loaded or used today, or None."""
    row = session.get(DatasetRecord, dataset)
    if row is None or row.deleted_at is not None:
        return f"dataset {dataset} is not in the register: register it first"
    if row.approved_by is None:
        return f"dataset {dataset} awaits an approver's agreement"
    if row.retention_until < today:
        return f"dataset {dataset} is past its retention date"
    return None


def check_loadable(cp: ControlPlane, who: Principal, datasets: list[str]) -> None:
    """Under a policy that keeps the register, refuse (``AccessDenied``, logged) a load into
    any dataset not registered, not approved, deleted or past its retention date: data enters
    only as the register allows (SATRE 3.1.04). The refusal names every such dataset."""
    if not cp.policy.registered_datasets:
        return
    with cp.transaction() as session:
        problems = [dataset_problem(session, d, cp.today()) for d in sorted(set(datasets))]
    found = [p for p in problems if p]
    if found:
        raise cp.refuse(who, Action.MANAGE_DATA, "load refused: " + "; ".join(found))


def register(cp: ControlPlane) -> list[DatasetEntry]:
    """The whole register (public: it says what the environment holds, never a record)."""
    with cp.transaction() as session:
        return [_entry(r) for r in session.scalars(select(DatasetRecord).order_by("dataset"))]


def past_retention(cp: ControlPlane) -> list[DatasetEntry]:
    return [e for e in register(cp) if not e.deleted and e.retention_until < cp.today()]


def check_deletable(cp: ControlPlane, credential: str, dataset: str) -> Principal:
    """A data custodian may delete a registered dataset once its retention date has passed;
    anything else is refused (``AccessDenied``, logged)."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_DATA)
        row = session.get(DatasetRecord, dataset)
        if row is None or row.deleted_at is not None:
            problem = f"{dataset} is not registered"
        elif row.retention_until >= cp.today():
            problem = f"{dataset} is to be kept until {row.retention_until.isoformat()}"
        else:
            return me
    raise cp.refuse(me, Action.MANAGE_DATA, "deletion refused: " + problem)


def deletion_entry(cp: ControlPlane, dataset: str, rows: int, resources: str) -> dict[str, object]:
    """The register's ``deleted`` entry for ``dataset``: the proof of deletion (SATRE 3.1.10),
    with the rows it had and the resources taken with it (``Condition=22``), counts only. It
    is the outcome a deletion's intent promises, logged when the deletion is made."""
    with cp.transaction() as session:
        row = session.get(DatasetRecord, dataset)
        if row is None:
            raise ValueError(f"{dataset} is not registered")
        return {**_public(row, "deleted"), "rows": str(rows), "resources": resources}


def mark_deleted(cp: ControlPlane, dataset: str, actor: str) -> bool:
    """Record in the register that ``dataset``'s data is deleted (once the store has deleted
    it) and withdraw its release delegates on behalf of ``actor``, the custodian deleting it;
    returns whether it was not recorded yet."""
    with cp.transaction() as session:
        row = session.get(DatasetRecord, dataset)
        if row is None or row.deleted_at is not None:
            return False
        row.deleted_at = cp.now()
        withdraw_all(cp, session, dataset, actor)
        return True
