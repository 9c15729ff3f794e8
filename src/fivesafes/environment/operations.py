"""Running an environment as use cases: a full backup, decommissioning it, and its usage.

The work itself is in :mod:`.backup`, :mod:`.decommission` and :mod:`.usage`, each of which
checks that the caller may operate the environment (a data custodian). Here each is one call a
face makes with the caller's credential on the environment it has open, and every refusal (no
role, an archive that exists, an operation left open, a wrong confirmation) is logged as one.
Restoring is not here: it makes a new environment in an empty directory, which has none to open
(``fivesafes restore`` calls :func:`.backup.restore` itself).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fivesafes.environment import backup as backups
from fivesafes.environment import decommission as decommissioning
from fivesafes.environment import usage as usage_of
from fivesafes.environment.refusals import refusing

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


def backup(env: Environment, credential: str, key: bytes, archive: Path) -> backups.BackupSummary:
    """Seal the whole environment into ``archive`` with the backup ``key`` (a data custodian;
    nothing under way, and never over another archive)."""
    with refusing(env.cp, "backup"):
        return backups.backup(env.cp, credential, env.data_dir, key, archive)


def decommission(
    env: Environment, credential: str, public_copy: Path, confirm: str
) -> decommissioning.Decommissioned:
    """Destroy the environment's data and keys, leaving its public ledger in ``public_copy``
    (a data custodian, who types the data directory's path as ``confirm``)."""
    with refusing(env.cp, "decommission"):
        return decommissioning.decommission(env.cp, credential, env.data_dir, public_copy, confirm)


def usage(env: Environment, credential: str, start: datetime, end: datetime) -> usage_of.Usage:
    """Who used the environment with ``start <= time < end``, what each project ran and
    released, what was loaded, and the storage each takes now (a data custodian)."""
    with refusing(env.cp, "usage_report"):
        return usage_of.usage_report(env.cp, credential, env.data_dir, start, end)
