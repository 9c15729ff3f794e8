"""The tables that disclosure control inspects, and how they are read from CSV, Parquet or records.

A frequency table is kept as a 2-D array of counts with named, labelled dimensions: the names
are what lets a new table be compared with earlier releases (differencing), the labels are what a
report points at, so that no report ever has to quote a hidden value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

TOTAL_LABELS = frozenset({"total", "totals", "all", "overall"})
COUNT_NAMES = ("count", "n", "frequency", "freq", "patients", "value")


class TableError(ValueError):
    """A file that cannot be read as a table of the kind asked for; the message says why."""


@dataclass(frozen=True)
class Dimension:
    """One classifying variable of a table, such as ``age_band``, with its categories in order."""

    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class FrequencyTable:
    """Counts of people by one or two variables; ``columns`` is None for a one-way table.

    ``counts`` has shape ``(len(rows.labels), len(columns.labels))`` (one column when one-way).
    """

    rows: Dimension
    columns: Dimension | None
    counts: np.ndarray

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
    def row_totals_published(self) -> bool:
        """Row totals say something beyond the cells only when a row has two or more cells."""
        return self.counts.shape[1] > 1

    @property
    def column_totals_published(self) -> bool:
        return self.counts.shape[0] > 1

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
        return pacsv.read_csv(path)
    except pa.ArrowInvalid as exc:
        raise TableError(f"{path}: not a readable CSV table ({exc})") from exc


def _is_number(column: pa.ChunkedArray) -> bool:
    return pa.types.is_integer(column.type) or pa.types.is_floating(column.type)


def _as_counts(values: np.ndarray, where: str) -> np.ndarray:
    if np.isnan(values).any():
        raise TableError(f"{where}: a count is missing (blank) — is this table already suppressed?")
    if not np.allclose(values, np.round(values)):
        raise TableError(f"{where}: counts must be whole numbers")
    return np.round(values).astype(np.int64)


def _long_to_table(data: pa.Table, labels: list[str], count: str) -> FrequencyTable:
    rows_name, cols_name = labels[0], labels[1] if len(labels) == 2 else None
    keep = [
        i
        for i in range(data.num_rows)
        if not any(str(data[c][i].as_py()).strip().lower() in TOTAL_LABELS for c in labels)
    ]
    data = data.take(keep)
    row_values = [str(v) for v in data[rows_name].to_pylist()]
    row_labels = tuple(dict.fromkeys(row_values))
    col_values = (
        [str(v) for v in data[cols_name].to_pylist()] if cols_name else ["count"] * len(keep)
    )
    col_labels = tuple(dict.fromkeys(col_values))
    counts = np.zeros((len(row_labels), len(col_labels)), dtype=np.float64)
    r_index = {v: i for i, v in enumerate(row_labels)}
    c_index = {v: i for i, v in enumerate(col_labels)}
    values = data[count].to_numpy(zero_copy_only=False).astype(np.float64)
    for r, c, v in zip(row_values, col_values, values, strict=True):
        counts[r_index[r], c_index[c]] += v
    columns = Dimension(cols_name, col_labels) if cols_name else None
    return FrequencyTable(Dimension(rows_name, row_labels), columns, _as_counts(counts, count))


def _wide_to_table(data: pa.Table) -> FrequencyTable:
    first = data.column_names[0]
    rows_name, _, cols_name = first.partition("/")
    value_columns = [c for c in data.column_names[1:] if c.strip().lower() not in TOTAL_LABELS]
    labels = [str(v) for v in data[first].to_pylist()]
    keep = [i for i, label in enumerate(labels) if label.strip().lower() not in TOTAL_LABELS]
    counts = np.column_stack(
        [data[c].to_numpy(zero_copy_only=False).astype(np.float64)[keep] for c in value_columns]
    )
    columns = Dimension(cols_name or "column", tuple(value_columns))
    if len(value_columns) == 1 and value_columns[0].lower() in COUNT_NAMES:
        columns = None
    return FrequencyTable(
        Dimension(rows_name, tuple(labels[i] for i in keep)), columns, _as_counts(counts, first)
    )


def frequency_table(data: pa.Table) -> FrequencyTable:
    """Read counts laid out long (labels…, count) or wide (label, one column per category).

    Long: one or two text columns name the categories and one numeric column holds the counts.
    Wide: the first column holds the row categories (its header may be ``rows/columns`` to name
    both variables) and every other column holds counts. Rows or columns labelled Total/All are
    margins: they are dropped here and recomputed, so a wrong total can never be published.
    """
    names = data.column_names
    numeric = [c for c in names if _is_number(data[c])]
    text = [c for c in names if c not in numeric]
    if not numeric or not text:
        raise TableError("a frequency table needs a column of labels and at least one of counts")
    if names[0] in text and len(text) == 1 and len(numeric) > 1:
        return _wide_to_table(data)
    if len(text) in (1, 2) and len(numeric) == 1:
        return _long_to_table(data, text, numeric[0])
    if names[0] in text and len(text) == 1:
        return _wide_to_table(data)
    raise TableError(
        f"cannot tell the layout: label columns {text}, count columns {numeric}; write either "
        "label[, label], count or a wide table with one label column"
    )


def crosstab(
    records: pa.Table | duckdb.DuckDBPyRelation, rows: str, columns: str | None = None
) -> FrequencyTable:
    """Count records by one or two variables with DuckDB (fast on millions of rows)."""
    con = duckdb.connect()
    con.register("records", records)
    keys = [rows] if columns is None else [rows, columns]
    cols = ", ".join(f'CAST("{k}" AS VARCHAR)' for k in keys)
    result = con.execute(f"SELECT {cols}, count(*) FROM records GROUP BY ALL").fetchall()
    con.close()
    row_labels = tuple(sorted({r[0] for r in result}, key=label_order))
    col_labels = tuple(sorted({r[1] for r in result}, key=label_order)) if columns else ("count",)
    counts = np.zeros((len(row_labels), len(col_labels)), dtype=np.int64)
    r_index = {v: i for i, v in enumerate(row_labels)}
    c_index = {v: i for i, v in enumerate(col_labels)}
    for row in result:
        counts[r_index[row[0]], c_index[row[1] if columns else "count"]] = row[-1]
    column_dim = Dimension(columns, col_labels) if columns else None
    return FrequencyTable(Dimension(rows, row_labels), column_dim, counts)


def label_order(label: str | None) -> tuple[float, str]:
    """Numeric-looking labels (age bands '5-9' before '10-14') in number order, then text."""
    from fivesafes.disclosure.intervals import parse_interval

    interval = parse_interval(label or "")
    return (interval[0] if interval else float("inf"), label or "")
