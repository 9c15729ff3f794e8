"""Deleting datasets from the store for good (SATRE 3.1.09): their rows, the resources they
were made from, and every byte of the old file that held them.

Datasets share sources: an Observation becomes a row of ``clinical_events``, ``deaths`` or
``wearable_observations``, and every patient table joins ``Patient``. So a deletion takes a
resource type only when every dataset it feeds (:data:`~.analysis.DATASETS_OF`) is deleted --
these datasets or ones deleted before -- and takes all of it: its current rows, its
superseded versions in history, its tombstones and its quarantined records. A type that also
feeds a dataset that is kept stays (the kept dataset is made from it); the deleted dataset's
analysis rows go, and the store withholds that dataset (:func:`~.analysis.withheld`) so that
no later load or change fills it again from what was kept, until the register lets a load
into it again. The analysis layer is then rebuilt from what is left, so rows that joined a
deleted resource (a practice registration's deprivation decile, say) are remade without it.

A person's or an organisation's own changes are also kept as the NDJSON files they were loaded
from (:mod:`.writes`, ``submissions/``): once the store has committed, :func:`finish` rewrites
each without the records of a type the deletion took (and removes one left empty).

All of it is one write of a new store version (:func:`~.versions.writing`) committed as a
compacted copy, so the version that replaces the old one holds no freed block with a deleted
row in it, and the old version is gone once the rename commits (a reader that still has it
open keeps it until it closes it, as for any version). A kill at any point leaves the old
version, whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson

from fivesafes.model import TABLES
from fivesafes.store.analysis import (
    DATASETS_OF,
    rebuild_analysis_layer,
    set_withheld,
    withheld,
)
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.versions import writing
from fivesafes.store.writes import SUBMISSIONS


@dataclass(frozen=True)
class Deletion:
    """What a deletion took: each dataset's rows, and each resource type's resources."""

    rows: dict[str, int]
    resources: dict[str, int]


def sources_taken(datasets: Collection[str], already: Collection[str] = ()) -> list[str]:
    """The resource types a deletion of ``datasets`` takes, ``already`` deleted besides: those
    that feed only deleted datasets."""
    gone = set(datasets) | set(already)
    return sorted(t for t, fed in DATASETS_OF.items() if set(fed) <= gone)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return 0 if row is None else int(row[0])


def deleted(data_dir: DataDir, datasets: Collection[str]) -> dict[str, int] | None:
    """The rows each of ``datasets`` had when it was deleted from the store, or None if the
    store has not deleted them all (what recovery asks of an interrupted deletion)."""
    if not data_dir.database.exists():
        return None
    with Store.open(data_dir, read_only=True, any_layout=True) as store:
        held = withheld(store.con)
    return {d: held[d] for d in datasets} if set(datasets) <= set(held) else None


def _without(path: Path, types: frozenset[str]) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if orjson.loads(line).get("resourceType") not in types]
    if len(kept) == len(lines):
        return
    if not kept:
        path.unlink()
        return
    fresh = path.with_name(path.name + ".partial")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.writelines(kept)
        out.flush()
        os.fsync(out.fileno())
    os.replace(fresh, path)


def finish(data_dir: DataDir) -> None:
    """Take the records of every type the store's deletions took out of the kept change files
    too (idempotent: recovery calls it for a deletion killed after the store's commit)."""
    folder = data_dir.root / SUBMISSIONS
    if not folder.is_dir() or not data_dir.database.exists():
        return
    with Store.open(data_dir, read_only=True, any_layout=True) as store:
        types = frozenset(sources_taken(withheld(store.con)))
    for path in sorted(folder.rglob("*.ndjson.partial")):
        path.unlink()  # what a kill part-way through a rewrite left
    for path in sorted(folder.rglob("*.ndjson")):
        _without(path, types)


def delete_datasets(
    data_dir: DataDir,
    datasets: Collection[str],
    *,
    before_commit: Callable[[Deletion], None] | None = None,
) -> Deletion:
    """Delete ``datasets`` (model tables) and the resources only they were made from, in one
    compacted new version of the store; ``before_commit`` sees what is about to go (to log
    the intent) and may refuse it by raising."""
    unknown = sorted(set(datasets) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown datasets: {', '.join(unknown)}")
    with writing(data_dir, bulk=False, compact=True) as store:
        con = store.con
        con.execute("BEGIN TRANSACTION")
        try:
            held = withheld(con)
            rows = {d: _count(con, f"SELECT count(*) FROM analysis.{d}") for d in datasets}
            taken = sources_taken(datasets, held)
            resources = {t: _count(con, f'SELECT count(*) FROM identifiable."{t}"') for t in taken}
            deletion = Deletion(rows, resources)
            if before_commit is not None:
                before_commit(deletion)
            has_tombstones = _count(
                con,
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'meta' AND table_name = 'deleted'",
            )
            for rtype in taken:
                con.execute(f'DELETE FROM identifiable."{rtype}"')
                con.execute("DELETE FROM identifiable.history WHERE resource_type = ?", [rtype])
                con.execute("DELETE FROM meta.quarantine WHERE resource_type = ?", [rtype])
                if has_tombstones:
                    con.execute("DELETE FROM meta.deleted WHERE resource_type = ?", [rtype])
            set_withheld(con, {**held, **rows})
            for name in datasets:
                con.execute(f"DELETE FROM analysis.{name}")
            rebuild_analysis_layer(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finish(data_dir)
    return deletion
