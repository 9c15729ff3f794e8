"""A file path as a DuckDB SQL string literal, for the statements that take no parameter in
its place (``ATTACH``, ``COPY ... TO``, ``read_parquet`` in a view, ``SET temp_directory``).
Whoever names a folder names part of the SQL: a quote left as it is would close the string and
run what follows it, so each one is doubled, as SQL escapes it."""

from __future__ import annotations

from pathlib import Path


def path_literal(path: Path | str) -> str:
    """``path`` quoted as a SQL string, its own quotes doubled."""
    return "'" + str(path).replace("'", "''") + "'"
