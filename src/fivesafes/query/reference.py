"""The reference engine: the query model evaluated directly in Python, one patient at a time.

The DuckDB and Spark engines run SQL from one compiler, so checked only against each
other a fault in the compiler passes both. This engine shares nothing with them but the
data model, the query model and the Arrow types of results -- no SQL, no compiler, no
passes or joins: each value of each patient is computed by
reading the model's definition of it off the tree, in plain Python, as the
language's documentation states it (``docs/language.md``). It is slow (every value
of every patient is evaluated separately) and meant to be obviously correct, so that
the generative tests (``tests/query/test_generative.py``) can hold the fast engines
to it, and ``fivesafes test`` can check a study's test patients on it.

Patients are the rows of ``patients``, less those excluded. For one patient:

* an event-level frame is a list of that patient's rows of its root table: every row
  for a table, the rows whose condition is ``True`` for a filter, the same rows for a
  sort (a sort orders rows only for picking one);
* a picked row is the first or last of those rows in the sort's order: the sort keys,
  then every other column of the table in the model's order, each ascending with NULLs
  first;
* spells are made from the rows of their source as ``model.Spells`` states the rule, by
  walking the episodes in order of start;
* an event-level series is evaluated on one row, a patient-level one on the patient
  (a column of a patient-level table reads the patient's row, or NULL without one);
* operations follow the null rules of the language's documentation.

A value no engine can represent (an integer beyond 64 bits, a date beyond year 9999,
an infinite float) raises :class:`ValueOutOfRange` instead of giving an answer.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from fivesafes.model import TABLES
from fivesafes.query import model as m
from fivesafes.query.dataset import DatasetQuery, MeasureQuery
from fivesafes.query.engines import ARROW_KINDS, dataset_schema
from fivesafes.query.model import Agg, Fn, Kind

Row = dict[str, Any]
Interval = tuple[date, date] | None


class ValueOutOfRange(ArithmeticError):
    """A value beyond what every engine can hold, so no engine's answer could be compared."""


# --- operations --------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise ValueOutOfRange(f"{day} + {months} months")
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _add_days(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise ValueOutOfRange(f"{day} + {days} days") from None


def _whole(difference: int, later_part: tuple[int, ...], earlier_part: tuple[int, ...]) -> int:
    """``difference`` whole units, less one when the last is not complete: a month (year) is
    complete when the day (the month and day) of the earlier date comes round again.
    Rounded toward zero, so a negative difference mirrors a positive one."""
    if difference > 0 and later_part < earlier_part:
        return difference - 1
    if difference < 0 and later_part > earlier_part:
        return difference + 1
    return difference


def _months_between(a: date, b: date) -> int:
    return _whole((a.year * 12 + a.month) - (b.year * 12 + b.month), (a.day,), (b.day,))


def _years_between(a: date, b: date) -> int:
    return _whole(a.year - b.year, (a.month, a.day), (b.month, b.day))


def _divide(a: float, b: float) -> float | None:
    return None if b == 0 else float(a) / float(b)


def _to_int(a: float | bool) -> int:
    if isinstance(a, bool):
        return int(a)
    return math.trunc(a)


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


STRICT: dict[Fn, Callable[..., Any]] = {
    Fn.EQ: lambda a, b: a == b,
    Fn.NE: lambda a, b: a != b,
    Fn.LT: lambda a, b: a < b,
    Fn.LE: lambda a, b: a <= b,
    Fn.GT: lambda a, b: a > b,
    Fn.GE: lambda a, b: a >= b,
    Fn.NOT: lambda a: not a,
    Fn.ADD: lambda a, b: a + b,
    Fn.SUB: lambda a, b: a - b,
    Fn.MUL: lambda a, b: a * b,
    Fn.DIV: _divide,
    Fn.NEG: lambda a: -a,
    Fn.TO_FLOAT: float,
    Fn.TO_INT: _to_int,
    Fn.YEAR: lambda a: a.year,
    Fn.MONTH: lambda a: a.month,
    Fn.DAY: lambda a: a.day,
    Fn.ADD_DAYS: _add_days,
    Fn.ADD_MONTHS: _add_months,
    Fn.DIFF_DAYS: lambda a, b: (a - b).days,
    Fn.DIFF_MONTHS: _months_between,
    Fn.DIFF_YEARS: _years_between,
    Fn.TO_FIRST_OF_MONTH: lambda a: a.replace(day=1),
    Fn.TO_FIRST_OF_YEAR: lambda a: date(a.year, 1, 1),
}
"""Operations that give NULL when any argument is NULL, as Python functions of the values."""

NULL_AWARE: dict[Fn, Callable[..., Any]] = {
    Fn.AND: _and,
    Fn.OR: _or,
    Fn.IS_NULL: lambda a: a is None,
    Fn.COALESCE: lambda a, b: b if a is None else a,
}
"""Operations that look at NULLs themselves."""

AGGREGATES: dict[Agg, Callable[[list[Any]], Any]] = {
    Agg.COUNT_DISTINCT: lambda values: len(set(values)),
    Agg.SUM: lambda values: sum(values) if values else None,
    Agg.MEAN: lambda values: sum(values) / len(values) if values else None,
    Agg.MIN: lambda values: min(values) if values else None,
    Agg.MAX: lambda values: max(values) if values else None,
}
"""Aggregations of an event-level series' non-NULL values."""


def checked(value: Any, kind: Kind) -> Any:
    """``value`` as a value of ``kind`` (an integer where a float is wanted becomes one);
    ValueOutOfRange when no engine could hold it."""
    if value is None:
        return None
    if kind is Kind.FLOAT:
        value = float(value)
    if not m.fits(value, kind):
        raise ValueOutOfRange(f"{value!r} is beyond what a {kind.value} value can hold")
    return value


def _null_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value)


