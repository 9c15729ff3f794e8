"""Capacity and demand, from released counts.

* **A waiting list** — ``waiting_list.csv`` (``period, referrals, removals, waiting``: the
  referrals and removals of the period ``YYYY-MM-DD/YYYY-MM-DD`` and the list at its end): the NHS-R
  waiting list formulas (demand and capacity a week, the list's mean wait by Little's law,
  waiting / removals a week, Poisson variation) and a simulation of the list from its size under
  that demand and capacity, repeated to give bands, with a progress bar. The patients' waits so
  far are not released (only the list's size), so the simulation starts them with exponential
  waits of the list's mean wait, which is what a list in steady state with first-come
  first-served treatment has.
* **Bed occupancy** — ``bed_days_by_weekday_season.csv`` (``period, season, weekday,
  bed_days`` and optionally ``admissions``; the days of each kind come from the calendar): beds
  occupied at midnight (and admissions) per day, by day of week and season; with a bed base
  (``--beds``), occupancy as a share of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from fivesafes.dashboards.released import ReleasedTable
from fivesafes.dashboards.sections import (
    Section,
    count,
    number,
    period,
    table_html,
    write_figure,
)
from fivesafes.stats import simulate_waiting_list, summarise_waiting_list
from fivesafes.stats.bed_occupancy import DAYS, season
from fivesafes.stats.plot_planning import plot_occupancy, plot_waiting_list


def waiting_list_section(
    tables: Mapping[str, ReleasedTable],
    out: Path,
    *,
    target_weeks: float,
    weeks_ahead: int,
    runs: int,
    capacity_change: float,
    progress: Callable[[int, int], None] | None = None,
) -> Section | None:
    """The formulas and a simulation of the list, when its table was released."""
    table = tables.get("waiting_list")
    if table is None or not table.rows:
        return None
    title = "Capacity and demand: the waiting list"
    row = table.rows[-1]
    referrals, removals, waiting = (count(row[c]) for c in ("referrals", "removals", "waiting"))
    first, last = period(row["period"])
    weeks = ((last - first).days + 1) / 7
    if referrals is None or removals is None or waiting is None or weeks < 1:
        return Section(
            "waiting", title, ("<p>Not drawn: a count it needs was suppressed.</p>",), (table,)
        )
    demand, capacity = referrals / weeks, removals / weeks
    # weekly counts are not released, only their totals: take them as Poisson
    cv_demand = 1 / math.sqrt(demand) if demand else 0.0
    cv_capacity = 1 / math.sqrt(capacity) if capacity else 0.0
    mean_wait = waiting / capacity if capacity else float("inf")
    summary = summarise_waiting_list(
        demand,
        capacity,
        waiting,
        mean_wait,
        target_weeks,
        cv_demand=cv_demand,
        cv_capacity=cv_capacity,
    )
    planned = capacity * (1 + capacity_change)
    waits = list(np.random.default_rng(0).exponential(mean_wait, int(waiting)))
    sim = simulate_waiting_list(
        demand,
        planned,
        weeks_ahead,
        initial_waits_weeks=waits,
        target_weeks=round(target_weeks),
        runs=runs,
        progress=progress,
    )
    figure = write_figure(
        plot_waiting_list(
            sim, title=f"The list over the next {weeks_ahead} weeks at {planned:,.0f} a week"
        ),
        out,
        "waiting-list",
    )
    facts = [
        ("Demand (referrals a week)", f"{demand:,.1f}"),
        ("Capacity (removals a week)", f"{capacity:,.1f}"),
        (
            "Load (demand / capacity)",
            f"{summary.load:.2f}" + (" - the list will grow" if summary.load_too_big else ""),
        ),
        ("List size", f"{waiting:,.0f}"),
        ("Mean wait so far (weeks, Little's law)", f"{mean_wait:.2f}"),
        (
            f"Target list size (for a {target_weeks:g}-week target)",
            f"{summary.target_queue_size:,.1f}",
        ),
        ("Relief capacity (to reach the target size in 26 weeks)", number(summary.relief_capacity)),
        (
            "Target capacity (to keep the mean wait at a quarter of the target)",
            number(summary.target_capacity),
        ),
        ("Pressure (2 x mean wait / target)", f"{summary.pressure:.2f}"),
    ]
    parts = (
        f"<p>From the {weeks:g} weeks from {first} to {last}. "
        f"The simulation runs {runs} times with Poisson referrals and treatment slots day by "
        f"day, longest waiters first, at {planned:,.0f} removals a week"
        + (f" ({capacity_change:+.0%} on today's)" if capacity_change else "")
        + "; the bands hold 90% of the runs.</p>",
        table_html("The NHS-R waiting list formulas on this list", ("Quantity", "Value"), facts),
        figure.html(),
    )
    return Section("waiting", title, parts, (table,), (figure,))


def _days(start: date, end: date) -> dict[tuple[str, str], int]:
    """How many of each weekday in each season there are from ``start`` to ``end``."""
    found: dict[tuple[str, str], int] = {}
    day = start
    while day <= end:
        key = (season(day), DAYS[day.weekday()])
        found[key] = found.get(key, 0) + 1
        day += timedelta(days=1)
    return found


def occupancy_section(
    tables: Mapping[str, ReleasedTable], out: Path, beds: float | None
) -> Section | None:
    """Heatmaps of beds occupied (and admissions, when released) per day by day of week and
    season."""
    table = tables.get("bed_days_by_weekday_season")
    if table is None or not table.rows:
        return None
    occupied, admitted = [], []
    calendar = _days(*period(table.rows[0]["period"]))
    demand = "admissions" in table.rows[0]
    for r in table.rows:
        days = calendar.get((r["season"], r["weekday"]))
        bed_days = count(r["bed_days"])
        admissions = count(r["admissions"]) if demand else None
        if days:
            if bed_days is not None:
                occupied.append((r["season"], r["weekday"], bed_days / days))
            if admissions is not None:
                admitted.append((r["season"], r["weekday"], admissions / days))
    if not occupied:
        return None
    figures = [
        write_figure(
            plot_occupancy(occupied, title="Beds occupied at midnight", unit="beds occupied a day"),
            out,
            "beds-occupied",
        )
    ]
    if admitted:
        figures.append(
            write_figure(
                plot_occupancy(
                    admitted, title="Admissions (demand for beds)", unit="admissions a day"
                ),
                out,
                "beds-demand",
            )
        )
    if beds:
        share = [(s, w, 100 * v / beds) for s, w, v in occupied]
        figures.append(
            write_figure(
                plot_occupancy(
                    share,
                    title=f"Occupancy of {beds:g} beds",
                    unit="% of beds occupied",
                    value_format=".0f",
                ),
                out,
                "beds-share",
            )
        )
    suppressed = len(table.rows) - len(admitted) if demand else 0
    parts = (
        "<p>Average beds occupied at midnight"
        + (" and admissions a day" if demand else "")
        + ", by day of week and meteorological season, from the spells counted in the released "
        "table"
        + (
            f"; {suppressed} cell(s) of admissions were suppressed and are blank"
            if suppressed
            else ""
        )
        + ".</p>",
        *(f.html() for f in figures),
    )
    return Section("beds", "Capacity and demand: bed occupancy", parts, (table,), tuple(figures))
