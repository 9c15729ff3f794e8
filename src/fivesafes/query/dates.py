"""Durations (``days``, ``months``, ``years``) and the intervals measures are computed over.

Adding months keeps the day of the month where it exists and otherwise takes the
month's last day (31 January + 1 month = 28 or 29 February); adding years is adding
twelve months, so 29 February + 1 year = 28 February.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar, Literal

from fivesafes.query import model as m
from fivesafes.query.errors import Checked, DefinitionError
from fivesafes.query.model import Fn, Kind
from fivesafes.query.series import DateSeries, parse_date, to_node

Unit = Literal["days", "months", "years"]
_ONE_DAY = timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    """Python's reading of the rule engines follow (used for interval bounds only)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


def _as_date(value: date | str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_date(value)
    raise DefinitionError(
        f"cannot move {value!r} by a duration", "use a date, a 'YYYY-MM-DD' string or a date series"
    )


@dataclass(frozen=True, slots=True)
class Duration(Checked):
    """A whole number of days, months or years."""

    described_as: ClassVar[str] = "a duration"

    value: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise DefinitionError(
                f"{self.unit}() takes a whole number, not {self.value!r}",
                f"write {self.unit}(3)",
            )

    def __neg__(self) -> Duration:
        return Duration(-self.value, self.unit)

    def __radd__(self, other: date | str) -> date:
        """A constant date moved by this duration: ``"2024-03-31" + days(1)``."""
        return self.shift(_as_date(other))

    def __rsub__(self, other: date | str) -> date:
        """``index_date - years(1)``, for a constant date."""
        return (-self).shift(_as_date(other))

    def added_to(self, series: DateSeries | date | str) -> DateSeries:
        node = to_node(series, Kind.DATE)
        if self.unit == "days":
            fn, amount = Fn.ADD_DAYS, self.value
        else:
            fn, amount = Fn.ADD_MONTHS, self.value * (12 if self.unit == "years" else 1)
        return DateSeries(m.Apply(fn, (node, m.Value(amount, Kind.INT)), Kind.DATE))

    def shift(self, day: date) -> date:
        if self.unit == "days":
            return day + timedelta(days=self.value)
        return _add_months(day, self.value * (12 if self.unit == "years" else 1))

    def starting_on(self, start: str | date) -> list[tuple[date, date]]:
        """``value`` consecutive intervals of one unit each, the first starting on ``start``."""
        first = parse_date(start) if isinstance(start, str) else start
        step = Duration(1, self.unit)
        out = []
        for i in range(self.value):
            begin = Duration(i, self.unit).shift(first)
            out.append((begin, step.shift(begin) - _ONE_DAY))
        return out

    def ending_on(self, end: str | date) -> list[tuple[date, date]]:
        """``value`` consecutive intervals of one unit each, the last ending on ``end``."""
        last = parse_date(end) if isinstance(end, str) else end
        step = Duration(1, self.unit)
        out = []
        for i in range(self.value):
            finish = Duration(-i, self.unit).shift(last + _ONE_DAY) - _ONE_DAY
            out.append(((-step).shift(finish + _ONE_DAY), finish))
        return sorted(out)


def days(n: int) -> Duration:
    return Duration(n, "days")


def months(n: int) -> Duration:
    return Duration(n, "months")


def years(n: int) -> Duration:
    return Duration(n, "years")


class _Interval(Checked):
    """The interval a measure is being computed for: ``INTERVAL.start_date`` and
    ``INTERVAL.end_date`` (both included), only meaningful inside ``Measures``."""

    __slots__ = ()
    described_as = "INTERVAL"

    @property
    def start_date(self) -> DateSeries:
        return DateSeries(m.IntervalBound(end=False))

    @property
    def end_date(self) -> DateSeries:
        return DateSeries(m.IntervalBound(end=True))


INTERVAL = _Interval()
