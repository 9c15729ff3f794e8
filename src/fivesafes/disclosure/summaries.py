"""Checks on summary statistics by group and on model outputs.

A minimum, a maximum or a percentile of a small group is one person's value (the oldest patient
in a practice; the top of an interquartile range of four people), and a model fitted with few
residual degrees of freedom can be inverted to its inputs. These checks read the table an
analysis wrote and name the rows that need hiding.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.report import CheckReport, RuleResult, SafeTable
from fivesafes.disclosure.tables import COUNT_NAMES, Dimension, TableError

DF_NAMES = ("df_resid", "residual_df", "df_residual", "dof", "degrees_of_freedom", "df")
EXTREME = re.compile(r"^(min|max|minimum|maximum|median|q[0-4]|p\d{1,2}|percentile.*|iqr.*)$")
STATISTIC = re.compile(r"^(mean|sd|std|se|var|variance|sum|total)$")


def is_model_table(data: pa.Table) -> bool:
    return any(c.lower() in DF_NAMES for c in data.column_names)


def is_statistics_table(data: pa.Table) -> bool:
    names = [c.lower() for c in data.column_names]
    has_n = any(n in COUNT_NAMES for n in names)
    return has_n and any(EXTREME.match(n) or STATISTIC.match(n) for n in names)


def _numbers(data: pa.Table, column: str) -> np.ndarray:
    return data[column].to_numpy(zero_copy_only=False).astype(float)


def check_statistics(data: pa.Table, profile: Profile, name: str = "table") -> CheckReport:
    """Summary statistics by group: no statistic of a group under the threshold, and no
    min/max/percentile of one (or none at all when the profile forbids extremes)."""
    report = CheckReport(name, "summary statistics", profile.name)
    count = next(c for c in data.column_names if c.lower() in COUNT_NAMES)
    stats = [c for c in data.column_names if EXTREME.match(c.lower()) or STATISTIC.match(c.lower())]
    labels = [c for c in data.column_names if c != count and c not in stats]
    n = _numbers(data, count)
    row_labels = tuple(
        ", ".join(str(data[c][i].as_py()) for c in labels) or str(i) for i in range(data.num_rows)
    )
    small = (n > 0) & (n < profile.threshold)
    extremes = [c for c in stats if EXTREME.match(c.lower())]
    values = np.column_stack([n, *(_numbers(data, c) for c in stats)])
    columns = (count, *stats)
    hidden = np.zeros(values.shape, dtype=bool)
    hidden[small, :] = True
    if not profile.allow_extremes:
        for c in extremes:
            hidden[:, columns.index(c)] = True
    rows = Dimension(" / ".join(labels) or "row", row_labels)

    def named(mask: np.ndarray) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
        positions = tuple((int(i), int(j)) for i, j in np.argwhere(mask))
        return tuple(f"{row_labels[i]}: {columns[j]}" for i, j in positions), positions

    small_cells, small_positions = named(hidden & small[:, None] & (np.arange(len(columns)) > 0))
    report.results.append(
        RuleResult(
            "small_group_statistics",
            not small.any(),
            f"{int(small.sum())} group(s) under {profile.threshold} show statistics"
            if small.any()
            else f"every group has at least {profile.threshold} people",
            f"groups of at least {profile.threshold}",
            profile.source("extremes"),
            small_cells,
            small_positions,
        )
    )
    extreme_mask = np.zeros_like(hidden)
    for c in extremes:
        extreme_mask[:, columns.index(c)] = small if profile.allow_extremes else True
    cells, positions = named(extreme_mask)
    report.results.append(
        RuleResult(
            "extremes",
            not extreme_mask.any(),
            f"{len(cells)} min/max/percentile value(s) of small groups" if cells else "none shown",
            "allowed for groups of at least the threshold"
            if profile.allow_extremes
            else "never allowed",
            profile.source("extremes"),
            cells,
            positions,
        )
    )
    report.safe = SafeTable(
        rows, Dimension("statistic", columns), np.where(hidden, np.nan, values), None, None, None
    )
    return report


def check_model(data: pa.Table, profile: Profile, name: str = "table") -> CheckReport:
    """A model's output needs at least ``min_df`` residual degrees of freedom."""
    report = CheckReport(name, "model output", profile.name)
    column = next(c for c in data.column_names if c.lower() in DF_NAMES)
    df = _numbers(data, column)
    if np.isnan(df).all():
        raise TableError(f"{name}: the {column} column is empty")
    lowest = float(np.nanmin(df))
    report.results.append(
        RuleResult(
            "model_df",
            lowest >= profile.min_df,
            f"residual degrees of freedom {lowest:g}",
            f"at least {profile.min_df}",
            profile.source("min_df"),
        )
    )
    return report
