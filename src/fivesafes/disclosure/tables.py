"""The tables that disclosure control inspects, and how they are read from CSV, Parquet or records.

A frequency table is kept as a 2-D array of counts with named, labelled dimensions: the names
are what lets a new table be compared with earlier releases (differencing), the labels are what a
report points at, so that no report ever has to quote a hidden value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fivesafes.disclosure.intervals import parse_interval

TOTAL_LABELS = frozenset({"total", "totals", "all", "overall"})


class TableError(ValueError):
    """A file that cannot be read as a table of the kind asked for; the message says why."""


EMPTY_TABLE = (
    "no rows of counts, only a header or totals: an empty table has nothing to check or "
    "release (leave it out of the request)"
)
"""Why a table without a single cell is refused rather than passed: nothing in it was checked."""


@dataclass(frozen=True)
class Dimension:
    """One classifying variable of a table, such as ``age_band``, with its categories in order."""

    name: str
    labels: tuple[str, ...]


Place = tuple[int, int]
"""Where a row of a file sits in its table's grid, as a report's positions say: ``(i, j)`` a
cell, ``(i, -1)`` row i's total, ``(-1, j)`` column j's total, ``(-1, -1)`` the grand total."""


@dataclass(frozen=True)
class LongLayout:
    """A long table's own shape — its label columns, count columns and rows in order — and where
    each row sits in the checked grid, so that its safe version goes out as it came in."""

    labels: tuple[str, ...]
    measures: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    """Each row's label values as written, in the file's order."""
    places: tuple[Place | None, ...]
    """Each row's place in the grid; None for a total row the grid has no single place for."""
    row_keys: tuple[tuple[str, ...], ...]
    column_keys: tuple[tuple[str, ...], ...]
    """The label values of each grid row and column, to write a cell the file had no row for."""

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_keys), len(self.column_keys)

    @cached_property
    def _keys(self) -> tuple[dict[tuple[str, ...], int], dict[tuple[str, ...], int]]:
        return (
            {k: i for i, k in enumerate(self.row_keys)},
            {k: j for j, k in enumerate(self.column_keys)},
        )

    def place_of(self, key: tuple[str, ...]) -> Place | None:
        """The grid cell of a row's label values, as written; None for any other key."""
        width = len(self.row_keys[0]) if self.row_keys else 0
        rows, columns = self._keys
        i, j = rows.get(key[:width]), columns.get(key[width:])
        return None if i is None or j is None else (i, j)

    def absent(self) -> np.ndarray:
        """Grid cells the file has no row for: groups a GROUP BY left out for being empty."""
        mask = np.ones(self.shape, dtype=bool)
        for place in self.places:
            if place is not None and min(place) >= 0:
                mask[place] = False
        return mask

    @classmethod
    def of_grid(cls, dimensions: tuple[Dimension, ...], measures: tuple[str, ...]) -> LongLayout:
        """Every cell of a grid as a row, in grid order: how a table made from records goes
        out (zeros included, since nothing else would say they are zeros)."""
        row_keys = tuple((label,) for label in dimensions[0].labels)
        column_keys = (
            tuple((label,) for label in dimensions[1].labels) if len(dimensions) > 1 else ((),)
        )
        cells = [(i, j) for i in range(len(row_keys)) for j in range(len(column_keys))]
        return cls(
            tuple(d.name for d in dimensions),
            measures,
            tuple(row_keys[i] + column_keys[j] for i, j in cells),
            tuple(cells),
            row_keys,
            column_keys,
        )


