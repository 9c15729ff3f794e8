"""Validating CSV rows against the common data model's declaration of their table.

Tabular sources (workforce returns, area lookups) have no FHIR structure to
check, so the model *is* the schema: the header must name the table's columns
and every value must parse as its column's type, category, range and code
system. A bad value names the file, the line and the column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from fivesafes.ingest.readers import TEXT_ENCODING, text_problem
from fivesafes.ingest.rules import Finding, rule
from fivesafes.model import TABLES, ColumnType, Table
from fivesafes.model.codes import code_problem
from fivesafes.model.schema import Column

CSV_TABLES = tuple(name for name, t in TABLES.items() if t.source.startswith("CSV"))
"""Tables that arrive as CSV; the others are built from FHIR resources."""

CSV_HEADER = rule(
    "csv.header",
    "A CSV file's header names exactly the columns of a data-model table",
    "Columns matched by name (not position) cannot be silently shifted; a missing or unknown "
    "column means the file is not the table it claims to be.",
    "workforce.csv line 1: missing column 'fte'; unknown column 'wte'",
)
CSV_VALUE = rule(
    "csv.value",
    "Each CSV value parses as its column's type and lies in its allowed values and range",
    "A value that does not fit its column would become a wrong number or a silent null in every "
    "analysis that uses it.",
    "workforce.csv line 12, column fte: 'twelve' is not a number",
)
CSV_FILE = rule(
    "csv.table",
    "A CSV file's name says which data-model table it loads into",
    "Loading into the wrong table cannot be undone by analysts; the name makes the intent "
    "explicit.",
    "staff.csv: the file name must start with one of: workforce, areas",
)

_TABLE_NAME = re.compile(r"^([a-z_]+)")


def table_for(path: Path) -> Table | None:
    """The CSV table named by the file's name (``workforce.csv``, ``workforce-2024-03.csv``)."""
    match = _TABLE_NAME.match(path.name.lower())
    return TABLES[match.group(1)] if match and match.group(1) in CSV_TABLES else None


# Python's own parsers take more than these columns' messages promise: int() and float() take
# "1_000" and digits of any script, float() takes "nan" and "inf", date.fromisoformat() takes
# "20240101" and week dates. Each value must look like what the message says before it parses.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _parse_integer(value: str) -> int:
    if _INTEGER.fullmatch(value) is None:
        raise ValueError("not an integer")
    number = int(value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError("out of range")
    return number


def _parse_float(value: str) -> float:
    number = float(value) if _DECIMAL.fullmatch(value) else math.nan
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _parse_date(value: str) -> date:
    if _DATE.fullmatch(value) is None:
        raise ValueError("not YYYY-MM-DD")
    return date.fromisoformat(value)


def _parse_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "y"):
        return True
    if lowered in ("false", "0", "no", "n"):
        return False
    raise ValueError("not true or false")


_PARSERS: dict[ColumnType, Callable[[str], Any]] = {
    ColumnType.STRING: str,
    ColumnType.CODE: str,
    ColumnType.INTEGER: _parse_integer,
    ColumnType.FLOAT: _parse_float,
    ColumnType.BOOLEAN: _parse_bool,
    ColumnType.DATE: _parse_date,
}
_EXPECTED = {
    ColumnType.INTEGER: "a whole number (digits 0-9, within 64 bits)",
    ColumnType.FLOAT: "a finite number (digits 0-9, an optional point and exponent)",
    ColumnType.BOOLEAN: "true or false",
    ColumnType.DATE: "a date as YYYY-MM-DD",
}


def header_problem(table: Table, header: Sequence[str]) -> str | None:
    """What is wrong with a CSV header for ``table``, or None."""
    missing = [c for c in table.column_names if c not in header]
    unknown = [h for h in header if h not in table.column_names]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    parts = []
    if missing:
        parts.append("missing column " + ", ".join(repr(m) for m in missing))
    if unknown:
        parts.append("unknown column " + ", ".join(repr(u) for u in unknown))
    if duplicated:
        parts.append("repeated column " + ", ".join(repr(d) for d in duplicated))
    return "; ".join(parts) or None


def _value(column: Column, raw: str) -> tuple[Any, str | None]:
    text = raw.strip()
    if text == "":
        return None, None if column.nullable else "is empty but the column is required"
    try:
        value = _PARSERS[column.type](text)
    except (ValueError, KeyError):
        return None, f"{text!r} is not {_EXPECTED.get(column.type, 'a valid value')}"
    if column.categories is not None and value not in column.categories:
        return None, f"{text!r} is not one of {', '.join(column.categories)}"
    if column.code_system is not None:
        problem = code_problem(column.code_system, value)
        if problem:
            return None, problem
    if column.minimum is not None and value < column.minimum:
        return None, f"{text} is below the plausible minimum {column.minimum}"
    if column.maximum is not None and value > column.maximum:
        return None, f"{text} is above the plausible maximum {column.maximum}"
    return value, None


def parse_row(
    table: Table, header: Sequence[str], values: Sequence[str]
) -> tuple[tuple[Any, ...] | None, list[Finding]]:
    """The row in the table's column order, or the findings that reject it."""
    if len(values) != len(header):
        return None, [
            Finding(
                CSV_VALUE.id,
                table.name,
                f"has {len(values)} values but the header has {len(header)} columns",
            )
        ]
    by_name = dict(zip(header, values, strict=True))
    row: list[Any] = []
    findings: list[Finding] = []
    not_text = text_problem("".join(values)) is not None
    for column in table.columns:
        raw = by_name[column.name]
        encoding = text_problem(raw) if not_text else None
        if encoding is not None:
            findings.append(Finding(TEXT_ENCODING.id, f"{table.name}.{column.name}", encoding))
            continue
        value, problem = _value(column, raw)
        if problem:
            findings.append(Finding(CSV_VALUE.id, f"{table.name}.{column.name}", problem))
        row.append(value)
    return (None if findings else tuple(row)), findings
