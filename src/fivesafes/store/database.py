"""The embedded DuckDB store and its three layers.

- ``identifiable``: the validated FHIR resources as received (with NHS numbers),
  one current version of each with its provenance, superseded versions in
  ``identifiable.history``. Only the environment's own code reads it.
- ``analysis``: the common data model's tables, rebuilt from the identifiable
  layer inside every load's transaction, keyed by pseudonymous ``patient_id``.
  This is the only layer queries and studies see.
- ``meta``: the load history, the quarantine of rejected records, and ``meta.environment``,
  which holds the fingerprint of the pseudonym key the store's ``patient_id``s were made with.

One DuckDB file, one transaction per load: an interrupted load leaves nothing.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from fivesafes.ingest.flatten import FLATTENINGS
from fivesafes.model import TABLES, Table
from fivesafes.model.schema import DUCKDB_TYPES
from fivesafes.store.config import DataDir
from fivesafes.store.literal import path_literal
from fivesafes.store.pseudonym import (
    Pseudonymiser,
    PseudonymKeyError,
    key_fingerprint,
    read_key,
)

PROVENANCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "VARCHAR"),
    ("content_hash", "VARCHAR"),
    ("resource", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("source_line", "INTEGER"),
    ("source_entry", "INTEGER"),
)
PATIENT_ID_COLUMN = ("patient_id", "BIGINT")
KEY_FINGERPRINT = "pseudonym_key_fingerprint"
ENVIRONMENT_COLUMNS: tuple[tuple[str, str], ...] = (("name", "VARCHAR"), ("value", "VARCHAR"))
LOAD_COLUMNS: tuple[tuple[str, str], ...] = (("load_id", "VARCHAR"), ("loaded_at", "TIMESTAMP"))

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("load_id", "VARCHAR"),
    ("file", "VARCHAR"),
    ("line", "INTEGER"),
    ("entry", "INTEGER"),
    ("resource_type", "VARCHAR"),
    ("resource_id", "VARCHAR"),
    ("path", "VARCHAR"),
    ("rule", "VARCHAR"),
    ("message", "VARCHAR"),
)


def identifiable_columns(resource_type: str) -> tuple[tuple[str, str], ...]:
    """The staging / identifiable-layer columns of one resource type, in insertion order."""
    extra = (PATIENT_ID_COLUMN,) if resource_type == "Patient" else ()
    return PROVENANCE_COLUMNS + extra + FLATTENINGS[resource_type].columns


def analysis_ddl(table: Table, schema: str = "analysis") -> str:
    """CREATE TABLE for a model table; NOT NULL where the model says a value is required."""
    cols = ", ".join(
        f'"{c.name}" {DUCKDB_TYPES[c.type]}{"" if c.nullable else " NOT NULL"}'
        for c in table.columns
    )
    return f'CREATE TABLE IF NOT EXISTS {schema}."{table.name}" ({cols})'


def _ddl(schema: str, name: str, columns: tuple[tuple[str, str], ...]) -> str:
    cols = ", ".join(f'"{n}" {t}' for n, t in columns)
    return f'CREATE TABLE IF NOT EXISTS {schema}."{name}" ({cols})'


class StoreBusy(RuntimeError):
    """Another process holds the store (DuckDB allows one writer, or readers, at a time)."""


class Store:
    """An open DuckDB store with the environment's pseudonymiser."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        key_source: Path | bytes,
        path: Path | None,
        read_only: bool = False,
        any_layout: bool = False,
    ) -> None:
        self.con = con
        self._any_layout = any_layout
        self.path = path
        self.read_only = read_only
        self._key_source = key_source
        self._key: bytes | None = None
        self._spill: Path | None = None
        self._ensure_schema()

    @property
    def key(self) -> bytes:
        """The environment's pseudonym key, read on first use (never made here, never stored
        here), and checked against the fingerprint the store recorded when the key was first
        used with it: a missing or different key stops every load and every extraction."""
        if self._key is None:
            source = self._key_source
            if isinstance(source, bytes):
                key = source
            else:
                key = read_key(source)
                self._check_fingerprint(key, source)
            self._key = key
        return self._key

    def _check_fingerprint(self, key: bytes, source: Path) -> None:
        """Record the key's fingerprint on its first use with this store; refuse any other."""
        mine = key_fingerprint(key)
        recorded = self._recorded_fingerprint()
        if recorded == mine:
            return
        if recorded is not None:
            raise PseudonymKeyError(
                f"{source} is not the pseudonym key this store was made with (fingerprint "
                f"{mine[:12]}, the store's {recorded[:12]}): restore the environment's own key; "
                "any other would match no one's opt-out"
            )
        if self.read_only:
            if self._holds_data():
                raise PseudonymKeyError(
                    f"the store at {self.path} has no record of its pseudonym key: open it once "
                    "for writing (a load) with the environment's key to record it"
                )
            return
        self.con.execute(_ddl("meta", "environment", ENVIRONMENT_COLUMNS))
        self.con.execute("INSERT INTO meta.environment VALUES (?, ?)", [KEY_FINGERPRINT, mine])

    def _recorded_fingerprint(self) -> str | None:
        has_table = self.con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'meta' AND table_name = 'environment'"
        ).fetchone()
        if not has_table or not has_table[0]:
            return None
        row = self.con.execute(
            "SELECT value FROM meta.environment WHERE name = ?", [KEY_FINGERPRINT]
        ).fetchone()
        return str(row[0]) if row else None

    def _holds_data(self) -> bool:
        row = self.con.execute("SELECT count(*) FROM meta.loads").fetchone()
        return bool(row and row[0])

    @property
    def pseudonymise(self) -> Pseudonymiser:
        """The keyed hash of this environment."""
        return Pseudonymiser(self.key)

    @classmethod
    def open(cls, data_dir: DataDir, read_only: bool = False, any_layout: bool = False) -> Store:
        """Open (creating on first use) the store and key of ``data_dir``. ``any_layout``
        reads a store an older version made without refusing it: for reading the load history
        only (which every layout has), as a load does before it upgrades the store."""
        if read_only and not data_dir.database.exists():
            raise FileNotFoundError(
                f"no store at {data_dir.database}: load data first with `fivesafes load`"
            )
        data_dir.root.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(data_dir.database), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc):
                raise
            holder = re.search(r"\(PID (\d+)\)", str(exc))
            who = f" (process {holder.group(1)})" if holder else ""
            raise StoreBusy(
                f"the store {data_dir.database} is in use by another process{who}; "
                "try again when it has finished"
            ) from None
        store = cls(con, data_dir.key_file, data_dir.database, read_only, any_layout)
        if read_only:
            store._spill_to_temp()
        return store

    def _spill_to_temp(self) -> None:
        """Where DuckDB writes what does not fit in its ``memory_limit``: a private folder
        under the temporary directory, not ``<store>.tmp`` beside the file, because a
        reader may not write there (a sandbox mounts the store read-only) and queries
        must then fail instead of spilling."""
        self._spill = Path(tempfile.mkdtemp(prefix="fivesafes-duckdb-"))
        self.con.execute(f"SET temp_directory = {path_literal(self._spill)}")

    @classmethod
    def in_memory(cls, key: bytes) -> Store:
        """A throwaway store: ``validate`` runs the load's checks here and keeps nothing."""
        store = cls(duckdb.connect(":memory:"), key, None)
        store._spill_to_temp()  # what exceeds the budget goes to disk here too
        return store

    def close(self) -> None:
        self.con.close()
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_schema(self) -> None:
        """Make the layers of a new store; bring one an older fivesafes made up to this
        layout when opened for writing (:mod:`.upgrades`), and refuse to read one that is
        not, since a query on a column it lacks would fail half-way through someone's study."""
        from fivesafes.store import upgrades  # it builds on this module's table list

        if self.path is not None and self._has_schema():
            if self.read_only:
                if not self._any_layout:
                    upgrades.check(self.con, self.path)
            else:
                upgrades.upgrade(self.con)
            return
        con = self.con
        for schema in ("identifiable", "analysis", "meta"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for ddl, _ in store_tables().values():
            con.execute(ddl)
        upgrades.record_layout(con, upgrades.LAYOUT)

    def _has_schema(self) -> bool:
        found = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta'"
        ).fetchone()
        return bool(found and found[0] >= 2)


LOADS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("load_id", "VARCHAR"),
    ("started_at", "TIMESTAMP"),
    ("finished_at", "TIMESTAMP"),
    ("files", "VARCHAR[]"),
    ("summary", "VARCHAR"),
)


def store_tables() -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    """Every table of this version's store, by (schema, name): its CREATE TABLE and its
    columns in order. What a new store is made with, and what an older one is brought to."""
    found: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}

    def add(schema: str, name: str, columns: tuple[tuple[str, str], ...]) -> None:
        found[(schema, name)] = (_ddl(schema, name, columns), tuple(n for n, _ in columns))

    for rtype in FLATTENINGS:
        add("identifiable", rtype, identifiable_columns(rtype) + LOAD_COLUMNS)
    history = (("resource_type", "VARCHAR"), *PROVENANCE_COLUMNS, *LOAD_COLUMNS)
    add("identifiable", "history", (*history, ("superseded_by", "VARCHAR")))
    for table in TABLES.values():
        found[("analysis", table.name)] = (analysis_ddl(table), table.column_names)
    add("meta", "quarantine", QUARANTINE_COLUMNS)
    add("meta", "environment", ENVIRONMENT_COLUMNS)
    add("meta", "loads", LOADS_COLUMNS)
    return found
