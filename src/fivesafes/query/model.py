"""The query model: one immutable tree that every engine, and the dummy-data generator, reads.

The analyst-facing language (``series.py``, ``frames.py``, ``dataset.py``) builds these
nodes and explains mistakes as it goes; engines never see the language objects, only
this model. Every node is a frozen dataclass, so a definition can be hashed, compared,
cached and shared between engines without anyone changing it under another's feet.

Every node checks itself when it is made (types, kinds, domains, arity): a tree that
could mean nothing cannot be built by any path -- the language, a model read back from
its serialised form, or a test building nodes by hand. The language checks first, with
a fix in the analyst's words; these checks are the floor beneath it, so an engine may
rely on every rule below without checking again.

Two kinds of node:

* **frames** -- sets of rows: a whole table (:class:`TableFrame`), its rows that
  pass a condition (:class:`Filter`), sorted rows (:class:`Sort`) and one row per
  patient picked from sorted rows (:class:`PickOne`);
* **series** -- one value per row of a frame (event level) or per patient
  (patient level): columns, constants, operations, aggregations, ``case``.

Which rows a series has is its *domain*: ``None`` for patient level, else the
event-level frame it is drawn from (see :func:`domain_of`). A column's value on a
row does not depend on how the rows were filtered, so engines compute columns
row-wise against the frame's *origin* -- its table, or the spells it was made from
(:func:`origin`) -- and the frame only decides which rows are there. A
series may combine values of one event-level frame with patient-level values, never
values of two different event-level frames (which rows would it have?).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TypeAlias

from fivesafes.model import TABLES, ColumnType, TableKind
from fivesafes.model.codes import CodeSystem
from fivesafes.query.errors import DefinitionError


class InvalidModel(DefinitionError, ValueError):
    """A query-model node that cannot mean anything (refused when it is made): a definition
    error for whoever built it, and a ValueError for code reading a model from elsewhere."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"invalid query model: {problem}",
            "build definitions with the language (fivesafes.tables, Dataset, Measures); "
            "if you did, this is a fault in fivesafes: please report it",
        )


class Kind(StrEnum):
    """The value type of a series: the model's column types, as the language sees them."""

    BOOL = "boolean"
    INT = "integer"
    FLOAT = "float"
    STR = "string"
    CODE = "code"
    DATE = "date"

    @property
    def is_number(self) -> bool:
        return self in (Kind.INT, Kind.FLOAT)

    @property
    def is_text(self) -> bool:
        return self in (Kind.STR, Kind.CODE)


KIND_OF_COLUMN_TYPE: dict[ColumnType, Kind] = {
    ColumnType.STRING: Kind.STR,
    ColumnType.CODE: Kind.CODE,
    ColumnType.INTEGER: Kind.INT,
    ColumnType.FLOAT: Kind.FLOAT,
    ColumnType.BOOLEAN: Kind.BOOL,
    ColumnType.DATE: Kind.DATE,
}
"""Every column type but the patient identifier, which definitions never read: every value
is already per patient, and every output carries ``patient_id`` itself."""

Scalar: TypeAlias = bool | int | float | str | date | None

INT64 = (-(2**63), 2**63 - 1)


def _fail(problem: str) -> InvalidModel:
    return InvalidModel(problem)


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise _fail(problem)


def fits(value: Scalar, kind: Kind) -> bool:
    """Whether a Python value is a value of ``kind`` (None is a value of every kind)."""
    if value is None:
        return True
    if kind is Kind.BOOL:
        return isinstance(value, bool)
    if kind is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        return INT64[0] <= value <= INT64[1]
    if kind is Kind.FLOAT:
        return isinstance(value, float) and math.isfinite(value)
    if kind.is_text:
        return isinstance(value, str)
    return isinstance(value, date) and not isinstance(value, datetime)


def widens_to(kind: Kind, target: Kind) -> bool:
    """Whether a value of ``kind`` can stand where ``target`` is wanted: the same kind, an
    integer where a float is wanted, or a code where a string is."""
    return kind is target or (kind, target) in ((Kind.INT, Kind.FLOAT), (Kind.CODE, Kind.STR))


def comparable(a: Kind, b: Kind) -> bool:
    """Whether two kinds can be compared or combined: alike, both numbers, or both text."""
    return a is b or (a.is_number and b.is_number) or (a.is_text and b.is_text)


