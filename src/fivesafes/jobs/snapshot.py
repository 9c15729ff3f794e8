"""The cut copy of the store an extraction reads: the data one extraction may see, nothing else.

The store's one DuckDB file also holds the identifiable layer (NHS numbers, the FHIR as
received) and the quarantine (rejected records, quoted). DuckDB cannot hide one schema from a
reader of the file. So no extraction reads the store's file: each reads a copy made for it, by
the environment's own code, holding only the ``analysis`` tables it is entitled to, the load
history, and an empty quarantine with the right columns (so the copy opens as a store).

The copy is where approval, opt-outs and consent are enforced for the data itself. A
:class:`DataCut` says what one extraction may see, and it has no defaults: every table and
column granted is named, every excluded patient is listed, and so is everyone whose shared data
(tables whose rows people chose to share, ``consent_required`` in the model) may be used. The
copy holds only the granted tables, with every ungranted column empty, no row of an excluded
patient, and no shared row of anyone outside the consented. Whatever a definition says, what is
not in the copy cannot be extracted. Only the environment layer makes a cut (from the project's
approval and the people's recorded choices), and a job against the store without one is refused.

Each copy belongs to one extraction and lives in that extraction's own folder (a job's, or a
custodian's extract's), named by it, and is removed when it ends, or, after a crash, with the
folder of an extraction nobody is running any more. Two projects' copies never touch: one
cannot vanish from under a sandbox that is about to mount it because another made its own.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from fivesafes.model import TABLES
from fivesafes.store.literal import path_literal
from fivesafes.store.upgrades import LAYOUT_KEY


@dataclass(frozen=True, slots=True)
class DataCut:
    """What one extraction may see of the store; built by the environment layer alone."""

    grant: Mapping[str, tuple[str, ...]]
    """Tables the extraction may read, each with the columns it may read (``patient_id`` is
    always kept as the key)."""
    excluded: frozenset[int]
    """Patients whose opt-outs apply to the purpose: no row of theirs is in the copy."""
    shared_consented: frozenset[int]
    """Patients whose shared data may be used for the purpose: the only shared rows kept."""

    def scope(self) -> str:
        """Changes whenever what the cut lets through changes."""
        material = {
            "grant": {t: sorted(c) for t, c in sorted(self.grant.items())},
            "excluded": sorted(self.excluded),
            "shared_consented": sorted(self.shared_consented),
        }
        return hashlib.sha256(orjson.dumps(material)).hexdigest()[:16]


def store_identity(database: Path) -> str:
    """Changes whenever the store is written (a load replaces or appends to its file)."""
    st = database.stat()
    wal = database.with_name(database.name + ".wal")
    wal_part = f"-{wal.stat().st_size}-{wal.stat().st_mtime_ns}" if wal.exists() else ""
    return f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}{wal_part}"


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


def _patients_table(con: duckdb.DuckDBPyConnection, name: str, ids: Iterable[int]) -> None:
    given = pa.table({"patient_id": pa.array(sorted(ids), pa.int64())})
    con.register("given", given)
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT patient_id FROM given")
    con.unregister("given")


def _has_patients(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'analysis' "
        "AND table_catalog <> 'source' AND table_name = ? AND column_name = 'patient_id'",
        [table],
    ).fetchone()
    return bool(found and found[0])


def _copy_layout(con: duckdb.DuckDBPyConnection) -> None:
    """The copy records the layout its store is at (and nothing else of ``meta.environment``:
    not the pseudonym key's fingerprint), so a reader opens it as it would open the store: a
    copy of a store at this version's layout is read, one of an older store refused alike."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = 'source' "
        "AND table_schema = 'meta' AND table_name = 'environment'"
    ).fetchone()
    if not found or not found[0]:
        return  # a store made before layouts were recorded: its copy is layout 1 too
    con.execute(
        "CREATE TABLE meta.environment AS FROM source.meta.environment WHERE name = ?",
        [LAYOUT_KEY],
    )


def analysis_snapshot(database: Path, cut: DataCut, target: Path) -> Path:
    """Make the cut copy of the store at ``database`` as it is now, at ``target``."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    con = duckdb.connect(str(partial))
    try:
        con.execute(f"ATTACH {path_literal(database)} AS source (READ_ONLY)")
        for schema in ("analysis", "meta"):
            con.execute(f"CREATE SCHEMA {schema}")
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'source' AND table_schema = 'analysis' ORDER BY table_name"
        ).fetchall()
        _patients_table(con, "excluded", cut.excluded)
        _patients_table(con, "shared_consented", cut.shared_consented)
        for (name,) in tables:
            if name not in cut.grant:
                continue
            columns = _columns(con, name, cut.grant[name])
            con.execute(
                f'CREATE TABLE analysis."{name}" AS SELECT {columns} FROM source.analysis."{name}"'
            )
            if not _has_patients(con, name):
                continue
            con.execute(
                f'DELETE FROM analysis."{name}" WHERE patient_id IN '
                "(SELECT patient_id FROM excluded)"
            )
            model = TABLES.get(name)
            if model is None or model.consent_required:  # unknown tables count as shared
                con.execute(
                    f'DELETE FROM analysis."{name}" WHERE patient_id NOT IN '
                    "(SELECT patient_id FROM shared_consented)"
                )
        con.execute("CREATE TABLE meta.loads AS FROM source.meta.loads")
        con.execute("CREATE TABLE meta.quarantine AS FROM source.meta.quarantine LIMIT 0")
        _copy_layout(con)
        con.execute("DETACH source")
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        partial.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(partial, target)
    return target


def remove_snapshot(target: Path) -> None:
    """Remove a copy (its extraction has ended); nobody else's is touched."""
    target.unlink(missing_ok=True)
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
