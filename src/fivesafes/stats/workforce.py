"""Workforce planning measures from the monthly workforce returns.

Definitions as NHS England publishes them in *NHS Workforce Statistics* and *NHS Sickness
Absence Rates* and the NHS Data Dictionary defines them:

* **turnover (leaver) rate** — leavers in the period over the average headcount (of the start
  and end of the period) (NHS Data Dictionary, HEADCOUNT TURNOVER RATE);
* **stability index** — staff in post at the end who were also in post at the start of a
  12-month period, over the headcount at its start (Bowey's stability index);
* **vacancy rate** — vacant FTE over the planned workforce, FTE in post plus vacant FTE
  (*NHS Vacancy Statistics*);
* **sickness absence rate** — FTE days lost to sickness over FTE days available;
* **FTE per 1,000 registered population**.

Each is a proportion with a numerator and denominator, so the monthly series go to a p chart
(:func:`fivesafes.stats.p_chart`) and each value has a Wilson interval; FTE per 1,000 goes to
an XmR chart. :func:`project_workforce` carries the FTE in post forward under its joiner and
leaver rates against the FTE that demand growth needs, and says the gap.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fivesafes.stats.indicators import IndicatorValue, proportion, rate


def _count(name: str, value: float) -> float:
    if value < 0 or value != value:
        raise ValueError(f"{name} must be zero or more (got {value!r})")
    return value


def turnover_rate(leavers: float, headcount_start: float, headcount_end: float) -> IndicatorValue:
    """Leavers over the average headcount, as a percentage."""
    average = (
        _count("headcount_start", headcount_start) + _count("headcount_end", headcount_end)
    ) / 2
    if average <= 0:
        raise ValueError("the average headcount must be greater than zero")
    if _count("leavers", leavers) > average:
        # more leavers than the average headcount: a rate, not a proportion
        return rate(leavers, average, multiplier=100)
    return proportion(leavers, average, multiplier=100)


def stability_index(stayed: float, headcount_year_ago: float) -> IndicatorValue:
    """Staff in post a year ago and still in post, over the headcount a year ago (%)."""
    if _count("stayed", stayed) > _count("headcount_year_ago", headcount_year_ago):
        raise ValueError("more staff stayed than were in post a year ago")
    return proportion(stayed, headcount_year_ago, multiplier=100)


def vacancy_rate(vacant_fte: float, fte_in_post: float) -> IndicatorValue:
    """Vacant FTE over the planned workforce (in post plus vacant), as a percentage."""
    planned = _count("vacant_fte", vacant_fte) + _count("fte_in_post", fte_in_post)
    if planned <= 0:
        raise ValueError("the planned workforce must be greater than zero")
    return proportion(vacant_fte, planned, multiplier=100)


def sickness_absence_rate(fte_days_lost: float, fte_days_available: float) -> IndicatorValue:
    """FTE days lost to sickness over FTE days available, as a percentage."""
    if _count("fte_days_lost", fte_days_lost) > _count("fte_days_available", fte_days_available):
        raise ValueError("more FTE days lost than were available")
    return proportion(fte_days_lost, fte_days_available, multiplier=100)


def fte_per_population(fte: float, registered_population: float, per: float = 1000) -> float:
    """FTE per ``per`` (1,000) registered patients."""
    if registered_population <= 0:
        raise ValueError("the registered population must be greater than zero")
    return _count("fte", fte) / registered_population * per


@dataclass(frozen=True, slots=True)
class ProjectedMonth:
    month: int
    needed_fte: float
    projected_fte: float
    gap_fte: float
    """Needed minus projected: above zero, the staff that will be missing."""


@dataclass(frozen=True, slots=True)
class WorkforceProjection:
    months: tuple[ProjectedMonth, ...]
    demand_growth: float
    leaver_rate: float
    joiners: float

    @property
    def final_gap(self) -> float:
        return self.months[-1].gap_fte

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(m) for m in self.months]


def project_workforce(
    fte_now: float,
    months: int,
    *,
    demand_growth: float,
    leaver_rate: float,
    joiners_per_month: float,
    fte_needed_now: float | None = None,
) -> WorkforceProjection:
    """Month by month: the FTE needed grows with demand (``demand_growth`` a year, compounded
    monthly, productivity unchanged) from ``fte_needed_now`` (by default today's FTE in post
    plus nothing: demand met today); the FTE in post loses ``leaver_rate`` a year (compounded
    monthly) and gains ``joiners_per_month``."""
    if months < 1 or fte_now < 0 or joiners_per_month < 0:
        raise ValueError("months must be at least 1, FTE and joiners zero or more")
    if not 0 <= leaver_rate < 1 or demand_growth <= -1:
        raise ValueError("leaver_rate must be from 0 to below 1 and demand_growth above -1")
    needed = fte_now if fte_needed_now is None else fte_needed_now
    monthly_growth = (1 + demand_growth) ** (1 / 12)
    monthly_keep = (1 - leaver_rate) ** (1 / 12)
    in_post = fte_now
    rows = []
    for m in range(1, months + 1):
        needed *= monthly_growth
        in_post = in_post * monthly_keep + joiners_per_month
        rows.append(ProjectedMonth(m, needed, in_post, needed - in_post))
    return WorkforceProjection(tuple(rows), demand_growth, leaver_rate, joiners_per_month)


def turnover_series(
    leavers: Sequence[float], headcounts: Sequence[float]
) -> tuple[list[float], list[float]]:
    """Numerators and denominators of monthly turnover for a p chart: leavers in each month
    over the average of the headcounts at its start and end (``headcounts`` has one more
    value than ``leavers``)."""
    if len(headcounts) != len(leavers) + 1:
        raise ValueError("need a headcount at the start and the end of every month")
    averages = [(a + b) / 2 for a, b in itertools.pairwise(headcounts)]
    return list(leavers), averages