# --- frames ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableFrame:
    """Every row of one patient-level or event-level table of the data model."""

    table: str

    def __post_init__(self) -> None:
        _require(
            isinstance(self.table, str) and self.table in TABLES,
            f"there is no table {self.table!r}",
        )
        _require(
            TABLES[self.table].is_patient_level,
            f"table {self.table} is {TABLES[self.table].kind.value}, not about patients",
        )

    @property
    def patient_level(self) -> bool:
        return TABLES[self.table].kind is TableKind.PATIENT


@dataclass(frozen=True, slots=True)
class Filter:
    """The rows of ``source`` for which ``condition`` is true (NULL counts as not true)."""

    source: Frame
    condition: Series

    def __post_init__(self) -> None:
        _event_frame(self.source, "a filter")
        _series(self.condition, "a filter's condition")
        _require(self.condition.kind is Kind.BOOL, "a filter's condition must be true/false")
        _about_rows_of(self.condition, self.source, "a filter's condition")


@dataclass(frozen=True, slots=True)
class SortKey:
    series: Series

    def __post_init__(self) -> None:
        _series(self.series, "a sort key")
        _require(self.series.kind is not Kind.BOOL, "a sort key cannot be true/false")
        _require(domain_of(self.series) is not None, "a sort key must have a value per row")


@dataclass(frozen=True, slots=True)
class Sort:
    """Rows of ``source`` in the order of ``keys`` (NULLs first, ascending); ties are broken
    by the table's remaining columns, so every engine picks the same row. Only the
    outermost sort of a frame orders it: sorting sorted rows again replaces the order."""

    source: Frame
    keys: tuple[SortKey, ...]

    def __post_init__(self) -> None:
        _event_frame(self.source, "a sort")
        _require(
            isinstance(self.keys, tuple) and len(self.keys) > 0,
            "a sort needs a tuple of at least one key",
        )
        for key in self.keys:
            _require(isinstance(key, SortKey), f"a sort key must be a SortKey, not {key!r}")
            _about_rows_of(key.series, self.source, "a sort key")


@dataclass(frozen=True, slots=True)
class PickOne:
    """The first (or last) row per patient of sorted rows: a patient-level frame."""

    source: Sort
    last: bool

    def __post_init__(self) -> None:
        _require(isinstance(self.source, Sort), "only sorted rows can have one picked")
        _require(isinstance(self.last, bool), "PickOne.last must be True or False")


@dataclass(frozen=True, slots=True)
class Spells:
    """Episodes (rows of ``source``, each from its ``start`` to its ``end`` date) merged into
    spells: one row per spell, with the columns of :data:`SPELL_COLUMNS`.

    The rule, stated once here and in ``docs/language.md``: an episode without a start date
    is left out; an end before the start counts as the start day; a NULL end means the
    episode has not ended. Taking a patient's episodes in order of start, an episode joins
    the spell before it when it starts at most ``gap`` days after the latest end of that
    spell's episodes (0: overlapping or on the day it ends), or when an episode of that
    spell has not ended; otherwise it begins a new spell. A spell starts at its earliest
    start and ends at its latest end (NULL while an episode of it has not ended); its
    ``previous_end_date`` is the end of the patient's spell before it (NULL for the first).
    """

    source: Frame
    start: Series
    end: Series
    gap: int

    def __post_init__(self) -> None:
        _event_frame(self.source, "spells")
        for what, series in (("start", self.start), ("end", self.end)):
            _series(series, f"a spell's {what}")
            _require(series.kind is Kind.DATE, f"a spell's {what} must be a date")
            _require(domain_of(series) is not None, f"a spell's {what} must have a value per row")
            _about_rows_of(series, self.source, f"a spell's {what}")
        _require(
            isinstance(self.gap, int) and not isinstance(self.gap, bool) and self.gap >= 0,
            "a spell's gap is a whole number of days, 0 or more",
        )
        _require(self.gap <= 36500, "a spell's gap is at most 36500 days")
        _require(
            not any(isinstance(n, IntervalBound) for n in walk(self)),
            "spells cannot depend on the interval a measure is computed for",
        )


SPELL_COLUMNS: dict[str, Kind] = {
    "start_date": Kind.DATE,
    "end_date": Kind.DATE,
    "previous_end_date": Kind.DATE,
    "episodes": Kind.INT,
}
"""The columns of a spell, in the order that breaks ties between rows (never needed: a
patient's spells start on different days)."""

Frame: TypeAlias = TableFrame | Filter | Sort | PickOne | Spells


