"""Hypothesis strategies for whole query models and the small tables they run on.

Definitions are drawn at the level of the query model, not the language, so that
every node type, operation and aggregation can appear in any position its kinds allow:
which operations may give a value of a kind, and from what, is read off the model's
own ``SIGNATURES`` -- an operation added to the model is drawn without changing this
file (and the comprehensiveness test fails until it is). Nodes check themselves when
they are made, so a strategy that built a meaningless tree would fail loudly.

Data come from small pools of values (a few dates, codes and numbers, NULL among them)
so that equalities, ties between rows and boundary dates happen often. Floats are
multiples of 0.25, so sums are exact whatever order an engine adds them in.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from hypothesis import strategies as st

from fivesafes.model import TABLES
from fivesafes.query import model as m
from fivesafes.query.dataset import DatasetQuery, Measure, MeasureQuery
from fivesafes.query.model import KIND_OF_COLUMN_TYPE, Agg, Fn, Kind

EVENT_TABLES = ("clinical_events", "practice_registrations", "emergency_attendances")
PATIENT_TABLES = ("patients", "deaths")

DATES = (
    date(1950, 1, 1),
    date(1980, 1, 31),
    date(2000, 2, 29),
    date(2019, 2, 28),
    date(2020, 2, 29),
    date(2020, 3, 1),
    date(2021, 6, 15),
    date(2022, 12, 31),
)
FLOATS = (-3.0, 0.0, 0.25, 2.0, 7.0, 31.75)
INTS = (-3, 0, 1, 2, 7, 12)
CODES = {
    "snomedct": ("195967001", "13645005", "60621009"),
    "icd10": ("J45", "E11"),
    "ods": ("A81001", "A81002"),
    "lsoa": ("E01000001", "E01000002"),
}
STRINGS = ("female", "male", "London", "North West", "J45")
"""Pools overlap across kinds (integers and floats, strings and codes) so that comparisons
between kinds find equal values too."""
INTERVALS = (
    (date(2019, 1, 1), date(2019, 12, 31)),
    (date(2020, 1, 1), date(2020, 12, 31)),
    (date(2020, 1, 1), date(2020, 3, 31)),
    (date(2021, 6, 15), date(2021, 6, 15)),
)


def _column_values(table: str, column: str) -> tuple[Any, ...]:
    """The pool a column's values are drawn from (NULL is added by the caller)."""
    spec = TABLES[table].column(column)
    kind = KIND_OF_COLUMN_TYPE[spec.type]
    if spec.categories:
        return spec.categories[:2]
    if kind is Kind.CODE:
        system = spec.code_system.name.lower() if spec.code_system else "snomedct"
        return CODES.get(system, CODES["snomedct"])
    return _constants(kind)


def _constants(kind: Kind) -> tuple[Any, ...]:
    return {
        Kind.BOOL: (True, False),
        Kind.INT: INTS,
        Kind.FLOAT: FLOATS,
        Kind.STR: STRINGS,
        Kind.CODE: CODES["snomedct"] + CODES["icd10"],
        Kind.DATE: DATES,
    }[kind]


