"""Bringing a store an older fivesafes made up to this version's layout.

The store's layout -- its tables and their columns, in order -- is what the data model and
the FHIR flattenings declare (:func:`fivesafes.store.database.store_tables`), so a new column
in either is a new layout. Each store records the layout it is at in ``meta.environment``
(``store_layout``); a store without the record was made before layouts were counted: layout 1.

Opening a store for writing (a load, a small write, ``environment init``) runs every step from
its layout to :data:`LAYOUT` in one transaction, so a store is never half upgraded; a load
writes a copy of the store (:mod:`.versions`), so an upgrade killed part-way leaves the old
store whole and the next write upgrades it again. A store opened only for reading cannot be
changed, so an older one is refused with what to do (:func:`check`) rather than failing half
way through a study on a column it does not have.

The steps are not written column by column: each table whose columns are not this version's
is made again with them, keeping the values of the columns it had. What is new is filled from
what the store already holds, as a fresh load of the same files would fill it:

* a new column of the identifiable layer, by reading each stored resource again (the layer
  keeps every resource as received) with this version's flattening;
* the areas' local authority and Sub ICB Location (layout 2), where the operator's areas file
  had none, from the ONS lookup this version ships (``fivesafes.model.lookups``);
* the analysis layer built from FHIR, by building it again (it is always exactly the
  identifiable layer, :mod:`.analysis`).

Layout 2 is the ONS areas of issue 16: organisations carry the ONS area they answer for, and
registrations their Sub ICB Location, ICB and the local authority of the address.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from fivesafes.ingest.flatten import FLATTENINGS, flatten
from fivesafes.model.lookups import load_lsoa_geography
from fivesafes.store import indexes
from fivesafes.store.analysis import ANALYSIS_SQL, rebuild_analysis_layer
from fivesafes.store.database import ENVIRONMENT_COLUMNS, _ddl, store_tables

LAYOUT = 2
"""This version's layout: 2 since organisations and registrations carry ONS areas."""
LAYOUT_KEY = "store_layout"
_AREA_COLUMNS = {"local_authority_code": "lad_code", "sub_icb_code": "sub_icb_code"}
"""The areas' columns layout 2 added, and the ONS lookup's column each is filled from."""


class StoreOutdated(RuntimeError):
    """A store an older fivesafes made, opened where it cannot be upgraded."""


def layout_of(con: duckdb.DuckDBPyConnection) -> int:
    """The layout a store records (1 for one made before layouts were recorded)."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'meta' AND table_name = 'environment'"
    ).fetchone()
    if not row or not row[0]:
        return 1
    found = con.execute("SELECT value FROM meta.environment WHERE name = ?", [LAYOUT_KEY])
    value = found.fetchone()
    return int(value[0]) if value else 1


def record_layout(con: duckdb.DuckDBPyConnection, layout: int) -> None:
    con.execute(_ddl("meta", "environment", ENVIRONMENT_COLUMNS))
    con.execute("DELETE FROM meta.environment WHERE name = ?", [LAYOUT_KEY])
    con.execute("INSERT INTO meta.environment VALUES (?, ?)", [LAYOUT_KEY, str(layout)])


def check(con: duckdb.DuckDBPyConnection, where: Path | None) -> None:
    """Refuse to read a store at another layout than this version's."""
    layout = layout_of(con)
    if layout == LAYOUT:
        return
    if layout > LAYOUT:
        raise StoreOutdated(
            f"the store at {where} was made by a newer fivesafes (layout {layout}, this one "
            f"reads {LAYOUT}): run the version that made it"
        )
    raise StoreOutdated(
        f"the store at {where} was made by an older fivesafes (layout {layout}, this one reads "
        f"{LAYOUT}): a data custodian's `fivesafes load` upgrades it"
    )


def outdated(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a store is at an older layout than this version's."""
    return layout_of(con) < LAYOUT


def upgrade(con: duckdb.DuckDBPyConnection, today: date | None = None) -> int:
    """Bring the store to :data:`LAYOUT` in one transaction; returns the layout it was at."""
    was = layout_of(con)
    if was > LAYOUT:
        check(con, None)
    if was == LAYOUT:
        return was
    con.execute("BEGIN TRANSACTION")
    try:
        indexes.drop(con)  # a table is made again without them, and they are built after
        added = _conform_tables(con)
        _refill_identifiable(con, added, today or date.today())
        if "analysis.areas" in added:
            _fill_areas(con, added["analysis.areas"])
        rebuild_analysis_layer(con)
        record_layout(con, LAYOUT)
        indexes.ensure(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return was


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [str(name) for (name,) in rows]


def _conform_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Make every table this version declares with its columns in its order, keeping the
    values of columns it had (the analysis tables built from FHIR are built again after, so
    they are made empty); returns the columns added, by table."""
    added: dict[str, list[str]] = {}
    for (schema, name), (ddl, columns) in store_tables().items():
        have = _columns(con, schema, name)
        if have == list(columns):
            continue
        table = f'{schema}."{name}"'
        if have:
            kept = [c for c in columns if c in have]
            old = f'{schema}."{name}__layout_old"'
            con.execute(f'ALTER TABLE {table} RENAME TO "{name}__layout_old"')
            con.execute(ddl)
            if not (schema == "analysis" and name in ANALYSIS_SQL) and kept:
                listed = ", ".join(f'"{c}"' for c in kept)
                con.execute(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {old}")
            con.execute(f"DROP TABLE {old}")
        else:
            con.execute(ddl)
        added[f"{schema}.{name}"] = [c for c in columns if c not in have]
    return added


def _refill_identifiable(
    con: duckdb.DuckDBPyConnection, added: dict[str, list[str]], today: date
) -> None:
    """Fill the identifiable layer's new columns from each stored resource, read again."""
    for rtype, flattening in FLATTENINGS.items():
        new = [c for c in added.get(f"identifiable.{rtype}", []) if c != "patient_id"]
        names = [n for n, _ in flattening.columns]
        wanted = [names.index(c) for c in new if c in names]
        if not wanted:
            continue
        ids: list[str] = []
        values: list[list[object]] = [[] for _ in wanted]
        for row_id, resource in con.execute(
            f'SELECT id, resource FROM identifiable."{rtype}"'
        ).fetchall():
            row, _ = flatten(orjson.loads(resource), today)
            ids.append(row_id)
            for column, index in zip(values, wanted, strict=True):
                column.append(row[index] if row is not None else None)
        refilled = pa.table(
            {"id": ids, **{names[i]: v for i, v in zip(wanted, values, strict=True)}}
        )
        con.register("refilled", refilled)
        sets = ", ".join(f'"{names[i]}" = refilled."{names[i]}"' for i in wanted)
        con.execute(
            f'UPDATE identifiable."{rtype}" t SET {sets} FROM refilled WHERE t.id = refilled.id'
        )
        con.unregister("refilled")


def _fill_areas(con: duckdb.DuckDBPyConnection, added: list[str]) -> None:
    """The areas' new columns, where empty, from the ONS lookup of the same LSOA."""
    columns = {c: _AREA_COLUMNS[c] for c in added if c in _AREA_COLUMNS}
    if not columns:
        return
    lookup = load_lsoa_geography().select(["lsoa_code", *columns.values()])
    con.register("ons_lookup", lookup)
    sets = ", ".join(f'"{c}" = coalesce(a."{c}", ons_lookup."{o}")' for c, o in columns.items())
    con.execute(
        f"UPDATE analysis.areas a SET {sets} FROM ons_lookup "
        "WHERE a.lsoa_code = ons_lookup.lsoa_code"
    )
    con.unregister("ons_lookup")