# --- series ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a frame."""

    source: Frame
    name: str
    kind: Kind
    code_system: CodeSystem | None = None

    def __post_init__(self) -> None:
        _frame(self.source, "a column's source")
        rows = origin(self.source)
        columns = row_columns(rows)
        _require(self.name != "patient_id", "definitions do not read patient_id")
        _require(
            isinstance(self.name, str) and self.name in columns,
            f"{origin_name(rows)} has no column {self.name!r}",
        )
        want, system = columns[self.name]
        name = f"{origin_name(rows)}.{self.name}"
        _require(self.kind is want, f"{name} is {want.value}, not {self.kind}")
        _require(
            self.code_system == system,
            f"{name} holds codes of {system}, not {self.code_system}",
        )


@dataclass(frozen=True, slots=True)
class Value:
    """A constant."""

    value: Scalar
    kind: Kind

    def __post_init__(self) -> None:
        _kind(self.kind)
        _require(fits(self.value, self.kind), f"{self.value!r} is not a {self.kind.value} value")


@dataclass(frozen=True, slots=True)
class IntervalBound:
    """The start or end date of the interval a measure is being computed for."""

    end: bool
    kind: Kind = Kind.DATE

    def __post_init__(self) -> None:
        _require(isinstance(self.end, bool), "IntervalBound.end must be True or False")
        _require(self.kind is Kind.DATE, "an interval's bounds are dates")


class Fn(StrEnum):
    """Operations on series; the argument and result kinds of each are in ``SIGNATURES``."""

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


Signature = Callable[[tuple[Kind, ...]], Kind | None]
"""The kind an operation gives for its arguments' kinds; None when they are not allowed."""


def _takes(*wanted: Callable[[Kind], bool], gives: Callable[[tuple[Kind, ...]], Kind]) -> Signature:
    def signature(kinds: tuple[Kind, ...]) -> Kind | None:
        if len(kinds) != len(wanted) or not all(ok(k) for ok, k in zip(wanted, kinds, strict=True)):
            return None
        return gives(kinds)

    return signature


def _any(kind: Kind) -> bool:
    return True


def _number(kind: Kind) -> bool:
    return kind.is_number


def _is(kind: Kind) -> Callable[[Kind], bool]:
    return lambda k: k is kind


def _always(kind: Kind) -> Callable[[tuple[Kind, ...]], Kind]:
    return lambda kinds: kind


def _comparison(ordered: bool) -> Signature:
    def signature(kinds: tuple[Kind, ...]) -> Kind | None:
        if len(kinds) != 2 or not comparable(*kinds):
            return None
        return None if ordered and Kind.BOOL in kinds else Kind.BOOL

    return signature


def _coalesce(kinds: tuple[Kind, ...]) -> Kind | None:
    """The first argument's kind; a float when a float stands in for an integer."""
    if len(kinds) != 2 or not comparable(*kinds):
        return None
    return Kind.FLOAT if Kind.FLOAT in kinds else kinds[0]


def _arithmetic(kinds: tuple[Kind, ...]) -> Kind:
    return Kind.FLOAT if Kind.FLOAT in kinds else Kind.INT


_BOOL, _DATE, _INT = _is(Kind.BOOL), _is(Kind.DATE), _is(Kind.INT)
SIGNATURES: dict[Fn, Signature] = {
    Fn.EQ: _comparison(ordered=False),
    Fn.NE: _comparison(ordered=False),
    Fn.LT: _comparison(ordered=True),
    Fn.LE: _comparison(ordered=True),
    Fn.GT: _comparison(ordered=True),
    Fn.GE: _comparison(ordered=True),
    Fn.AND: _takes(_BOOL, _BOOL, gives=_always(Kind.BOOL)),
    Fn.OR: _takes(_BOOL, _BOOL, gives=_always(Kind.BOOL)),
    Fn.NOT: _takes(_BOOL, gives=_always(Kind.BOOL)),
    Fn.IS_NULL: _takes(_any, gives=_always(Kind.BOOL)),
    Fn.COALESCE: _coalesce,
    Fn.ADD: _takes(_number, _number, gives=_arithmetic),
    Fn.SUB: _takes(_number, _number, gives=_arithmetic),
    Fn.MUL: _takes(_number, _number, gives=_arithmetic),
    Fn.DIV: _takes(_number, _number, gives=_always(Kind.FLOAT)),
    Fn.NEG: _takes(_number, gives=_arithmetic),
    Fn.TO_FLOAT: _takes(_number, gives=_always(Kind.FLOAT)),
    Fn.TO_INT: _takes(lambda k: k.is_number or k is Kind.BOOL, gives=_always(Kind.INT)),
    Fn.YEAR: _takes(_DATE, gives=_always(Kind.INT)),
    Fn.MONTH: _takes(_DATE, gives=_always(Kind.INT)),
    Fn.DAY: _takes(_DATE, gives=_always(Kind.INT)),
    Fn.ADD_DAYS: _takes(_DATE, _INT, gives=_always(Kind.DATE)),
    Fn.ADD_MONTHS: _takes(_DATE, _INT, gives=_always(Kind.DATE)),
    Fn.DIFF_DAYS: _takes(_DATE, _DATE, gives=_always(Kind.INT)),
    Fn.DIFF_MONTHS: _takes(_DATE, _DATE, gives=_always(Kind.INT)),
    Fn.DIFF_YEARS: _takes(_DATE, _DATE, gives=_always(Kind.INT)),
    Fn.TO_FIRST_OF_MONTH: _takes(_DATE, gives=_always(Kind.DATE)),
    Fn.TO_FIRST_OF_YEAR: _takes(_DATE, gives=_always(Kind.DATE)),
}


