"""The datasets register as use cases: register a dataset, agree to it, and what is held.

Governance holds the rules (a data custodian registers, another person, an approver for the data
controller, agrees, and only an agreed dataset loads); :mod:`.holdings` puts each entry beside
the projects that may use it. Each step here is one call a face makes, its refusals logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fivesafes.environment.holdings import Holding, holdings
from fivesafes.environment.refusals import refusing
from fivesafes.governance.datasets import DatasetEntry, approve_dataset, register_dataset

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
