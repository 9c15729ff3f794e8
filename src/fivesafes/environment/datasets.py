"""The datasets register as use cases: register a dataset, agree to it, and what is held; and
each dataset's release delegates, the people its owner lets approve outputs derived from it.

Governance holds the rules (a data custodian registers, another person, an approver for the data
controller, agrees, and only an agreed dataset loads; a delegation is recorded and confirmed the
same way, :mod:`fivesafes.governance.delegates`); :mod:`.holdings` puts each entry beside the
projects that may use it. Each step here is one call a face makes, its refusals logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fivesafes.environment.holdings import Holding, holdings
from fivesafes.environment.refusals import refusing
from fivesafes.governance.datasets import DatasetEntry, approve_dataset, register_dataset
from fivesafes.governance.delegates import (
    Delegation,
    confirm_delegate,
    delegations,
    record_delegate,
    withdraw_delegate,
)

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