@dataclass(frozen=True)
class Published:
    """Which totals a table shows: each row's, each column's, the grand total. A table made
    here shows them all; a table written some other way shows what its file holds."""

    rows: np.ndarray
    columns: np.ndarray
    total: bool

    @classmethod
    def every(cls, shape: tuple[int, ...], by_rows: bool, by_columns: bool) -> Published:
        return cls(np.full(shape[0], by_rows), np.full(shape[1], by_columns), by_rows or by_columns)

    @property
    def grand_total_line(self) -> bool:
        """Whether the grand total adds anything the row or column totals do not imply."""
        return self.total and not (self.rows.all() or self.columns.all())

    def __bool__(self) -> bool:
        return bool(self.rows.any() or self.columns.any() or self.total)

    def equations(self, hidden: np.ndarray) -> np.ndarray:
        """Each published total that adds up a hidden cell, as a row over the hidden cells
        (in row-major order). Refuses (``TableError``) a table with so many hidden cells
        across so many totals that solving them would not fit in memory."""
        rows_at, cols_at = np.nonzero(hidden)
        lines_of_rows = np.flatnonzero(self.rows & hidden.any(axis=1))
        lines_of_cols = np.flatnonzero(self.columns & hidden.any(axis=0))
        total = int(self.grand_total_line and rows_at.size > 0)
        count = lines_of_rows.size + lines_of_cols.size + total
        if count * rows_at.size > MAX_EQUATIONS:
            raise TableError(
                f"{rows_at.size:,} hidden cells across {count:,} totals are too many to check "
                "that none can be worked out; merge categories or split the table"
            )
        equations = np.zeros((count, rows_at.size))
        place = np.full(hidden.shape[0], -1)
        place[lines_of_rows] = np.arange(lines_of_rows.size)
        on = place[rows_at] >= 0
        equations[place[rows_at][on], np.flatnonzero(on)] = 1
        place = np.full(hidden.shape[1], -1)
        place[lines_of_cols] = lines_of_rows.size + np.arange(lines_of_cols.size)
        on = place[cols_at] >= 0
        equations[place[cols_at][on], np.flatnonzero(on)] = 1
        if total:
            equations[-1] = 1
        return equations


MAX_EQUATIONS = 20_000_000
"""Totals × hidden cells of one audit: about 160 MB of equations, and what solving them needs."""


@dataclass(frozen=True)
class FileTotals:
    """The totals a file shows beside cells it already hides; ``nan`` where it shows none."""

    rows: np.ndarray
    columns: np.ndarray
    total: float

    def published(self) -> Published:
        return Published(~np.isnan(self.rows), ~np.isnan(self.columns), not np.isnan(self.total))


@dataclass(frozen=True)
class FrequencyTable:
    """Counts of people by one or two variables; ``columns`` is None for a one-way table.

    ``counts`` has shape ``(len(rows.labels), len(columns.labels))`` (one column when one-way).
    A table read from a file that already hides some cells has them in ``withheld`` (their
    count unknown, held as 0) and the totals the file shows in ``file_totals``; a table made from
    records has neither, and publishes whatever totals the profile says.
    """

    rows: Dimension
    columns: Dimension | None
    counts: np.ndarray
    withheld: np.ndarray | None = None
    file_totals: FileTotals | None = None

    def __post_init__(self) -> None:
        width = len(self.columns.labels) if self.columns else 1
        if self.counts.shape != (len(self.rows.labels), width):
            raise TableError(f"counts of shape {self.counts.shape} do not match the labels")
        if (self.counts < 0).any():
            raise TableError("a frequency table cannot hold negative counts")

    @property
    def dimensions(self) -> tuple[Dimension, ...]:
        return (self.rows,) if self.columns is None else (self.rows, self.columns)

    @property
    def has_withheld(self) -> bool:
        return self.withheld is not None and bool(self.withheld.any())

    def published(self) -> Published:
        """The totals an attacker knows: those in the file, or all that say anything."""
        if self.file_totals is not None:
            return self.file_totals.published()
        return Published.every(
            self.counts.shape, self.row_totals_published, self.column_totals_published
        )

    @property
    def row_totals_published(self) -> bool:
        """Row totals say something beyond the cells only when a row has two or more cells."""
        return bool(self.counts.shape[1] > 1)

    @property
    def column_totals_published(self) -> bool:
        return bool(self.counts.shape[0] > 1)

    def cell_name(self, i: int, j: int) -> str:
        """A cell by its categories, e.g. ``age_band=0-15, sex=F`` — never by its value."""
        name = f"{self.rows.name}={self.rows.labels[i]}"
        return (
            name
            if self.columns is None
            else f"{name}, {self.columns.name}={self.columns.labels[j]}"
        )


def read_arrow(path: Path) -> pa.Table:
    """A CSV or Parquet file as an Arrow table; labels stay text even when they look numeric."""
    if not path.exists():
        raise TableError(f"{path}: no such file")
    if path.suffix.lower() == ".parquet":
        return pq.read_table(path)
    if path.suffix.lower() != ".csv":
        raise TableError(f"{path}: only .csv and .parquet tables can be checked")
    try:
        return _unredact(pacsv.read_csv(path))
    except pa.ArrowInvalid as exc:
        raise TableError(f"{path}: not a readable CSV table ({exc})") from exc