# --- evaluation ---------------------------------------------------------------------------


class _Patient:
    """Everything about one patient in one interval (None outside measures), computed on
    demand from the definition and remembered."""

    def __init__(self, engine: ReferenceEngine, patient_id: int, interval: Interval) -> None:
        self.engine = engine
        self.patient_id = patient_id
        self.interval = interval
        self._values: dict[int, Any] = {}
        self._rows: dict[int, list[Row]] = {}

    # -- frames --

    def rows(self, frame: m.Frame) -> list[Row]:
        """The patient's rows of ``frame`` (for a picked row: it, or none)."""
        key = id(frame)
        if key not in self._rows:
            self._rows[key] = self._frame_rows(frame)
        return self._rows[key]

    def _frame_rows(self, frame: m.Frame) -> list[Row]:
        if isinstance(frame, m.TableFrame):
            return self.engine.rows_of(frame.table, self.patient_id)
        if isinstance(frame, m.Filter):
            return [r for r in self.rows(frame.source) if self.value(frame.condition, r) is True]
        if isinstance(frame, m.Sort):
            return self.rows(frame.source)
        if isinstance(frame, m.Spells):
            return self._spells(frame)
        picked = self.picked(frame)
        return [] if picked is None else [picked]

    def picked(self, pick: m.PickOne) -> Row | None:
        sort = pick.source
        candidates = self.rows(sort.source)
        if not candidates:
            return None
        others = list(m.row_columns(m.origin(sort)))

        def order(row: Row) -> tuple[Any, ...]:
            keys = [_null_first(self.value(k.series, row)) for k in sort.keys]
            return (*keys, *(_null_first(row[c]) for c in others))

        return (max if pick.last else min)(candidates, key=order)

    def _spells(self, spells: m.Spells) -> list[Row]:
        """The patient's spells, one row each, by ``model.Spells``' rule."""
        episodes = []
        for row in self.rows(spells.source):
            start, end = self.value(spells.start, row), self.value(spells.end, row)
            if start is not None:
                episodes.append((start, None if end is None else max(start, end)))
        out: list[Row] = []
        for start, end in sorted(episodes, key=lambda e: e[0]):
            spell = out[-1] if out else None
            joins = spell is not None and (
                spell["end_date"] is None or (start - spell["end_date"]).days <= spells.gap
            )
            if spell is not None and joins:
                ended = spell["end_date"] is not None and end is not None
                spell["end_date"] = max(spell["end_date"], end) if ended else None
                spell["episodes"] += 1
                continue
            previous = None if spell is None else spell["end_date"]
            out.append(
                {"start_date": start, "end_date": end, "previous_end_date": previous, "episodes": 1}
            )
        return out

    def _patient_row(self, frame: m.Frame) -> Row | None:
        """The patient's one row of a patient-level frame, or None."""
        rows = self.rows(frame)
        assert len(rows) <= 1, f"more than one row of {frame!r} for patient {self.patient_id}"
        return rows[0] if rows else None

    # -- series --

    def value(self, node: m.Series, row: Row | None = None) -> Any:
        """``node``'s value for this patient: on ``row`` (of the root table of the node's
        domain) when it is event level."""
        if m.domain_of(node) is not None:
            assert row is not None, f"an event-level value needs a row: {node!r}"
            return checked(self._evaluate(node, row), node.kind)
        key = id(node)
        if key not in self._values:
            self._values[key] = checked(self._evaluate(node, None), node.kind)
        return self._values[key]

    def _evaluate(self, node: m.Series, row: Row | None) -> Any:
        if isinstance(node, m.Value):
            return node.value
        if isinstance(node, m.IntervalBound):
            assert self.interval is not None, "the interval's bounds are only for measures"
            return self.interval[node.end]
        if isinstance(node, m.Column):
            if m.frame_is_patient_level(node.source):
                found = self._patient_row(node.source)
                return None if found is None else found[node.name]
            assert row is not None
            return row[node.name]
        if isinstance(node, m.Apply):
            args = [self.value(a, row) for a in node.args]
            if node.fn in NULL_AWARE:
                return NULL_AWARE[node.fn](*args)
            return None if None in args else STRICT[node.fn](*args)
        if isinstance(node, m.IsIn):
            found = self.value(node.series, row)
            return None if found is None else found in node.values
        if isinstance(node, m.Case):
            for condition, then in node.branches:
                if self.value(condition, row) is True:
                    return self.value(then, row)
            return self.value(node.otherwise, row)
        return self._aggregate(node)

    def _aggregate(self, node: m.Aggregate) -> Any:
        if node.agg is Agg.EXISTS:
            assert isinstance(node.source, m.FRAME_TYPES)
            return len(self.rows(node.source)) > 0
        if node.agg is Agg.COUNT:
            assert isinstance(node.source, m.FRAME_TYPES)
            return len(self.rows(node.source))
        assert not isinstance(node.source, m.FRAME_TYPES)
        domain = m.domain_of(node.source)
        assert domain is not None
        values = [self.value(node.source, r) for r in self.rows(domain)]
        return AGGREGATES[node.agg]([v for v in values if v is not None])


