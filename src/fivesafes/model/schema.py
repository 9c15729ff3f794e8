"""The building blocks of the common data model: tables of typed, described columns.

One declaration of each table drives the store schema, the catalogue, the
generated docs and (later) dummy data, so everything a column *is* -- its type,
whether it may be missing, its code system and its plausible range -- is said
here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from fivesafes.model.codes import CodeSystem


class ColumnType(StrEnum):
    """The value types analysts meet; each maps to one DuckDB / Spark / Arrow type."""

    PATIENT_ID = "patient_id"
    STRING = "string"
    CODE = "code"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"


DUCKDB_TYPES: dict[ColumnType, str] = {
    ColumnType.PATIENT_ID: "BIGINT",
    ColumnType.STRING: "VARCHAR",
    ColumnType.CODE: "VARCHAR",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.BOOLEAN: "BOOLEAN",
    ColumnType.DATE: "DATE",
}


class TableKind(StrEnum):
    """Whether a table has one row per patient, many per patient, or is about organisations."""

    PATIENT = "one row per patient"
    EVENT = "many rows per patient"
    ORGANISATION = "organisation-level"
    REFERENCE = "reference data"


@dataclass(frozen=True, slots=True)
class Distribution:
    """How a column's values are spread in the real world, so dummy data looks plausible.

    ``bands`` are ``(low, high, weight)``: a band is chosen by weight, then a value
    uniformly inside it (for a date of birth, low/high are ages in years). ``weights``
    pair with the column's ``categories``.
    """

    bands: tuple[tuple[float, float, float], ...] = ()
    weights: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Column:
    """One column: what it holds, in words and in types.

    ``minimum``/``maximum`` bound plausible values (numbers or dates); ``categories``
    lists the only values allowed. Both are checked on the way in and will shape
    dummy data, so they describe the real world, not a storage limit.
    """

    name: str
    type: ColumnType
    description: str
    nullable: bool = True
    code_system: CodeSystem | None = None
    categories: tuple[str, ...] | None = None
    minimum: float | date | None = None
    maximum: float | date | None = None
    distribution: Distribution | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """One analysis-layer table: a name, a kind, its columns and where its rows come from.

    ``key`` names the columns that identify a row of a table loaded from CSV, so a
    newer file replaces the rows it restates instead of duplicating them.
    """

    name: str
    kind: TableKind
    description: str
    source: str
    columns: tuple[Column, ...]
    consent_required: bool = False
    key: tuple[str, ...] = ()
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name!r} declares a column twice")
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})
        for name in self.key:
            self.column(name)

    def column(self, name: str) -> Column:
        """The column called ``name``; a KeyError names the table's columns when there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name)
            raise KeyError(f"table {self.name!r} has no column {name!r}; it has {known}") from None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def is_patient_level(self) -> bool:
        """Tables keyed by patient, as opposed to organisation-level tables."""
        return self.kind in (TableKind.PATIENT, TableKind.EVENT)
