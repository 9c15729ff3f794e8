"""Small writes to the identifiable layer, made exactly as a load makes them.

A person changing their address, sharing a night's sleep or an organisation updating its
opening hours is a change to the one store, so it goes through the very same :func:`load`: the
same record checks, the same checks against the store (references, duplicates, dates against
birth and death), the same merge that keeps the old version in history, the same quarantine for
what fails, in one transaction, in a new version of the store file (:mod:`.versions`), and the
same update of the analysis rows of the patients it touched -- a change's cost is its own size,
not the store's, so the analysis layer never lags behind the identifiable one.

Each change is kept as the NDJSON file it was loaded from, under ``submissions/`` in the data
directory (owner-only), so its provenance is a file like any load's.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from fivesafes.store.analysis import note_changes, start_tracking, update_analysis_layer
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import LoadReport, load
from fivesafes.store.resources import DELETED_DDL
from fivesafes.store.versions import writing

SUBMISSIONS = "submissions"


def _submission(data_dir: DataDir, resources: Sequence[dict[str, Any]], label: str) -> Path:
    folder = data_dir.root / SUBMISSIONS / datetime.now(UTC).strftime("%Y-%m-%d")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{label}-{uuid.uuid4().hex[:12]}.ndjson"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for resource in resources:
            out.write(orjson.dumps(resource) + b"\n")
    return path


def write_resources(
    data_dir: DataDir,
    resources: Sequence[dict[str, Any]],
    *,
    label: str,
    today: date | None = None,
    before_commit: Callable[[LoadReport, Store], None] | None = None,
) -> LoadReport:
    """Load ``resources`` into a new version of the store; the report says what was kept and
    what was quarantined, by rule. ``before_commit`` sees the report and the store just
    before COMMIT (to refuse the change, or to log it); raising there stores nothing."""
    path = _submission(data_dir, resources, label)
    with writing(data_dir, bulk=False) as store:

        def check(report: LoadReport) -> None:
            if before_commit is not None:
                before_commit(report, store)

        return load(
            store,
            [path],
            today=today,
            workers=1,
            verdicts=True,
            before_commit=check,
        )


def delete_resources(
    data_dir: DataDir,
    targets: Sequence[tuple[str, str]],
    *,
    before_commit: Callable[[Store], None] | None = None,
) -> str:
    """Delete resources (type, id): each current version moves to history, a tombstone says
    when it went, and the analysis rows that read it are remade without it, in the same
    transaction; returns the change's id."""
    change_id = "del-" + uuid.uuid4().hex[:12]
    with writing(data_dir, bulk=False) as store:
        con = store.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(DELETED_DDL)
            start_tracking(con)
            provenance = "id, content_hash, resource, source_file, source_line, source_entry"
            for rtype, rid in targets:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE stage_deleted AS "
                    f'SELECT * FROM identifiable."{rtype}" WHERE id = ?',
                    [rid],
                )
                note_changes(con, rtype, "stage_deleted")
                con.execute(
                    f"INSERT INTO identifiable.history SELECT ?, {provenance}, load_id, "
                    f'loaded_at, ? FROM identifiable."{rtype}" WHERE id = ?',
                    [rtype, change_id, rid],
                )
                con.execute(f'DELETE FROM identifiable."{rtype}" WHERE id = ?', [rid])
                con.execute(
                    "INSERT INTO meta.deleted VALUES (?, ?, ?, now()::TIMESTAMP)",
                    [rtype, rid, change_id],
                )
            update_analysis_layer(con)
            if before_commit is not None:
                before_commit(store)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return change_id