@dataclass(frozen=True, slots=True)
class Apply:
    """``fn`` applied to ``args``, giving a value of ``kind``."""

    fn: Fn
    args: tuple[Series, ...]
    kind: Kind

    def __post_init__(self) -> None:
        _require(isinstance(self.fn, Fn), f"{self.fn!r} is not an operation")
        _require(isinstance(self.args, tuple), "an operation's arguments must be a tuple")
        for arg in self.args:
            _series(arg, f"an argument of {self.fn.value}")
        kinds = tuple(a.kind for a in self.args)
        gives = SIGNATURES[self.fn](kinds)
        _require(
            gives is not None,
            f"{self.fn.value} cannot take ({', '.join(k.value for k in kinds)})",
        )
        _require(self.kind is gives, f"{self.fn.value} of these gives {gives}, not {self.kind}")
        _one_domain(self.args)


@dataclass(frozen=True, slots=True)
class IsIn:
    """Whether the value is one of ``values`` (NULL stays NULL); ``values`` holds no None.

    ``codelist`` names the code list the values came from (its file, or ``<codes>``), so the
    environment can say which of a study's lists matches nothing in the data."""

    series: Series
    values: frozenset[Scalar]
    kind: Kind = Kind.BOOL
    codelist: str | None = None

    def __post_init__(self) -> None:
        _series(self.series, "is_in")
        _require(isinstance(self.values, frozenset), "is_in's values must be a frozenset")
        _require(None not in self.values, "is_in cannot look for NULL (use is_null)")
        bad = [v for v in self.values if not fits(v, self.series.kind)]
        _require(not bad, f"is_in on {self.series.kind.value} values was given {bad[:1]}")
        _require(self.kind is Kind.BOOL, "is_in gives true/false")
        _require(
            self.codelist is None or isinstance(self.codelist, str),
            "is_in's code list is named by a string",
        )


@dataclass(frozen=True, slots=True)
class Case:
    """The value of the first branch whose condition is true; else ``otherwise``."""

    branches: tuple[tuple[Series, Series], ...]
    otherwise: Series
    kind: Kind

    def __post_init__(self) -> None:
        _kind(self.kind)
        _require(
            isinstance(self.branches, tuple) and len(self.branches) > 0,
            "case needs a tuple of at least one branch",
        )
        for branch in self.branches:
            _require(
                isinstance(branch, tuple) and len(branch) == 2,
                "a case branch is a (condition, value) pair",
            )
            condition, value = branch
            _series(condition, "a case condition")
            _require(condition.kind is Kind.BOOL, "a case condition must be true/false")
            _series(value, "a case value")
            _require(
                widens_to(value.kind, self.kind),
                f"a case of {self.kind.value} values was given a {value.kind.value} value",
            )
        _series(self.otherwise, "case's otherwise")
        _require(
            widens_to(self.otherwise.kind, self.kind),
            f"a case of {self.kind.value} values has a {self.otherwise.kind.value} otherwise",
        )
        _one_domain(children(self))  # type: ignore[arg-type]


class Agg(StrEnum):
    EXISTS = "exists"
    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"


FRAME_AGGREGATES = frozenset({Agg.EXISTS, Agg.COUNT})
"""Aggregations of a frame's rows; the others aggregate an event-level series' values."""