REDACTED = "[REDACTED]"
"""The one mark every safe table writes for a hidden cell."""
REDACTION = re.compile(
    r"^\s*(\[?redacted\]?|x|\*+|c|\.\.|suppressed|[<≤]=?\s*\d+|-|na|n/a)?\s*$", re.IGNORECASE
)
NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


def _unredact(data: pa.Table) -> pa.Table:
    """Text columns of numbers and redaction marks (``[REDACTED]``, ``*``, ``<8``, blank) as
    numbers with gaps: a table someone already suppressed, read so it can be checked. A column
    of nothing but ``[REDACTED]`` (every cell hidden) is one too."""
    for k, name in enumerate(data.column_names):
        column = data[name]
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        numbers = pc.fill_null(pc.match_substring_regex(column, NUMBER.pattern), False)
        marks = pc.fill_null(
            pc.match_substring_regex(column, REDACTION.pattern, ignore_case=True), True
        )
        canonical = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), REDACTED), False)
        hidden = pc.any(numbers).as_py() or pc.all(canonical).as_py()
        if hidden and len(column) and pc.all(pc.or_(numbers, marks)).as_py():
            floats = pc.if_else(numbers, column, None).cast(pa.float64())
            data = data.set_column(k, name, floats)
    return data


def is_number(column: pa.ChunkedArray) -> bool:
    return bool(pa.types.is_integer(column.type) or pa.types.is_floating(column.type))


def _as_counts(values: np.ndarray, where: str) -> np.ndarray:
    """Whole-number counts; a gap (a cell the file already hides) is held as 0."""
    known = values[~np.isnan(values)]
    if not np.allclose(known, np.round(known)):
        raise TableError(f"{where}: counts must be whole numbers")
    return np.asarray(np.round(np.nan_to_num(values)), dtype=np.int64)


MAX_CELLS = 250_000
"""Cells of one table's grid the checks hold in memory; a file crossing more categories than
this (each label column crossed with the others) is refused with a message, not a crash."""


def _refuse_too_many(rows: int, columns: int, where: str) -> None:
    if rows * columns > MAX_CELLS:
        raise TableError(
            f"{where}: {rows:,} × {columns:,} categories make {rows * columns:,} cells, more "
            f"than the {MAX_CELLS:,} the checks hold; release a smaller, aggregated table, or "
            "split it"
        )


def _distinct(data: pa.Table, columns: list[str]) -> int:
    if not columns:
        return 1
    return int(data.select(columns).group_by(columns).aggregate([]).num_rows)


@dataclass(frozen=True)
class Filled:
    """One column of a file on its table's grid: ``values`` (``nan`` where the file has a gap,
    a redaction mark, or no row), ``seen`` (cells the file has a row for) and the totals the
    file shows (``nan`` where it shows none)."""

    values: np.ndarray
    seen: np.ndarray
    totals: FileTotals


