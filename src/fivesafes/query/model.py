"""The query model: one immutable tree that every engine, and the dummy-data generator, reads.

The analyst-facing language (``query/language.py``) builds these nodes and checks
types as it goes; engines never see the language objects, only this model. Every
node is a frozen dataclass, so a definition can be hashed, compared, cached and
shared between engines without anyone changing it under another's feet.

Two kinds of node:

* **frames** -- sets of rows: a whole table (:class:`TableFrame`), its rows that
  pass a condition (:class:`Filter`), sorted rows (:class:`Sort`) and one row per
  patient picked from sorted rows (:class:`PickOne`);
* **series** -- one value per row of a frame (event level) or per patient
  (patient level): columns, constants, operations, aggregations, ``case``.

Which rows a series has is its *domain*: ``None`` for patient level, else the
event-level frame it is drawn from (see :func:`domain_of`). A column's value on a
row does not depend on how the rows were filtered, so engines compile columns
row-wise against the root table; the frame only decides which rows are there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeAlias

from fivesafes.model import TABLES, ColumnType, TableKind
from fivesafes.model.codes import CodeSystem


class Kind(StrEnum):
    """The value type of a series: the model's column types, as the language sees them."""

    BOOL = "boolean"
    INT = "integer"
    FLOAT = "float"
    STR = "string"
    CODE = "code"
    DATE = "date"
    PATIENT_ID = "patient_id"

    @property
    def is_number(self) -> bool:
        return self in (Kind.INT, Kind.FLOAT)


KIND_OF_COLUMN_TYPE: dict[ColumnType, Kind] = {
    ColumnType.PATIENT_ID: Kind.PATIENT_ID,
    ColumnType.STRING: Kind.STR,
    ColumnType.CODE: Kind.CODE,
    ColumnType.INTEGER: Kind.INT,
    ColumnType.FLOAT: Kind.FLOAT,
    ColumnType.BOOLEAN: Kind.BOOL,
    ColumnType.DATE: Kind.DATE,
}

Scalar: TypeAlias = bool | int | float | str | date | None


# --- frames ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableFrame:
    """Every row of one analysis-layer table."""

    table: str

    @property
    def patient_level(self) -> bool:
        return TABLES[self.table].kind is TableKind.PATIENT


@dataclass(frozen=True, slots=True)
class Filter:
    """The rows of ``source`` for which ``condition`` is true (NULL counts as not true)."""

    source: Frame
    condition: Series


@dataclass(frozen=True, slots=True)
class SortKey:
    series: Series


@dataclass(frozen=True, slots=True)
class Sort:
    """Rows of ``source`` in the order of ``keys`` (NULLs first, ascending); ties are broken
    by the table's remaining columns, so every engine picks the same row."""

    source: Frame
    keys: tuple[SortKey, ...]


@dataclass(frozen=True, slots=True)
class PickOne:
    """The first (or last) row per patient of sorted rows: a patient-level frame."""

    source: Sort
    last: bool


Frame: TypeAlias = TableFrame | Filter | Sort | PickOne


# --- series ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a frame."""

    source: Frame
    name: str
    kind: Kind
    code_system: CodeSystem | None = None


@dataclass(frozen=True, slots=True)
class Value:
    """A constant."""

    value: Scalar
    kind: Kind


@dataclass(frozen=True, slots=True)
class IntervalBound:
    """The start or end date of the interval a measure is being computed for."""

    end: bool
    kind: Kind = Kind.DATE


class Fn(StrEnum):
    """Operations on series; argument and result types are checked by the language."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    AND = "and"
    OR = "or"
    NOT = "not"
    IS_NULL = "is_null"
    COALESCE = "coalesce"
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    NEG = "negate"
    TO_FLOAT = "as_float"
    TO_INT = "as_int"
    YEAR = "year"
    MONTH = "month"
    DAY = "day"
    ADD_DAYS = "add_days"
    ADD_MONTHS = "add_months"
    DIFF_DAYS = "difference_in_days"
    DIFF_MONTHS = "difference_in_months"
    DIFF_YEARS = "difference_in_years"
    TO_FIRST_OF_MONTH = "to_first_of_month"
    TO_FIRST_OF_YEAR = "to_first_of_year"


@dataclass(frozen=True, slots=True)
class Apply:
    """``fn`` applied to ``args``, giving a value of ``kind``."""

    fn: Fn
    args: tuple[Series, ...]
    kind: Kind


@dataclass(frozen=True, slots=True)
class IsIn:
    """Whether the value is one of ``values`` (NULL stays NULL)."""

    series: Series
    values: frozenset[Scalar]
    kind: Kind = Kind.BOOL


@dataclass(frozen=True, slots=True)
class Case:
    """The value of the first branch whose condition is true; else ``otherwise``."""

    branches: tuple[tuple[Series, Series], ...]
    otherwise: Series
    kind: Kind


class Agg(StrEnum):
    EXISTS = "exists"
    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One value per patient from an event-level frame (``EXISTS``/``COUNT``) or series."""

    agg: Agg
    source: Frame | Series
    kind: Kind


Series: TypeAlias = Column | Value | IntervalBound | Apply | IsIn | Case | Aggregate
Node: TypeAlias = Frame | Series | SortKey

FRAME_TYPES = (TableFrame, Filter, Sort, PickOne)


def root_table(frame: Frame) -> TableFrame:
    """The table a frame's rows come from."""
    while not isinstance(frame, TableFrame):
        frame = frame.source
    return frame


def frame_is_patient_level(frame: Frame) -> bool:
    return isinstance(frame, PickOne) or (isinstance(frame, TableFrame) and frame.patient_level)


def domain_of(series: Series) -> Frame | None:
    """The frame whose rows an event-level series has one value for; None when patient level.

    A series combining two event-level frames has no meaning (which rows would it
    have?); the language refuses to build one, so the first event domain found is the
    only one.
    """
    if isinstance(series, Aggregate):
        return None
    if isinstance(series, Column):
        return None if frame_is_patient_level(series.source) else series.source
    for child in children(series):
        if not isinstance(child, FRAME_TYPES) and not isinstance(child, Aggregate):
            found = domain_of(child)
            if found is not None:
                return found
    return None


def children(node: Node) -> tuple[Node, ...]:
    """The nodes directly under ``node``, for walks over a whole definition."""
    if isinstance(node, Filter):
        return (node.source, node.condition)
    if isinstance(node, Sort):
        return (node.source, *node.keys)
    if isinstance(node, PickOne | Column | Aggregate):
        return (node.source,)
    if isinstance(node, SortKey | IsIn):
        return (node.series,)
    if isinstance(node, Apply):
        return node.args
    if isinstance(node, Case):
        return (*(s for pair in node.branches for s in pair), node.otherwise)
    return ()


def walk(node: Node) -> list[Node]:
    """``node`` and every node under it, each once, parents before children."""
    seen: set[int] = set()
    out: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        out.append(current)
        stack.extend(reversed(children(current)))
    return out


def uses_interval(node: Node) -> bool:
    """Whether a value depends on the interval a measure is computed for."""
    return any(isinstance(n, IntervalBound) for n in walk(node))
