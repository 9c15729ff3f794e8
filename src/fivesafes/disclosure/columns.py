"""Which columns of an output name categories, which hold counts, and which hold statistics.

Decided by the file's own types and values, never by words that would let a check be skipped:
a column of counts called ``cases_by_group`` is still a column of counts. The label columns are
the leading columns that make each row's key — every column up to the last text (or date)
column, then as many numeric ones as it takes for no two rows to share a key, as a ``GROUP BY``
writes them. Every other numeric column holds counts when all its values are whole numbers
from zero up; any other value makes it a statistic.

Words only ever make a check stricter: a column whose name says it is a mean, a sum or a
maximum (``mean_cost``, ``cost_sum``, ``max_los``) is a statistic whatever its values, and an
extreme or a magnitude among statistics by the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fivesafes.disclosure.tables import (
    Filled,
    FrequencyTable,
    Grid,
    LongLayout,
    TableError,
    is_number,
    is_total,
    long_grids,
    wide_to_table,
)

MAGNITUDE_WORDS = frozenset({"mean", "avg", "average", "sum"})
"""Statistics the dominance rules apply to: one large contributor shows through them."""
EXTREME_WORDS = re.compile(
    r"^(min|max|minimum|maximum|median|q[0-4]|p\d{1,2}|percentile|quantile|iqr|range)$"
)
"""Statistics that are (or are near) one person's value."""
STATISTIC_WORDS = MAGNITUDE_WORDS | frozenset(
    {"sd", "std", "stdev", "stddev", "se", "var", "variance", "rate", "ratio", "proportion",
     "percent", "percentage", "pct", "prevalence", "per"}
)  # fmt: skip
CONTRIBUTOR_NAMES = ("n", "count", "contributors", "patients", "people", "persons", "records")
"""Count columns that say how many contributed to each row, in order of preference."""


def words(name: str) -> list[str]:
    """A column name's words: ``meanCost`` and ``mean_cost`` both give ``mean``, ``cost``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def is_extreme(name: str) -> bool:
    return any(EXTREME_WORDS.match(w) for w in words(name))


def is_magnitude(name: str) -> bool:
    return any(w in MAGNITUDE_WORDS for w in words(name))


def _whole_from_zero(column: pa.ChunkedArray) -> bool:
    values = column.to_numpy(zero_copy_only=False).astype(np.float64)
    known = values[~np.isnan(values)]
    return bool(((known >= 0) & (known == np.round(known))).all())


def _says_statistic(name: str) -> bool:
    return is_extreme(name) or any(w in STATISTIC_WORDS for w in words(name))


@dataclass(frozen=True)
class Columns:
    """The columns of one output, by kind, each list in file order."""

    labels: tuple[str, ...]
    counts: tuple[str, ...]
    statistics: tuple[str, ...]
    order: tuple[str, ...]
    """Every column but the labels and any Total column, in file order."""

    def contributors(self) -> str | None:
        """The count column that says how many each row's statistics are over: one named so,
        else the only count column; None when there is no such single column."""
        for name in CONTRIBUTOR_NAMES:
            for column in self.counts:
                if column.lower() == name:
                    return column
        return self.counts[0] if len(self.counts) == 1 else None


def _unique(data: pa.Table, keys: list[str]) -> bool:
    if not keys:
        return bool(data.num_rows <= 1)
    grouped = data.select(keys).group_by(keys).aggregate([])
    return bool(grouped.num_rows == data.num_rows)


def label_columns(data: pa.Table) -> list[str]:
    """The leading columns that key each row: through the last non-numeric column, then
    numeric ones until no two rows share a key (``year, month, count``)."""
    names = data.column_names
    text = [k for k, c in enumerate(names) if not is_number(data[c])]
    end = text[-1] + 1 if text else 0
    while end < len(names) and not _unique(data, names[:end]):
        end += 1
    if end == len(names) and text:  # nothing keys the rows: leave the duplicates to be named
        end = text[-1] + 1
    return [str(name) for name in names[:end]]


def classify(
    data: pa.Table, labels: list[str] | None = None, statistics: tuple[str, ...] = ()
) -> Columns:
    """Labels, counts and statistics of an output: ``labels`` overrides the label columns,
    ``statistics`` names columns declared to be statistics whatever their values."""
    chosen = list(labels) if labels is not None else label_columns(data)
    missing = [c for c in chosen if c not in data.column_names]
    if missing:
        raise TableError(f"no column {', '.join(missing)} in the table")
    rest = [c for c in data.column_names if c not in chosen and not is_total(c)]
    not_numbers = [c for c in rest if not is_number(data[c])]
    if not_numbers:
        raise TableError(
            f"cannot tell categories from counts: {', '.join(not_numbers)} after the numbers; "
            "write label columns then count columns, or a wide table headed rows/columns"
        )
    counts = [
        c
        for c in rest
        if c not in statistics and _whole_from_zero(data[c]) and not _says_statistic(c)
    ]
    declared = [c for c in rest if c not in counts]
    if not chosen or not rest:
        raise TableError(
            f"cannot tell categories from counts (labels {chosen}, counts {rest}); write "
            "label columns then count columns, or a wide table headed rows/columns"
        )
    return Columns(tuple(chosen), tuple(counts), tuple(declared), tuple(rest))


@dataclass(frozen=True)
class Output:
    """An output read by kind: a table per count column, the statistics on the same grid,
    and the layout of a long file (None for a wide one) so its safe version goes out alike."""

    grid: Grid
    counts: dict[str, FrequencyTable]
    statistics: dict[str, Filled]
    layout: LongLayout | None
    columns: Columns | None
    """The long file's columns by kind (None for a wide file: all counts)."""


def read_output(
    data: pa.Table, labels: list[str] | None = None, statistics: tuple[str, ...] = ()
) -> Output:
    """Read an output's counts and statistics.

    Long layout (the usual output of a GROUP BY): label columns, then count or statistic
    columns (``with_asthma``, ``population``, ``mean_cost``). Wide layout: the first header is
    ``rows/columns`` (say ``age_band/sex``), the first column holds the row categories and
    every other column is one column category, all counts. Rows or columns labelled Total/All
    are margins: they are dropped here and recomputed, so a wrong total can never be published.
    A combination of labels that has no row in a long file is a zero count: a GROUP BY leaves
    empty groups out.
    """
    first = data.column_names[0] if data.column_names else ""
    if labels is None and "/" in first and not is_number(data[first]):
        grid, table = wide_to_table(data)
        return Output(grid, {"count": table}, {}, None, None)
    columns = classify(data, labels, statistics)
    grid, filled, layout = long_grids(data, list(columns.labels), list(columns.order))
    counts = {c: grid.counts(filled[c], c) for c in columns.counts}
    return Output(grid, counts, {c: filled[c] for c in columns.statistics}, layout, columns)
