"""The datasets register as use cases: register a dataset, agree to it, what is held, each
dataset's release delegates (the people its owner lets approve outputs derived from it), and
deleting a dataset past its retention date.

Governance holds the rules (a data custodian registers, another person, an approver for the data
controller, agrees, and only an agreed dataset loads; a delegation is recorded and confirmed the
same way, :mod:`fivesafes.governance.delegates`; only a dataset past its retention date is
deleted); :mod:`.holdings` puts each entry beside the projects that may use it. Each step here
is one call a face makes, its refusals logged.

A deletion (:func:`delete`) is recoverable as a load is: the ledger's intent first, then the
store's new, compacted version without the dataset (:mod:`fivesafes.store.deletion`), then the
register's mark (which withdraws the dataset's delegates), then the outcome, which is the
register's own ``deleted`` entry (the proof of deletion, built by
:func:`~fivesafes.governance.datasets.deletion_entry`, the one place that says it). A kill
before the store's rename leaves the old version and an intent that recovery settles as
abandoned (run it again); a kill after it leaves a store that has deleted it, and recovery marks
the register and logs the outcome the intent promised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fivesafes.environment.holdings import Holding, holdings
from fivesafes.environment.refusals import refusing
from fivesafes.failpoints import failpoint
from fivesafes.governance.control import ControlPlane
from fivesafes.governance.datasets import (
    DatasetEntry,
    approve_dataset,
    check_deletable,
    deletion_entry,
    mark_deleted,
    register_dataset,
)
from fivesafes.governance.delegates import (
    Delegation,
    confirm_delegate,
    delegations,
    record_delegate,
    withdraw_delegate,
)
from fivesafes.ledger.intents import Intent
from fivesafes.store.config import DataDir
from fivesafes.store.deletion import Deletion, delete_datasets, deleted, finish

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


def register(env: Environment, credential: str, entry: DatasetEntry) -> None:
    """Register a dataset (a data custodian); it waits for an approver's agreement."""
    with refusing(env.cp, "register_dataset"):
        register_dataset(env.cp, credential, entry)


def approve(env: Environment, credential: str, dataset: str) -> None:
    """Agree, for the data controller, that a registered dataset may be loaded and used."""
    with refusing(env.cp, "approve_dataset"):
        approve_dataset(env.cp, credential, dataset)


OPERATION = "dataset"
"""A deletion's outcome is the register's own ``dataset`` entry (``change``: ``deleted``)."""


def deletion_resolved(cp: ControlPlane, data_dir: DataDir, dataset: str, actor: str) -> bool:
    """Recovery's look at a deletion: whether the store has deleted ``dataset``; if it has,
    the register says so too, on behalf of ``actor``, the custodian who deleted it (what a
    deletion interrupted after the store's commit lacks)."""
    if deleted(data_dir, [dataset]) is None:
        return False
    finish(data_dir)
    mark_deleted(cp, dataset, actor)
    return True


def delete(env: Environment, credential: str, dataset: str) -> int:
    """Delete a dataset past its retention date (a data custodian), for good: returns the rows
    it had. See the module's docstring for what a kill part-way leaves."""
    with refusing(env.cp, "delete_dataset"):
        who = check_deletable(env.cp, credential, dataset)

        def committed(intent: Intent) -> bool:
            return deletion_resolved(env.cp, env.data_dir, dataset, intent.actor)

        with env.cp.operation(OPERATION, dataset, committed) as operation:

            def announce(deletion: Deletion) -> None:
                taken = ",".join(f"{t}={n}" for t, n in sorted(deletion.resources.items()))
                rows = deletion.rows[dataset]
                failpoint("delete.before-intent")
                operation.intend(deletion_entry(env.cp, dataset, rows, taken), who.person_id)
                failpoint("delete.after-intent")

            rows = delete_datasets(env.data_dir, [dataset], before_commit=announce).rows
            failpoint("delete.after-commit")
            mark_deleted(env.cp, dataset, who.person_id)
            failpoint("delete.after-register")
            operation.commit()
        return rows[dataset]


def held(env: Environment) -> list[Holding]:
    """Every dataset held, under what terms, and the approved projects that may use it
    (public)."""
    with refusing(env.cp, "list_datasets"):
        return holdings(env.cp)


def delegate(env: Environment, credential: str, dataset: str, person: str, authority: str) -> None:
    """Record, on the dataset owner's authority, that a person may approve its releases (a
    data custodian); in force once another person, an approver, confirms it."""
    with refusing(env.cp, "delegate_release"):
        record_delegate(env.cp, credential, dataset, person, authority)


def confirm(env: Environment, credential: str, dataset: str, person: str) -> None:
    """Confirm a recorded delegation (an approver who did not record it)."""
    with refusing(env.cp, "confirm_delegate"):
        confirm_delegate(env.cp, credential, dataset, person)


def withdraw(env: Environment, credential: str, dataset: str, person: str) -> None:
    """Withdraw a delegation (a data custodian): the person can judge no more of its outputs."""
    with refusing(env.cp, "withdraw_delegate"):
        withdraw_delegate(env.cp, credential, dataset, person)


def delegates(env: Environment) -> list[Delegation]:
    """Every delegation recorded, in force or not (public, as the register is)."""
    with refusing(env.cp, "list_delegates"):
        return delegations(env.cp)
