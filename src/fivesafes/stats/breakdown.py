"""An indicator broken down by a characteristic of the people counted (ethnic group,
deprivation quintile), as Fingertips' inequality views show it beside the area's value.

From released counts: one row per group, or one per group and age band. A group with a single
row gets its proportion with Wilson limits; a group released by age band gets its directly
standardised rate (ESP 2013 collapsed to the released bands, Dobson limits), so that groups
with different age structures are compared fairly. A group with a suppressed count is not
published and its value is never guessed; the total of all groups is published only when none
was suppressed, because otherwise it would give the suppressed group away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fivesafes.stats.indicators import IndicatorValue, Interval, dsr, esp2013_weights, proportion

ALL = "All"
"""The name of the row for every group together."""


@dataclass(frozen=True, slots=True)
class GroupValue:
    """One group's indicator: the counts it was made from (None when suppressed) and value."""

    group: str
    population: float | None
    count: float | None
    value: IndicatorValue

    def to_record(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "population": self.population,
            "count": self.count,
            "value": self.value.value,
            "lower": self.value.lower,
            "upper": self.value.upper,
            "method": self.value.method,
            "note": self.value.note,
        }


@dataclass(frozen=True, slots=True)
class Breakdown:
    """An indicator by the groups of ``by``, and for all of them together."""

    by: str
    indicator: str
    groups: tuple[GroupValue, ...]
    total: GroupValue

    def to_records(self) -> list[dict[str, Any]]:
        return [g.to_record() for g in (*self.groups, self.total)]


def _not_published(why: str, multiplier: float) -> IndicatorValue:
    return IndicatorValue(
        "not published", 0, 0, None, (Interval(0.95, None, None),), "none", multiplier, note=why
    )


def _value(rows: Sequence[Mapping[str, Any]], indicator: str, multiplier: float) -> GroupValue:
    counts = [r[indicator] for r in rows]
    pops = [r["population"] for r in rows]
    group = str(rows[0].get("group", ""))
    if any(c is None for c in counts) or any(p is None for p in pops):
        why = "not published: a count was suppressed"
        return GroupValue(group, None, None, _not_published(why, multiplier))
    count, population = float(sum(counts)), float(sum(pops))
    if population <= 0:
        return GroupValue(group, population, count, _not_published("no people", multiplier))
    if len(rows) == 1:
        value = proportion(count, population, multiplier=multiplier)
    else:
        weights = esp2013_weights([str(r["age_band"]) for r in rows])
        value = dsr([float(c) for c in counts], [float(p) for p in pops], weights,
                    multiplier=multiplier)  # fmt: skip
    return GroupValue(group, population, count, value)


def breakdown(
    rows: Sequence[Mapping[str, Any]],
    by: str,
    indicator: str,
    *,
    order: Sequence[str] | None = None,
    multiplier: float = 100,
) -> Breakdown:
    """``indicator`` by the groups in column ``by`` of ``rows`` (each with ``population`` and
    the indicator's count, None where suppressed, and ``age_band`` when released by age),
    groups in ``order`` when given (others after, by name), else by name."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row[by]), []).append({**row, "group": str(row[by])})
    if not groups:
        raise ValueError(f"no counts by {by} to break down")
    rank = {g: i for i, g in enumerate(order or ())}
    names = sorted(groups, key=lambda g: (rank.get(g, len(rank)), g))
    values = tuple(_value(groups[g], indicator, multiplier) for g in names)
    if any(v.count is None for v in values):
        why = "not published: a group's count was suppressed"
        total = GroupValue(ALL, None, None, _not_published(why, multiplier))
    else:
        bands: dict[str, dict[str, Any]] = {}
        for row in (r for g in names for r in groups[g]):
            band = str(row.get("age_band", ALL))
            into = bands.setdefault(band, {"group": ALL, "age_band": band, "population": 0.0,
                                           indicator: 0.0})  # fmt: skip
            into["population"] += row["population"]
            into[indicator] += row[indicator]
        total = _value([bands[b] for b in sorted(bands)], indicator, multiplier)
    return Breakdown(by, indicator, values, total)