@st.composite
def tables(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """Up to eight patients and their rows; some rows belong to a patient not in ``patients``
    (who must never appear), every column may be NULL except ``patient_id``."""
    n = choose(draw, (4, *range(9)))  # hypothesis draws the first option most: not none
    ids = list(range(1, n + 1))

    def row(table: str, patient_id: int) -> dict[str, Any]:
        out: dict[str, Any] = {"patient_id": patient_id}
        for column in TABLES[table].column_names[1:]:
            pool = _column_values(table, column)
            out[column] = maybe(draw, pool)
        return out

    data = {"patients": [row("patients", p) for p in ids]}
    data["deaths"] = [row("deaths", p) for p in ids if draw(BOOLS)]
    for table in EVENT_TABLES:
        rows = choose(draw, (8, *range(17)))
        data[table] = [row(table, choose(draw, [*ids, n + 1])) for _ in range(rows)]
    return data


def _columns_of(table: str, kind: Kind) -> list[str]:
    return [
        c.name
        for c in TABLES[table].columns
        if c.type in KIND_OF_COLUMN_TYPE and KIND_OF_COLUMN_TYPE[c.type] is kind
    ]


def _row_columns(frame: m.Frame, kind: Kind) -> list[str]:
    """The columns of ``kind`` a frame's rows have: its table's, or its spells'."""
    return [n for n, (k, _) in m.row_columns(m.origin(frame)).items() if k is kind]


SPELL_KINDS = frozenset(m.SPELL_COLUMNS.values())
GAPS = (0, 1, 2, 400)


def _operations() -> dict[Kind, dict[Fn, list[tuple[Kind, ...]]]]:
    """For each kind, the operations that give it and the argument kinds each can take
    to give it, read off the model's signatures."""
    out: dict[Kind, dict[Fn, list[tuple[Kind, ...]]]] = {k: {} for k in Kind}
    for fn, signature in m.SIGNATURES.items():
        for arity in (1, 2):
            for kinds in itertools.product(Kind, repeat=arity):
                gives = signature(kinds)
                if gives is not None:
                    out[gives].setdefault(fn, []).append(kinds)
    return out


OPERATIONS = _operations()


@functools.cache
def one_of(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """One of ``options``; strategies are made once per set of options (making them anew
    at every draw was most of the generator's time)."""
    return st.sampled_from(options)


def maybe(draw: st.DrawFn, options: tuple[Any, ...]) -> Any:
    """One of ``options``, or NULL about one time in eight (more often, and too many values
    of a definition would be NULL to tell engines apart; hypothesis draws the ends of a
    range more often than the middle, so NULL is not at an end)."""
    return None if up_to(draw, 0, 7) == 3 else choose(draw, options)


BOOLS = st.booleans()


def choose(draw: st.DrawFn, options: Iterable[Any]) -> Any:
    return draw(one_of(tuple(options)))


def up_to(draw: st.DrawFn, low: int, high: int) -> int:
    return choose(draw, range(low, high + 1))


@dataclass(frozen=True)
class Definitions:
    """Query-model nodes, drawn by plain recursive methods (a strategy per node would be
    slow); ``interval`` allows a measure's interval bounds; ``depth`` bounds nesting."""

    interval: bool = False
    depth: int = 3

    # -- frames --

    def event_frame(
        self, draw: st.DrawFn, table: str, depth: int, kind: Kind | None = None
    ) -> m.Frame:
        """Rows of ``table``, or spells made of them (only when the frame needs no column
        of a ``kind`` spells lack)."""
        if depth <= 0 or up_to(draw, 0, 3) == 0:
            return m.TableFrame(table)
        if (kind is None or kind in SPELL_KINDS) and up_to(draw, 0, 5) == 0:
            return self.spells(draw, table, depth - 1)
        source = self.event_frame(draw, table, depth - 1, kind)
        if up_to(draw, 0, 4) == 0:
            return self.sort(draw, source, depth - 1)
        return m.Filter(source, self.series(draw, Kind.BOOL, source, depth - 1))

    def spells(self, draw: st.DrawFn, table: str, depth: int) -> m.Spells:
        """Spells of rows of ``table`` between two dates of each row (never the interval's:
        spells cannot depend on it)."""
        plain = dataclasses.replace(self, interval=False)
        source = plain.event_frame(draw, table, depth)
        start, end = (plain.event_series(draw, Kind.DATE, source, depth) for _ in range(2))
        return m.Spells(source, start, end, choose(draw, GAPS))

    def sort(self, draw: st.DrawFn, source: m.Frame, depth: int) -> m.Sort:
        kinds = [k for k in Kind if k is not Kind.BOOL and _row_columns(source, k)]
        keys = [
            m.SortKey(self.event_series(draw, choose(draw, kinds), source, depth))
            for _ in range(up_to(draw, 1, 2))
        ]
        return m.Sort(source, tuple(keys))

    def patient_frame(self, draw: st.DrawFn, depth: int, kind: Kind | None = None) -> m.Frame:
        """A patient-level frame (with a column of ``kind``, when given)."""
        tables = [
            t for t in (*PATIENT_TABLES, *EVENT_TABLES) if kind is None or _columns_of(t, kind)
        ]
        table = choose(draw, tables)
        if table in PATIENT_TABLES and (depth <= 0 or draw(BOOLS)):
            return m.TableFrame(table)
        if table in PATIENT_TABLES:
            table = choose(draw, [t for t in EVENT_TABLES if kind is None or _columns_of(t, kind)])
        source = self.event_frame(draw, table, depth - 1, kind)
        return m.PickOne(self.sort(draw, source, depth - 1), draw(BOOLS))

    def any_frame(self, draw: st.DrawFn, depth: int) -> m.Frame:
        if draw(BOOLS):
            return self.patient_frame(draw, depth)
        return self.event_frame(draw, choose(draw, EVENT_TABLES), depth)

    # -- series --

    def series(self, draw: st.DrawFn, kind: Kind, frame: m.Frame | None, depth: int) -> m.Series:
        """A series of ``kind``, patient level or (when ``frame`` is given) over its rows."""
        options = ["patient column", "value"]
        if frame is not None and _row_columns(frame, kind):
            options = ["row column", *options, "row column"]
        if self.interval and kind is Kind.DATE:
            options.append("interval")
        if depth > 0:
            options += ["apply", "apply", "apply", "aggregate", "case"]
            options += ["is_in"] if kind is Kind.BOOL else []
        choice = choose(draw, options)
        if choice == "value":
            return m.Value(maybe(draw, _constants(kind)), kind)
        if choice == "interval":
            return m.IntervalBound(draw(BOOLS))
        if choice == "row column":
            assert frame is not None
            return _column(frame, choose(draw, _row_columns(frame, kind)))
        if choice == "patient column":
            return self.patient_column(draw, kind, depth)
        if choice == "apply":
            fn = choose(draw, sorted(OPERATIONS[kind]))
            kinds = choose(draw, OPERATIONS[kind][fn])
            args = [self.series(draw, k, frame, depth - 1) for k in kinds]
            if fn in COMPARISONS and draw(BOOLS):  # with a constant: a boundary, often met
                args[1] = m.Value(choose(draw, _constants(kinds[1])), kinds[1])
            return m.Apply(fn, tuple(args), kind)
        if choice == "aggregate":
            return self.aggregate(draw, kind, depth - 1)
        if choice == "case":
            return self.case(draw, kind, frame, depth - 1)
        source = self.series(draw, choose(draw, Kind), frame, depth - 1)
        pool = _constants(source.kind)
        values = frozenset(choose(draw, pool) for _ in range(up_to(draw, 0, 3)))
        return m.IsIn(source, values)

    def patient_column(self, draw: st.DrawFn, kind: Kind, depth: int) -> m.Column:
        frame = self.patient_frame(draw, max(depth - 1, 1), kind)
        return _column(frame, choose(draw, _row_columns(frame, kind)))

    def case(self, draw: st.DrawFn, kind: Kind, frame: m.Frame | None, depth: int) -> m.Case:
        narrower = {Kind.FLOAT: Kind.INT, Kind.STR: Kind.CODE}.get(kind, kind)
        branches = []
        for _ in range(up_to(draw, 1, 2)):
            condition = self.series(draw, Kind.BOOL, frame, depth)
            value_kind = choose(draw, (kind, narrower))
            branches.append((condition, self.series(draw, value_kind, frame, depth)))
        return m.Case(tuple(branches), self.series(draw, kind, frame, depth), kind)

    def aggregate(self, draw: st.DrawFn, kind: Kind, depth: int) -> m.Series:
        options: list[tuple[Agg, Kind | None]] = []
        if kind is Kind.BOOL:
            options.append((Agg.EXISTS, None))
        if kind is Kind.INT:
            options += [(Agg.COUNT, None), *((Agg.COUNT_DISTINCT, k) for k in Kind)]
        if kind.is_number:
            options.append((Agg.SUM, kind))
        if kind is Kind.FLOAT:
            options += [(Agg.MEAN, Kind.INT), (Agg.MEAN, Kind.FLOAT)]
        if kind is not Kind.BOOL:
            options += [(Agg.MIN, kind), (Agg.MAX, kind)]
        agg, of = choose(draw, options)
        if of is None:
            return m.Aggregate(agg, self.any_frame(draw, depth), kind)
        frame = self.event_frame(draw, choose(draw, EVENT_TABLES), depth)
        return m.Aggregate(agg, self.event_series(draw, of, frame, depth), kind)

    def event_series(self, draw: st.DrawFn, kind: Kind, frame: m.Frame, depth: int) -> m.Series:
        """A series of ``kind`` with a value per row of ``frame`` (never patient level)."""
        if depth > 0 and draw(BOOLS):
            fn = choose(draw, sorted(OPERATIONS[kind]))
            kinds = choose(draw, OPERATIONS[kind][fn])
            on_rows = up_to(draw, 0, len(kinds) - 1)
            args = tuple(
                self.event_series(draw, k, frame, depth - 1)
                if i == on_rows
                else self.series(draw, k, frame, depth - 1)
                for i, k in enumerate(kinds)
            )
            return m.Apply(fn, args, kind)
        names = _row_columns(frame, kind)
        if names:
            return _column(frame, choose(draw, names))
        return _from_a_date(kind, _column(frame, _row_columns(frame, Kind.DATE)[0]))

    # -- whole definitions --

    def dataset(self, draw: st.DrawFn) -> DatasetQuery:
        everyone = m.Aggregate(Agg.EXISTS, m.TableFrame("patients"), Kind.BOOL)
        if choose(draw, ("everyone", "condition", "everyone")) == "everyone":
            population: m.Series = everyone  # most conditions keep few of so few patients
        else:
            population = self.series(draw, Kind.BOOL, None, self.depth)
        columns = tuple(
            (f"v{i}", self.series(draw, choose(draw, Kind), None, self.depth))
            for i in range(up_to(draw, 1, 6))
        )
        return DatasetQuery(population, columns)

    def measures(self, draw: st.DrawFn) -> MeasureQuery:
        out = []
        for i in range(up_to(draw, 1, 2)):
            numerator = self.series(draw, choose(draw, COUNTS), None, self.depth)
            denominator = self.series(draw, choose(draw, COUNTS), None, self.depth)
            kinds = {choose(draw, Kind) for _ in range(up_to(draw, 0, 2))}
            groups = tuple(
                (f"g_{k.value}", self.series(draw, k, None, self.depth - 1)) for k in sorted(kinds)
            )
            spans = tuple(dict.fromkeys(choose(draw, INTERVALS) for _ in range(up_to(draw, 1, 3))))
            out.append(Measure(f"m{i}", numerator, denominator, groups, spans))
        return MeasureQuery(tuple(out))

    def spell_dataset(self, draw: st.DrawFn) -> DatasetQuery:
        """Every column a value of spells (or of their rows, filtered): more of them, and more
        kinds of value, than a general definition happens on."""
        columns: list[tuple[str, m.Series]] = []
        for i in range(up_to(draw, 1, 3)):
            frame: m.Frame = self.spells(draw, choose(draw, EVENT_TABLES), self.depth - 1)
            if draw(BOOLS):
                frame = m.Filter(frame, self.series(draw, Kind.BOOL, frame, self.depth - 1))
            picked = m.PickOne(self.sort(draw, frame, 1), draw(BOOLS))
            values = {
                "n": m.Aggregate(Agg.COUNT, frame, Kind.INT),
                "latest": m.Aggregate(
                    Agg.MAX, self.event_series(draw, Kind.DATE, frame, 1), Kind.DATE
                ),
                "episodes": m.Aggregate(Agg.SUM, _column(frame, "episodes"), Kind.INT),
                "picked": _column(picked, choose(draw, list(m.SPELL_COLUMNS))),
            }
            columns += [(f"{name}{i}", value) for name, value in values.items()]
        everyone = m.Aggregate(Agg.EXISTS, m.TableFrame("patients"), Kind.BOOL)
        return DatasetQuery(everyone, tuple(columns))

    def spell_datasets(self) -> st.SearchStrategy[DatasetQuery]:
        return st.composite(lambda draw: self.spell_dataset(draw))()

    def datasets(self) -> st.SearchStrategy[DatasetQuery]:
        return st.composite(lambda draw: self.dataset(draw))()

    def measure_queries(self) -> st.SearchStrategy[MeasureQuery]:
        return st.composite(lambda draw: self.measures(draw))()


COUNTS = (Kind.BOOL, Kind.INT)
COMPARISONS = frozenset({Fn.EQ, Fn.NE, Fn.LT, Fn.LE, Fn.GT, Fn.GE})


def _column(frame: m.Frame, name: str) -> m.Column:
    kind, system = m.row_columns(m.origin(frame))[name]
    return m.Column(frame, name, kind, system)


def _from_a_date(kind: Kind, day: m.Series) -> m.Series:
    """A value of ``kind`` per row for a table with no column of that kind."""
    if kind is Kind.BOOL:
        return m.Apply(Fn.IS_NULL, (day,), Kind.BOOL)
    year = m.Apply(Fn.YEAR, (day,), Kind.INT)
    if kind is Kind.INT:
        return year
    if kind is Kind.FLOAT:
        return m.Apply(Fn.TO_FLOAT, (year,), Kind.FLOAT)
    assert kind.is_text, kind
    condition = m.Apply(Fn.IS_NULL, (day,), Kind.BOOL)
    return m.Case(((condition, m.Value("none", kind)),), m.Value("some", kind), kind)


DATASETS = Definitions().datasets()
SPELL_DATASETS = Definitions().spell_datasets()
MEASURES = Definitions(interval=True).measure_queries()
