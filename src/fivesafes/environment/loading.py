"""Loading data, as a custodian does it: authorised, logged, and exactly once whatever crashes.

The store and the ledger are two files and no transaction spans them, so a load is a recoverable
operation (:mod:`fivesafes.ledger.intents`), written in this order:

1. the custodian's ``login`` entry;
2. every record staged and checked inside one DuckDB transaction (nothing visible yet), and the
   datasets its records enter checked against the datasets register (a refusal rolls it back
   and is a ``login`` entry naming each dataset the register does not allow);
3. an ``intent`` entry holding the exact ``load`` entry to come (files by SHA-256, totals);
4. the load's ``meta.loads`` row and COMMIT, in that transaction;
5. the ``load`` entry, pointing at its intent.

Killed after 3 and before 4, the load rolled back and recovery logs it ``abandoned``; killed after
4 and before 5, it committed and recovery logs the promised ``load`` entry. A retry is exactly
once: the files' digest is kept with the load, and when the store's latest load is of these very
files (same names, same bytes) there is nothing to do -- the retry of a load that committed does
not load them a second time. Loading the same files again after other loads is a new load.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson

from fivesafes.failpoints import failpoint
from fivesafes.governance import Action, ControlPlane
from fivesafes.governance.datasets import check_loadable
from fivesafes.ingest.sources import discover
from fivesafes.ledger.intents import Intent
from fivesafes.store import upgrades
from fivesafes.store.analysis import release_withheld
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.layout import file_sha256
from fivesafes.store.load import (
    OUTCOMES,
    LoadReport,
    ProgressCallback,
    StoredLoad,
    latest_load,
    load,
    load_committed,
)
from fivesafes.store.versions import writing

OPERATION = "load"


@dataclass(frozen=True)
class LoadResult:
    """What ``load_data`` did: a new load's report, or the earlier load that already holds the
    same files (``report`` is then None and nothing was written)."""

    report: LoadReport | None
    previous: StoredLoad | None


def _files(paths: Iterable[Path]) -> list[dict[str, str]]:
    """The files a load reads, by name and SHA-256, in the order it reads them."""
    return [{"file": path.name, "sha256": file_sha256(path)} for path in discover(paths)]


def _digest(files: list[dict[str, str]]) -> str:
    return hashlib.sha256(orjson.dumps(files, option=orjson.OPT_SORT_KEYS)).hexdigest()


def load_entry(report: LoadReport, files: list[dict[str, str]]) -> dict[str, object]:
    """What the public ledger records of a load: files by hash and counts, never records."""
    return {
        "load_id": report.load_id,
        "files": files,
        "totals": {o: str(report.totals[o]) for o in OUTCOMES},
    }


def load_data(
    cp: ControlPlane,
    data_dir: DataDir,
    credential: str,
    paths: list[Path],
    *,
    progress: ProgressCallback | None = None,
    today: date | None = None,
) -> LoadResult:
    """Check and load ``paths`` into the store as a data custodian, logged and recoverable."""
    with cp.transaction() as session:
        who = cp.authenticate(session, credential, Action.MANAGE_DATA)
    files = _files(paths)
    digest = _digest(files)
    previous = _latest(data_dir)
    if previous is not None and previous.summary.get("digest") == digest:
        if _outdated(data_dir):  # a retry still brings a store an older version made up to date
            with writing(data_dir, bulk=False):
                pass
        return LoadResult(None, previous)
    load_id = uuid.uuid4().hex[:16]

    def committed(intent: Intent) -> bool:
        return load_resolved(data_dir, intent)

    with cp.operation(OPERATION, load_id, committed) as operation:

        def announce(report: LoadReport) -> None:
            check_loadable(cp, who, report.datasets())  # refused: rolled back, nothing stored
            release_withheld(store.con, report.datasets())  # registered again after deletion
            failpoint("load.before-intent")
            operation.intend(load_entry(report, files), who.person_id)
            failpoint("load.after-intent")

        # A new version of the store, renamed over the old one when the load commits, so that
        # readers (the API) go on reading while it runs (store/versions.py); the outcome entry
        # follows the rename, so the ledger never says a load happened that readers cannot see.
        with writing(data_dir) as store:
            report = load(
                store,
                paths,
                today=today,
                progress=progress,
                before_commit=announce,
                load_id=load_id,
                digest=digest,
            )
        failpoint("load.after-commit")
        operation.commit()
        failpoint("load.after-outcome")
    return LoadResult(report, None)


def _latest(data_dir: DataDir) -> StoredLoad | None:
    """The store's latest load, if there is a store."""
    if not data_dir.database.exists():
        return None
    with Store.open(data_dir, read_only=True, any_layout=True) as store:
        return latest_load(store.con)


def _outdated(data_dir: DataDir) -> bool:
    with Store.open(data_dir, read_only=True, any_layout=True) as store:
        return upgrades.outdated(store.con)


def load_resolved(data_dir: DataDir, intent: Intent) -> bool:
    """Recovery's look at the store: did the load an intent announced commit?"""
    if not data_dir.database.exists():
        return False
    with Store.open(data_dir, read_only=True, any_layout=True) as store:
        return load_committed(store.con, intent.key)
