"""Dominance for statistics of a value (a sum or mean of cost, bed-days, prescriptions) by group.

A sum or a mean can give away one contributor's value when there are few contributors, or when
one or two dominate: the second-largest contributor can subtract its own value from the total
and learn the largest within a few per cent. The rules therefore need, per cell, how many
contributed and the largest contributions, which only the records hold — and the records never
leave the job. So the job keeps them: the safe API (and its R twin) writes, beside each table of
statistics, a *contributions file* (``costs.csv`` → ``costs.contributions.csv``), declared
``highly_sensitive``, that the checks read at release. One row per cell and statistic::

    <the table's label columns…>, statistic, contributors, sum, magnitude, largest_1, largest_2

``statistic`` names the table's column; ``contributors`` is how many records (or distinct
contributors, such as practices, whose values are added up first, as the handbook asks) make
the cell; ``sum`` the signed sum of their values; ``magnitude`` the sum of their absolute values;
``largest_k`` the k-th largest absolute contribution. A file that is not the job's own is not
vouched for, and a file with these columns is never released itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.tables import LongLayout, TableError

SUFFIX = ".contributions.csv"
COLUMNS = ("statistic", "contributors", "sum", "magnitude", "largest_1", "largest_2")
TOP = 2


def contributions_path(table: Path) -> Path:
    """Where the job keeps the contributions behind a table of statistics."""
    return table.with_name(table.stem + SUFFIX)


def is_contributions(data: pa.Table) -> bool:
    """Whether a table is a contributions file (individual values: it never leaves)."""
    return set(COLUMNS) <= set(data.column_names)


def contributions(
    records: pa.Table | duckdb.DuckDBPyRelation,
    keys: list[str],
    value: str,
    statistic: str,
    contributor: str | None = None,
) -> pa.Table:
    """Each group's contributions to a statistic of ``value``: a contributor is a record, or
    each distinct ``contributor``, whose values are added up first. Labels are written as the
    safe API writes them (text, ``missing`` for none)."""
    con = duckdb.connect()
    con.register("records", records)
    quoted = ", ".join(f'"{k}"' for k in keys)
    labels = ", ".join(f'COALESCE(CAST("{k}" AS VARCHAR), \'missing\') AS "{k}"' for k in keys)
    who = f'"{contributor}"' if contributor else "row_number() OVER ()"
    ranks = ", ".join(
        f"coalesce(max(v) FILTER (WHERE rank = {r + 1}), 0) AS largest_{r + 1}" for r in range(TOP)
    )
    query = f"""
        WITH c AS (SELECT {labels}, {who} AS who, "{value}" AS v FROM records
                   WHERE "{value}" IS NOT NULL),
             per AS (SELECT {quoted}, who, sum(v) AS s, abs(sum(v)) AS v FROM c GROUP BY ALL),
             ranked AS (SELECT *, row_number() OVER (PARTITION BY {quoted} ORDER BY v DESC)
                        AS rank FROM per)
        SELECT {quoted}, {_literal(statistic)} AS statistic, count(*) AS contributors,
               sum(s) AS sum,
               sum(v) AS magnitude, {ranks}
        FROM ranked GROUP BY ALL ORDER BY ALL"""
    try:
        return con.sql(query).to_arrow_table()
    finally:
        con.close()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Contributions:
    """One statistic's contributions on its table's grid (``nan``/0 where a cell has none)."""

    contributors: np.ndarray
    sum: np.ndarray
    magnitude: np.ndarray
    largest: np.ndarray
    """Shape (rows, columns, k): the k largest absolute contributions, largest first."""
    matched: np.ndarray
    """Cells the contributions file has a row for."""


def on_grid(
    data: pa.Table, labels: tuple[str, ...], layout: LongLayout, where: str
) -> dict[str, Contributions]:
    """A contributions file read onto a table's grid, one entry per statistic it describes.

    Raises ``TableError`` when it lacks the table's label columns or a needed column, or names
    a group the table does not have."""
    missing = [c for c in (*labels, *COLUMNS) if c not in data.column_names]
    if missing:
        raise TableError(f"{where}: the contributions file has no column {', '.join(missing)}")
    tops = sorted(c for c in data.column_names if c.startswith("largest_"))
    keys = list(zip(*(data[c].to_pylist() for c in labels), strict=True))
    shape = layout.shape
    found: dict[str, Contributions] = {}
    numbers = {c: data[c].to_numpy(zero_copy_only=False).astype(float) for c in COLUMNS[1:]}
    largest = np.column_stack([data[c].to_numpy(zero_copy_only=False) for c in tops]).astype(float)
    for row, (key, statistic) in enumerate(zip(keys, data["statistic"].to_pylist(), strict=True)):
        place = layout.place_of(tuple("" if v is None else str(v) for v in key))
        if place is None:
            raise TableError(f"{where}: the contributions file has a group {key} the table has not")
        cell = found.get(statistic) or Contributions(
            np.zeros(shape),
            np.zeros(shape),
            np.zeros(shape),
            np.zeros((*shape, len(tops))),
            np.zeros(shape, dtype=bool),
        )
        found[statistic] = cell
        cell.contributors[place] = numbers["contributors"][row]
        cell.sum[place] = numbers["sum"][row]
        cell.magnitude[place] = numbers["magnitude"][row]
        cell.largest[place] = np.nan_to_num(largest[row])
        cell.matched[place] = True
    return found


def dominance(cells: Contributions, profile: Profile) -> dict[str, np.ndarray]:
    """Unsafe cells under each dominance rule (cells with contributors only).

    - p%: the rest, after the two largest, is under p% of the largest — the runner-up could
      estimate the largest to within p%;
    - n,k: the ``n`` largest hold more than ``k``% of the total.
    """
    if cells.largest.shape[-1] < max(2, profile.nk_n):
        raise TableError(
            f"the n,k rule needs the {profile.nk_n} largest contributions of each cell; the "
            f"contributions file has {cells.largest.shape[-1]}"
        )
    occupied = cells.contributors > 0
    top1, top2 = cells.largest[..., 0], cells.largest[..., 1]
    rest = cells.magnitude - top1 - top2
    top_n = cells.largest[..., : profile.nk_n].sum(axis=-1)
    return {
        "p_percent": occupied & (rest < profile.p_percent / 100 * top1),
        "nk_dominance": occupied & (top_n > profile.nk_k / 100 * cells.magnitude),
    }