@dataclass(frozen=True)
class Grid:
    """The categories of a table read from a file: row and column labels and where each is."""

    rows: Dimension
    columns: Dimension | None
    r_index: dict[str, int]
    c_index: dict[str | None, int]

    @classmethod
    def of(
        cls, row_name: str, col_name: str | None, pairs: list[tuple[str, str | None]], where: str
    ) -> Grid:
        """The grid of (row label, column label) pairs, a label of Total marking a margin."""
        inner = [(r, c) for r, c in pairs if not is_total(r) and not is_total(c)]
        row_labels = tuple(dict.fromkeys(r for r, _ in inner))
        col_labels = tuple(dict.fromkeys(str(c) for _, c in inner)) if col_name else ("count",)
        if not inner:
            raise TableError(EMPTY_TABLE)
        _refuse_too_many(len(row_labels), len(col_labels), where)
        return cls(
            Dimension(row_name, row_labels),
            Dimension(col_name, col_labels) if col_name else None,
            {v: i for i, v in enumerate(row_labels)},
            dict[str | None, int]({v: i for i, v in enumerate(col_labels)}),
        )

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows.labels), len(self.columns.labels) if self.columns else 1

    def fill(self, cells: list[tuple[str, str | None, float]], where: str) -> Filled:
        """A column's (row label, column label, value) triples on the grid, totals apart."""
        grid = np.full(self.shape, np.nan)
        seen = np.zeros(self.shape, dtype=bool)
        row_totals, col_totals = np.full(self.shape[0], np.nan), np.full(self.shape[1], np.nan)
        total = np.nan
        one_way = self.columns is None
        for r, c, v in cells:
            j = self.c_index.get("count" if one_way else c)
            if is_total(r) and (is_total(c) or one_way):
                total = v
            elif is_total(r):
                col_totals[j] = v
            elif is_total(c):
                row_totals[self.r_index[r]] = v
            else:
                if seen[self.r_index[r], j]:
                    raise TableError(f"{where}: two rows have the same categories ({r}, {c})")
                seen[self.r_index[r], j] = True
                grid[self.r_index[r], j] = v
        if one_way:
            col_totals[0] = total
        return Filled(grid, seen, FileTotals(row_totals, col_totals, float(total)))

    def counts(self, filled: Filled, where: str) -> FrequencyTable:
        """A column of counts as a table: a gap is a withheld cell (a cell with no row at all
        is an empty group: zero), and the file's totals are kept only when it withholds."""
        withheld = np.isnan(filled.values) & filled.seen
        return FrequencyTable(
            self.rows,
            self.columns,
            _as_counts(filled.values, where),
            withheld if withheld.any() else None,
            filled.totals if withheld.any() else None,
        )


def is_total(value: object) -> bool:
    """Whether a label marks a margin (Total, All…); asked of every cell of a large file."""
    return value is not None and _total_text(str(value))


@lru_cache(maxsize=65536)
def _total_text(text: str) -> bool:
    return text.strip().lower() in TOTAL_LABELS


def long_grids(
    data: pa.Table, labels: list[str], measures: list[str]
) -> tuple[Grid, dict[str, Filled], LongLayout]:
    """Every measure column of a long file on one grid over the label columns, and the file's
    layout; with three or more label columns the first ones are joined into the rows
    (``age_band & sex``) and the last gives the columns. A file crossing more categories than
    the checks hold is refused before its rows are read one by one."""
    split = labels[:-1] if len(labels) > 1 else labels
    _refuse_too_many(_distinct(data, split), _distinct(data, labels[len(split) :]), labels[0])
    written = [tuple("" if v is None else str(v) for v in row) for row in _label_rows(data, labels)]
    row_parts = [key[:-1] if len(labels) > 1 else key for key in written]
    col_parts = [key[-1:] if len(labels) > 1 else () for key in written]
    row_values = ["Total" if any(map(is_total, p)) else " / ".join(p) for p in row_parts]
    col_values = [c[0] if c else None for c in col_parts]
    row_name = labels[0] if len(labels) == 1 else " & ".join(labels[:-1])
    col_name = None if len(labels) == 1 else labels[-1]
    grid = Grid.of(row_name, col_name, list(zip(row_values, col_values, strict=True)), labels[0])
    filled = {}
    for measure in measures:
        values = data[measure].to_numpy(zero_copy_only=False).astype(np.float64)
        filled[measure] = grid.fill(list(zip(row_values, col_values, values, strict=True)), measure)
    r_index = grid.r_index
    c_index: dict[str | None, int] = grid.c_index if grid.columns else {None: 0}
    row_keys: dict[int, tuple[str, ...]] = {}
    column_keys: dict[int, tuple[str, ...]] = {}
    for r, c, rp, cp in zip(row_values, col_values, row_parts, col_parts, strict=True):
        if r in r_index:
            row_keys.setdefault(r_index[r], rp)
        if c in c_index:
            column_keys.setdefault(c_index[c], cp)
    places = [
        _place(r_index, c_index, r, c, all(map(is_total, rp)))
        for r, c, rp in zip(row_values, col_values, row_parts, strict=True)
    ]
    layout = LongLayout(
        tuple(labels),
        tuple(measures),
        tuple(written),
        tuple(places),
        tuple(row_keys[i] for i in range(len(r_index))),
        tuple(column_keys[j] for j in range(len(c_index))),
    )
    return grid, filled, layout


def _label_rows(data: pa.Table, labels: list[str]) -> list[tuple[object, ...]]:
    return list(zip(*(data[c].to_pylist() for c in labels), strict=True))