def _aggregate_kind(agg: Agg, kind: Kind) -> Kind | None:
    if agg is Agg.COUNT_DISTINCT:
        return Kind.INT
    if agg is Agg.SUM:
        return kind if kind.is_number else None
    if agg is Agg.MEAN:
        return Kind.FLOAT if kind.is_number else None
    return kind if kind is not Kind.BOOL else None  # MIN, MAX: values with an order


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One value per patient from a frame's rows (``EXISTS``/``COUNT``) or from the values
    of an event-level series (the others)."""

    agg: Agg
    source: Frame | Series
    kind: Kind

    def __post_init__(self) -> None:
        _require(isinstance(self.agg, Agg), f"{self.agg!r} is not an aggregation")
        if self.agg in FRAME_AGGREGATES:
            _frame(self.source, f"{self.agg.value}")
            gives: Kind | None = Kind.BOOL if self.agg is Agg.EXISTS else Kind.INT
        else:
            _series(self.source, f"{self.agg.value}")
            assert not isinstance(self.source, FRAME_TYPES)
            _require(
                domain_of(self.source) is not None,
                f"{self.agg.value} needs many values per patient, not one",
            )
            gives = _aggregate_kind(self.agg, self.source.kind)
            _require(
                gives is not None,
                f"{self.agg.value} cannot take {self.source.kind.value} values",
            )
        _require(self.kind is gives, f"{self.agg.value} gives {gives}, not {self.kind}")


Series: TypeAlias = Column | Value | IntervalBound | Apply | IsIn | Case | Aggregate
Node: TypeAlias = Frame | Series | SortKey

FRAME_TYPES = (TableFrame, Filter, Sort, PickOne, Spells)
SERIES_TYPES = (Column, Value, IntervalBound, Apply, IsIn, Case, Aggregate)
NODE_TYPES = (*FRAME_TYPES, SortKey, *SERIES_TYPES)


# --- checks shared by the nodes ---------------------------------------------------------


def _kind(kind: object) -> None:
    _require(isinstance(kind, Kind), f"{kind!r} is not a kind of value")


def _series(node: object, what: str) -> None:
    _require(isinstance(node, SERIES_TYPES), f"{what} must be a series, not {node!r}")


def _frame(node: object, what: str) -> None:
    _require(isinstance(node, FRAME_TYPES), f"{what} must be a frame, not {node!r}")


def _event_frame(node: object, what: str) -> None:
    _frame(node, f"the source of {what}")
    assert isinstance(node, FRAME_TYPES)
    _require(not frame_is_patient_level(node), f"{what} needs many rows per patient")


def _about_rows_of(series: Series, frame: Frame, what: str) -> None:
    """A filter's condition or a sort's key: patient-level, or about rows of the same origin."""
    domain = domain_of(series)
    _require(
        domain is None or origin(domain) == origin(frame),
        f"{what} is about rows of another table than {origin_name(origin(frame))}",
    )


def _one_domain(nodes: tuple[Series, ...]) -> None:
    domains = {d for d in (domain_of(n) for n in nodes) if d is not None}
    _require(len(domains) <= 1, "values of two different sets of event rows are combined")


# --- walking the tree --------------------------------------------------------------------


def origin(frame: Frame) -> TableFrame | Spells:
    """What a frame's rows are rows of: a table, or the spells made from one; their columns
    are the frame's columns."""
    while not isinstance(frame, TableFrame | Spells):
        frame = frame.source
    return frame


def root_table(frame: Frame) -> TableFrame:
    """The table a frame's rows come from in the end (through any spells made of them)."""
    while not isinstance(frame, TableFrame):
        frame = frame.source
    return frame


def row_columns(rows: TableFrame | Spells) -> dict[str, tuple[Kind, CodeSystem | None]]:
    """The columns of an origin's rows (every one but ``patient_id``) in order, each with its
    kind and code system."""
    if isinstance(rows, Spells):
        return {name: (kind, None) for name, kind in SPELL_COLUMNS.items()}
    return {
        c.name: (KIND_OF_COLUMN_TYPE[c.type], c.code_system)
        for c in TABLES[rows.table].columns
        if c.type is not ColumnType.PATIENT_ID
    }


def origin_name(rows: TableFrame | Spells) -> str:
    """How messages name an origin: its table, or the spells of its table."""
    if isinstance(rows, Spells):
        return f"spells of {root_table(rows.source).table}"
    return rows.table


def frame_is_patient_level(frame: Frame) -> bool:
    return isinstance(frame, PickOne) or (isinstance(frame, TableFrame) and frame.patient_level)


def domain_of(series: Series) -> Frame | None:
    """The frame whose rows an event-level series has one value for; None when patient level.

    A series combining two event-level frames cannot be built (see the module's
    docstring), so the first event domain found is the only one.
    """
    if isinstance(series, Aggregate):
        return None
    if isinstance(series, Column):
        return None if frame_is_patient_level(series.source) else series.source
    for child in children(series):
        if isinstance(child, SERIES_TYPES):
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
    if isinstance(node, Spells):
        return (node.source, node.start, node.end)
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
