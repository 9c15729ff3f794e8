"""Bed occupancy against demand by day of week and season.

From a daily series of beds occupied (the midnight census, as the KH03 return counts it), beds
available and, optionally, beds that would have been needed (occupied plus patients waiting
for a bed), each day of the week in each season gets its occupancy, the share of days
above the level at which flow suffers (85%, after Bagust A, Place M & Posnett JW (1999)
"Dynamics of bed use in accommodating emergency admissions", BMJ 319:155-158; and NHS England's
92% planning level) and the share of days on which demand exceeded the beds there were.

Seasons are the meteorological ones (winter December to February, and so on), which is how
winter pressure is usually reported.

Occupancy over any set of days, a cell's or the whole series', is KH03's: occupied bed days over
available bed days (equally, average beds occupied over average beds available), not the mean of
each day's percentage, which would count a day with few beds open as much as a full one. The
shares above 85% and 92% are of days, so they judge each day's own percentage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SEASONS = ("Winter", "Spring", "Summer", "Autumn")
THRESHOLDS = (0.85, 0.92)


def season(day: dt.date) -> str:
    """The meteorological season of ``day``."""
    return SEASONS[(day.month % 12) // 3]


@dataclass(frozen=True, slots=True)
class OccupancyCell:
    """One day of the week in one season."""

    season: str
    weekday: str
    days: int
    mean_occupancy: float
    """Occupied over available bed days on these days (KH03's occupancy)."""
    above_85: float
    above_92: float
    demand_exceeded: float | None
    """Share of days demand was more than the beds available (None without demand)."""


@dataclass(frozen=True, slots=True)
class OccupancyPattern:
    cells: tuple[OccupancyCell, ...]
    overall: float

    def cell(self, season_name: str, weekday: str) -> OccupancyCell:
        for c in self.cells:
            if (c.season, c.weekday) == (season_name, weekday):
                return c
        raise KeyError(f"no days on a {weekday} in {season_name}")

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.cells]


def occupancy_pattern(
    days: Sequence[dt.date],
    occupied: Sequence[float],
    available: Sequence[float],
    demand: Sequence[float] | None = None,
) -> OccupancyPattern:
    """Occupancy by day of week and season from daily counts."""
    occ, avail = np.asarray(occupied, dtype=float), np.asarray(available, dtype=float)
    n = len(days)
    if occ.shape != (n,) or avail.shape != (n,) or (demand is not None and len(demand) != n):
        raise ValueError("need one count of each kind per day")
    if n == 0 or np.any(avail <= 0) or np.any(occ < 0):
        raise ValueError("beds available must be above zero and beds occupied zero or more")
    need = None if demand is None else np.asarray(demand, dtype=float)
    share = occ / avail
    keys = [(season(d), DAYS[d.weekday()]) for d in days]
    cells = []
    for s in SEASONS:
        for w in DAYS:
            mask = np.array([k == (s, w) for k in keys])
            if not mask.any():
                continue
            cells.append(
                OccupancyCell(
                    s,
                    w,
                    int(mask.sum()),
                    float(occ[mask].sum() / avail[mask].sum()),
                    float((share[mask] > THRESHOLDS[0]).mean()),
                    float((share[mask] > THRESHOLDS[1]).mean()),
                    None if need is None else float((need[mask] > avail[mask]).mean()),
                )
            )
    return OccupancyPattern(tuple(cells), float(occ.sum() / avail.sum()))
