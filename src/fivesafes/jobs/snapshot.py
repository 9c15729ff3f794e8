"""What a ``generate-dataset`` sandbox is shown of the store: the analysis layer, nothing else.

The store's one DuckDB file also holds the identifiable layer (NHS numbers, the FHIR
as received) and the quarantine (rejected records, quoted). DuckDB cannot hide one
schema from a reader of the file, and the dataset definition the command runs is the
analyst's own Python. So the sandbox never gets the store's file: it gets a copy made
by the environment, outside any sandbox, holding only the ``analysis`` tables, the
load history, and an empty quarantine with the right columns (so the store opens as
usual). One copy serves every job until the store changes.

The copy is also where approval and opt-outs are enforced for the data itself: it
holds only the tables the project was approved for, with every unapproved column
empty, and no row of a patient whose opt-out applies to the project's purpose.
Whatever the analyst's definition says, what is not in the copy cannot be extracted.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import duckdb
import orjson

from fivesafes.store.config import DataDir

SNAPSHOTS = "snapshots"
SHARED_TABLE = "wearable_observations"
"""The table of what people shared themselves: in a copy only under their consent."""


def _identity(database: Path) -> str:
    """Changes whenever the store is written (a load replaces or appends to its file)."""
    st = database.stat()
    wal = database.with_name(database.name + ".wal")
    wal_part = f"-{wal.stat().st_size}-{wal.stat().st_mtime_ns}" if wal.exists() else ""
    return f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}{wal_part}"


def _scope(
    grant: Mapping[str, tuple[str, ...]] | None,
    excluded: frozenset[int],
    shared_with: frozenset[int] | None = None,
) -> str:
    """Changes whenever the approved data, the opted-out or the consenting patients change."""
    material = {
        "grant": None if grant is None else {t: sorted(c) for t, c in sorted(grant.items())},
        "excluded": sorted(excluded),
        "shared_with": None if shared_with is None else sorted(shared_with),
    }
    return hashlib.sha256(orjson.dumps(material)).hexdigest()[:16]


def _columns(con: duckdb.DuckDBPyConnection, table: str, granted: tuple[str, ...]) -> str:
    """The select list of ``table``: granted columns (and ``patient_id``) as they are, every
    other column empty. Keeping the table's shape lets the query engine run unchanged (it may
    break ties on any column); emptying the rest keeps unapproved values out of the copy."""
    present = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = "
        "'source' AND table_schema = 'analysis' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return ", ".join(
        f'"{c}"' if c in granted or c == "patient_id" else f'NULL::{t} AS "{c}"' for c, t in present
    )


def analysis_snapshot(
    data_dir: DataDir,
    grant: Mapping[str, tuple[str, ...]] | None = None,
    excluded: frozenset[int] = frozenset(),
    shared_with: frozenset[int] | None = None,
) -> Path:
    """The analysis-only copy of the store as it is now, made if it does not exist yet.

    ``grant`` (table -> approved columns) limits the copy to approved data; ``None`` keeps
    every table (dummy-data and test runs). ``excluded`` patients have no row in it, and what
    people shared themselves (``wearable_observations``) is there only for ``shared_with``
    (those whose consent covers the purpose; None keeps it all).
    """
    folder = data_dir.root / SNAPSHOTS
    identity = f"{_identity(data_dir.database)}-{_scope(grant, excluded, shared_with)}"
    target = folder / f"analysis-{identity}.duckdb"
    if target.is_file():
        return target
    folder.mkdir(mode=0o700, exist_ok=True)
    # Jobs of several projects may copy at once: each writes its own file, the last rename wins.
    partial = folder / f".{target.stem}-{secrets.token_hex(4)}.partial"
    con = duckdb.connect(str(partial))
    try:
        quoted = str(data_dir.database).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS source (READ_ONLY)")
        for schema in ("analysis", "meta"):
            con.execute(f"CREATE SCHEMA {schema}")
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'source' AND table_schema = 'analysis' ORDER BY table_name"
        ).fetchall()
        if excluded:
            con.execute("CREATE TEMP TABLE excluded (patient_id BIGINT)")
            con.executemany("INSERT INTO excluded VALUES (?)", [[i] for i in sorted(excluded)])
        for (name,) in tables:
            if grant is not None and name not in grant:
                continue
            columns = "*" if grant is None else _columns(con, name, grant[name])
            con.execute(
                f'CREATE TABLE analysis."{name}" AS SELECT {columns} FROM source.analysis."{name}"'
            )
            has_patients = con.execute(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'analysis' "
                "AND table_catalog <> 'source' AND table_name = ? AND column_name = 'patient_id'",
                [name],
            ).fetchone()
            if excluded and has_patients and has_patients[0]:
                con.execute(
                    f'DELETE FROM analysis."{name}" WHERE patient_id IN '
                    "(SELECT patient_id FROM excluded)"
                )
        if shared_with is not None and (grant is None or SHARED_TABLE in grant):
            con.execute(
                "CREATE TEMP TABLE shared_with AS SELECT unnest(?::BIGINT[]) AS patient_id",
                [sorted(shared_with)],
            )
            con.execute(
                f'DELETE FROM analysis."{SHARED_TABLE}" WHERE patient_id NOT IN '
                "(SELECT patient_id FROM shared_with)"
            )
        con.execute("CREATE TABLE meta.loads AS FROM source.meta.loads")
        con.execute("CREATE TABLE meta.quarantine AS FROM source.meta.quarantine LIMIT 0")
        con.execute("DETACH source")
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        partial.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(partial, target)
    for old in folder.glob("analysis-*.duckdb"):
        if old != target:
            old.unlink(missing_ok=True)
    return target
