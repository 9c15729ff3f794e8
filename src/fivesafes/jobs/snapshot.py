"""What a ``generate-dataset`` sandbox is shown of the store: the analysis layer, nothing else.

The store's one DuckDB file also holds the identifiable layer (NHS numbers, the FHIR
as received) and the quarantine (rejected records, quoted). DuckDB cannot hide one
schema from a reader of the file, and the dataset definition the command runs is the
analyst's own Python. So the sandbox never gets the store's file: it gets a copy made
by the environment, outside any sandbox, holding only the ``analysis`` tables, the
load history, and an empty quarantine with the right columns (so the store opens as
usual). One copy serves every job until the store changes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import duckdb

from fivesafes.store.config import DataDir

SNAPSHOTS = "snapshots"


def _identity(database: Path) -> str:
    """Changes whenever the store is written (a load replaces or appends to its file)."""
    st = database.stat()
    wal = database.with_name(database.name + ".wal")
    wal_part = f"-{wal.stat().st_size}-{wal.stat().st_mtime_ns}" if wal.exists() else ""
    return f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}{wal_part}"


def analysis_snapshot(data_dir: DataDir) -> Path:
    """The analysis-only copy of the store as it is now, made if it does not exist yet."""
    folder = data_dir.root / SNAPSHOTS
    target = folder / f"analysis-{_identity(data_dir.database)}.duckdb"
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
        for (name,) in tables:
            con.execute(f'CREATE TABLE analysis."{name}" AS FROM source.analysis."{name}"')
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