class ReferenceEngine:
    """Runs definitions on tables laid out as the model says (Arrow tables, or lists of row
    dicts; tables not given are empty), in Python."""

    name = "reference"

    def __init__(self, tables: Mapping[str, pa.Table | list[Row]]) -> None:
        self._by_patient: dict[str, dict[int, list[Row]]] = {}
        for name, data in tables.items():
            rows = data.to_pylist() if isinstance(data, pa.Table) else list(data)
            by_patient: dict[int, list[Row]] = {}
            for row in rows:
                full = {c: row.get(c) for c in TABLES[name].column_names}
                by_patient.setdefault(full["patient_id"], []).append(full)
            self._by_patient[name] = by_patient

    def rows_of(self, table: str, patient_id: int) -> list[Row]:
        return self._by_patient.get(table, {}).get(patient_id, [])

    def patients(self, exclude: Iterable[int] = ()) -> list[int]:
        """Every patient of the ``patients`` table, less ``exclude``, in ``patient_id`` order."""
        left_out = set(exclude)
        return sorted(p for p in self._by_patient.get("patients", {}) if p not in left_out)

    def dataset(self, query: DatasetQuery, exclude: Iterable[int] = ()) -> pa.Table:
        names = ["patient_id", *(name for name, _ in query.columns)]
        out: list[list[Any]] = []
        for patient_id in self.patients(exclude):
            patient = _Patient(self, patient_id, None)
            if patient.value(query.population) is True:
                out.append([patient_id, *(patient.value(s) for _, s in query.columns)])
        schema = dataset_schema(query)
        return pa.table({n: [r[i] for r in out] for i, n in enumerate(names)}, schema=schema)

    def measures(self, query: MeasureQuery, exclude: Iterable[int] = ()) -> pa.Table:
        """One row per measure, interval and group that has a patient counted: the sums of
        the numerator (NULL when every value is NULL) and of the denominator over the
        patients whose denominator is neither NULL nor zero (false), and their ratio
        (NULL when the denominators sum to zero)."""
        groups: dict[str, Kind] = {}
        for measure in query.measures:
            for name, series in measure.group_by:
                groups.setdefault(name, series.kind)
        patients = self.patients(exclude)
        out: list[tuple[Any, ...]] = []
        for index, measure in enumerate(query.measures):
            totals: dict[tuple[Any, ...], list[Any]] = {}
            for interval in measure.intervals:
                for patient_id in patients:
                    patient = _Patient(self, patient_id, interval)
                    denominator = patient.value(measure.denominator)
                    if denominator is None or int(denominator) == 0:
                        continue
                    numerator = patient.value(measure.numerator)
                    values = {name: patient.value(s) for name, s in measure.group_by}
                    key = (*interval, *(values.get(g) for g in groups))
                    total = totals.setdefault(key, [None, 0])
                    if numerator is not None:
                        total[0] = (total[0] or 0) + int(numerator)
                    total[1] += int(denominator)
            for key, (numerator, denominator) in totals.items():
                out.append((index, measure.name, *key, numerator, denominator))
        out.sort(key=lambda r: (r[0], *(_null_first(v) for v in r[2:-2])))
        columns = ["measure", "interval_start", "interval_end", *groups]
        schema = pa.schema(
            [("measure", pa.string()), ("interval_start", pa.date32())]
            + [("interval_end", pa.date32())]
            + [(g, ARROW_KINDS[k]) for g, k in groups.items()]
            + [("numerator", pa.int64()), ("denominator", pa.int64()), ("ratio", pa.float64())]
        )
        data: dict[str, list[Any]] = {c: [r[i + 1] for r in out] for i, c in enumerate(columns)}
        data["numerator"] = [r[-2] for r in out]
        data["denominator"] = [r[-1] for r in out]
        data["ratio"] = [
            None if num is None or den == 0 else num / den
            for num, den in zip(data["numerator"], data["denominator"], strict=True)
        ]
        return pa.table(data, schema=schema)