def _place(
    r_index: dict[str, int],
    c_index: dict[str | None, int],
    r: str,
    c: str | None,
    whole_row_total: bool,
) -> Place | None:
    """A row's place in the grid; a total over only some of the joined row labels has none."""
    row_total, col_total = is_total(r), is_total(c)
    if row_total and not whole_row_total:
        return None
    i = -1 if row_total else r_index.get(r)
    j = -1 if col_total else c_index.get(c)
    return None if i is None or j is None else (i, j)


def wide_to_table(data: pa.Table) -> tuple[Grid, FrequencyTable]:
    """A wide file of counts (first header ``rows/columns``) as its grid and table."""
    first = data.column_names[0]
    rows_name, _, cols_name = first.partition("/")
    labels = [str(v) for v in data[first].to_pylist()]
    cells = [
        (label, c, v)
        for c in data.column_names[1:]
        for label, v in zip(
            labels, data[c].to_numpy(zero_copy_only=False).astype(np.float64), strict=True
        )
    ]
    grid = Grid.of(rows_name, cols_name or "column", [(r, c) for r, c, _ in cells], first)
    return grid, grid.counts(grid.fill(cells, first), first)


def grouped(
    records: pa.Table | duckdb.DuckDBPyRelation,
    keys: list[str],
    aggregates: str,
    source: str = "records",
) -> tuple[tuple[str, ...], tuple[str, ...] | None, list[tuple[int, int, tuple[Any, ...]]]]:
    """Group records by one or two keys with DuckDB; the row and column categories in order
    and, per group, its position and the ``aggregates`` (SQL over ``source``, a query of
    ``records``). A missing category is labelled ``missing``."""
    con = duckdb.connect()
    con.register("records", records)
    labels = ", ".join(f"COALESCE(CAST(\"{k}\" AS VARCHAR), 'missing')" for k in keys)
    query = f"SELECT {labels}, {aggregates} FROM {source} GROUP BY ALL"
    try:
        result = con.execute(query).fetchall()
    except duckdb.Error as exc:  # a column missing or of the wrong type: one line, as a table
        raise TableError(str(exc).splitlines()[0]) from None
    finally:
        con.close()
    row_labels = tuple(sorted({r[0] for r in result}, key=label_order))
    col_labels = tuple(sorted({r[1] for r in result}, key=label_order)) if len(keys) > 1 else None
    r_index = {v: i for i, v in enumerate(row_labels)}
    c_index = {v: i for i, v in enumerate(col_labels or ())}
    width = len(keys)
    cells = [(r_index[r[0]], c_index[r[1]] if width > 1 else 0, r[width:]) for r in result]
    return row_labels, col_labels, cells


def crosstab(
    records: pa.Table | duckdb.DuckDBPyRelation, rows: str, columns: str | None = None
) -> FrequencyTable:
    """Count records by one or two variables with DuckDB (fast on millions of rows)."""
    return count_by(records, rows, columns, {"count": None})["count"]


def count_by(
    records: pa.Table | duckdb.DuckDBPyRelation,
    rows: str,
    columns: str | None,
    counts: Mapping[str, str | None],
) -> dict[str, FrequencyTable]:
    """Several counts over the same one or two variables, in one pass: each names the true/false
    column of the records it counts, or None to count every record (``{"with_asthma":
    "has_asthma", "population": None}``)."""
    keys = [rows] if columns is None else [rows, columns]
    aggregates = ", ".join(
        "count(*)" if flag is None else f'count(*) FILTER (WHERE CAST("{flag}" AS BOOLEAN))'
        for flag in counts.values()
    )
    row_labels, col_labels, cells = grouped(records, keys, aggregates)
    if not cells:
        raise TableError("no records to count: an empty table has nothing to check or write")
    grids = np.zeros((len(counts), len(row_labels), len(col_labels or (0,))), dtype=np.int64)
    for i, j, values in cells:
        grids[:, i, j] = values
    column_dim = Dimension(columns, col_labels) if columns and col_labels else None
    return {
        name: FrequencyTable(Dimension(rows, row_labels), column_dim, grid)
        for name, grid in zip(counts, grids, strict=True)
    }


def label_order(label: str | None) -> tuple[float, str]:
    """Numeric-looking labels (age bands '5-9' before '10-14') in number order, then text."""
    interval = parse_interval(label or "")
    return (interval[0] if interval else float("inf"), label or "")
