"""Dominance checks for magnitude tables (sums of a value, such as bed-days or cost, by group).

A total can give away one contributor's value when there are few contributors, or when one or
two dominate: the second-largest contributor can subtract its own value from the total and
learn the largest within a few per cent. The checks therefore need the contributing records, so
they run on the microdata a table was built from, aggregated with DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.report import CheckReport, RuleResult, SafeTable
from fivesafes.disclosure.suppression import secondary_mask
from fivesafes.disclosure.tables import Dimension, FrequencyTable, Published, grouped


@dataclass(frozen=True)
class MagnitudeTable:
    """Per cell: the sum, the number of contributors, and the largest contributions."""

    rows: Dimension
    columns: Dimension | None
    total: np.ndarray
    contributors: np.ndarray
    largest: np.ndarray  # shape (rows, cols, n) — largest first, zero-padded
    value_name: str = "sum"
    cell_name = FrequencyTable.cell_name


def magnitude_table(
    records: pa.Table,
    rows: str,
    columns: str | None,
    value: str,
    contributor: str | None = None,
    top: int = 2,
) -> MagnitudeTable:
    """Sum ``value`` by group; a contributor is a record, or each distinct ``contributor``
    (a practice, a trust), whose values are added up first as the handbook asks."""
    keys = [rows] if columns is None else [rows, columns]
    quoted = ", ".join(f'"{k}"' for k in keys)
    who = f'"{contributor}"' if contributor else "row_number() OVER ()"
    top = max(top, 2)
    ranked = f"""(
        WITH c AS (SELECT {quoted}, {who} AS who, abs("{value}") AS v FROM records),
             per AS (SELECT {quoted}, who, sum(v) AS v FROM c GROUP BY ALL)
        SELECT *, row_number() OVER (PARTITION BY {quoted} ORDER BY v DESC) AS rank FROM per
    )"""
    ranks = ", ".join(f"sum(v) FILTER (WHERE rank = {r + 1})" for r in range(top))
    row_labels, col_labels, cells = grouped(
        records, keys, f"sum(v), count(*), {ranks}", source=ranked
    )
    shape = (len(row_labels), len(col_labels or (0,)))
    total, count = np.zeros(shape), np.zeros(shape, dtype=np.int64)
    largest = np.zeros((*shape, top))
    for i, j, (sum_v, n, *tops) in cells:
        total[i, j], count[i, j] = sum_v, n
        largest[i, j] = [x or 0.0 for x in tops]
    column_dim = Dimension(columns, col_labels) if columns and col_labels else None
    return MagnitudeTable(
        Dimension(rows, row_labels), column_dim, total, count, largest, f"sum of {value}"
    )


def dominance(table: MagnitudeTable, profile: Profile) -> dict[str, np.ndarray]:
    """Unsafe cells under each rule (non-empty cells only).

    - few contributors: fewer than ``min_contributors``;
    - p%: the rest, after the two largest, is under p% of the largest — the runner-up could
      estimate the largest to within p%;
    - n,k: the ``n`` largest hold more than ``k``% of the total.
    """
    occupied = table.contributors > 0
    top1, top2 = table.largest[..., 0], table.largest[..., 1]
    rest = table.total - top1 - top2
    top_n = table.largest[..., : profile.nk_n].sum(axis=-1)
    return {
        "min_contributors": occupied & (table.contributors < profile.min_contributors),
        "p_percent": occupied & (rest < profile.p_percent / 100 * top1),
        "nk_dominance": occupied & (top_n > profile.nk_k / 100 * table.total),
    }


def check_magnitude(table: MagnitudeTable, profile: Profile, name: str = "table") -> CheckReport:
    """Dominance and contributor-count rules, with complementary suppression of the sums."""
    report = CheckReport(name, "magnitude table", profile.name)
    unsafe = dominance(table, profile)
    settings = {
        "min_contributors": (f"at least {profile.min_contributors} contributors", "threshold"),
        "p_percent": (f"p = {profile.p_percent:g}%", "p_percent"),
        "nk_dominance": (f"n = {profile.nk_n}, k = {profile.nk_k:g}%", "nk"),
    }
    for rule, mask in unsafe.items():
        positions = tuple((int(i), int(j)) for i, j in np.argwhere(mask))
        setting, source = settings[rule]
        report.results.append(
            RuleResult(
                rule,
                not mask.any(),
                f"{len(positions)} cell(s) fail" if positions else "no cell fails",
                setting,
                profile.source(source),
                tuple(table.cell_name(i, j) for i, j in positions),
                positions,
            )
        )
    primary = np.logical_or.reduce(list(unsafe.values()))
    by_rows, by_cols = table.total.shape[1] > 1, table.total.shape[0] > 1
    published = Published.every(table.total.shape, by_rows, by_cols)
    hidden = secondary_mask(np.abs(table.total), primary, published)
    values = np.where(hidden, np.nan, table.total)
    report.safe = SafeTable(
        table.rows,
        table.columns,
        values,
        table.total.sum(axis=1) if by_rows else None,
        table.total.sum(axis=0) if by_cols else None,
        float(table.total.sum()) if by_rows and by_cols else None,
        value_name=table.value_name,
    )
    return report
