"""Buffers that move checked records into DuckDB staging tables in large Arrow batches.

Row-at-a-time inserts would dominate a load; collecting columns in Python lists
and handing DuckDB one Arrow table every few tens of thousands of rows keeps the
store's share of the work small.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}
FLUSH_ROWS = 50_000


class StagingBuffer:
    """Rows for one temporary table, flushed to DuckDB in Arrow batches."""

    __slots__ = ("_con", "_rows", "columns", "count", "name", "schema")

    def __init__(
        self, con: duckdb.DuckDBPyConnection, name: str, columns: tuple[tuple[str, str], ...]
    ) -> None:
        self._con = con
        self.name = name
        self.columns = columns
        self.schema = pa.schema([(n, ARROW_TYPES[t]) for n, t in columns])
        self._rows: list[tuple[Any, ...]] = []
        self.count = 0
        cols = ", ".join(f'"{n}" {t}' for n, t in columns)
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" ({cols})')

    def append(self, row: tuple[Any, ...]) -> None:
        self._rows.append(row)
        if len(self._rows) >= FLUSH_ROWS:
            self.flush()

    def insert_arrow(self, arrow_table: pa.Table) -> None:
        """Insert a ready Arrow table with this buffer's schema (rows checked elsewhere)."""
        self.flush()
        self._con.execute(f'INSERT INTO "{self.name}" SELECT * FROM arrow_table')
        self.count += arrow_table.num_rows

    def flush(self) -> None:
        if not self._rows:
            return
        arrays = [
            pa.array(list(values), type=field.type)
            for values, field in zip(zip(*self._rows, strict=True), self.schema, strict=True)
        ]
        batch = pa.Table.from_arrays(arrays, schema=self.schema)  # noqa: F841 (read by DuckDB)
        self._con.execute(f'INSERT INTO "{self.name}" SELECT * FROM batch')
        self.count += len(self._rows)
        self._rows.clear()
