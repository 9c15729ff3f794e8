"""Recognising tidy monthly measure tables among released CSVs.

A released table is a measure when it has a period column (``month`` or ``interval_start``),
at most one column naming the group (region, deprivation quintile, ...; none for a national
series) and a count pair that says what kind of figure it is: ``numerator``/``denominator`` is
a proportion of people (a p chart, Wilson limits, a proportion funnel); ``events``/``population``
is a rate per 1,000 (an XmR chart of the rate, Byar/exact Poisson limits, a rate funnel). Rows
a checker suppressed (blank or redacted counts) are kept as gaps — never guessed, never zeros —
so charts can show where they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from fivesafes.dashboards.released import ReleasedTable

PERIOD_COLUMNS = ("month", "interval_start")
ALL = "All"
"""The one group of a measure with no group column."""
RATE_PER = 1_000
ACRONYMS = {"hba1c": "HbA1c", "imd": "IMD", "icb": "ICB", "nhs": "NHS", "gp": "GP", "ae": "A&E"}
ACRONYMS |= {"england": "England", "wales": "Wales"}  # and the proper nouns in file names


class Kind(Enum):
    PROPORTION = "proportion"
    RATE = "rate"

    @property
    def columns(self) -> tuple[str, str]:
        return ("numerator", "denominator") if self is Kind.PROPORTION else ("events", "population")

    @property
    def unit(self) -> str:
        return "%" if self is Kind.PROPORTION else f"per {RATE_PER:,}"


@dataclass(frozen=True)
class Series:
    """One group's published counts by period, in period order, and the periods whose counts
    were suppressed (``hidden``): gaps in the series."""

    group: str
    periods: tuple[str, ...]
    numerators: tuple[float, ...]
    denominators: tuple[float, ...]
    hidden: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measure:
    """A released measure table split into its groups."""

    table: ReleasedTable
    kind: Kind
    group_column: str | None
    series: tuple[Series, ...]
    suppressed_rows: int

    @property
    def name(self) -> str:
        return self.table.stem

    @property
    def title(self) -> str:
        """The file name as words, with the usual capitals of NHS abbreviations."""
        words = [ACRONYMS.get(w, w) for w in self.name.split("_")]
        return " ".join(words)[:1].upper() + " ".join(words)[1:]


def period_value(period: str) -> date | str:
    """A period as a date when it is one (charts order and space dates as time), else as text
    (ISO-like text still sorts in time order)."""
    try:
        return date.fromisoformat(period)
    except ValueError:
        return period


def month_label(period: str) -> str:
    """The period for people: 2023-04-01 as Apr 2023; any other period text as it is."""
    value = period_value(period)
    return value.strftime("%b %Y") if isinstance(value, date) else value


def _count(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def as_measure(table: ReleasedTable) -> Measure | None:
    """The table as a measure, or None when it is not shaped like one."""
    if not table.rows:
        return None
    header = list(table.rows[0])
    period = next((c for c in PERIOD_COLUMNS if c in header), None)
    kind = next((k for k in Kind if set(k.columns) <= set(header)), None)
    if period is None or kind is None:
        return None
    others = [c for c in header if c not in (period, *kind.columns, "interval_end", "ratio")]
    if len(others) > 1:
        return None
    group_column = others[0] if others else None
    found: dict[str, list[tuple[str, float, float]]] = {}
    hidden: dict[str, list[str]] = {}
    num_col, den_col = kind.columns
    for row in table.rows:
        group = row[group_column] if group_column else ALL
        num, den = _count(row[num_col]), _count(row[den_col])
        if num is None or not den:
            hidden.setdefault(group, []).append(row[period])
        else:
            found.setdefault(group, []).append((row[period], num, den))
    series = tuple(
        Series(
            group,
            tuple(p for p, _, _ in sorted(found.get(group, []))),
            tuple(n for _, n, _ in sorted(found.get(group, []))),
            tuple(d for _, _, d in sorted(found.get(group, []))),
            tuple(sorted(hidden.get(group, []))),
        )
        for group in sorted(found.keys() | hidden.keys())
    )
    return Measure(table, kind, group_column, series, sum(map(len, hidden.values())))
