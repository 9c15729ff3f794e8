"""Bed occupancy by day of week and season, on a year worked by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from fivesafes.stats.bed_occupancy import occupancy_pattern, season

YEAR = [dt.date(2023, 1, 1) + dt.timedelta(days=i) for i in range(365)]


def test_seasons_are_meteorological() -> None:
    assert [season(dt.date(2023, m, 15)) for m in (12, 1, 2, 3, 6, 9, 11)] == [
        "Winter", "Winter", "Winter", "Spring", "Summer", "Autumn", "Autumn",
    ]  # fmt: skip


def test_winter_mondays_are_fullest() -> None:
    available = [100.0] * 365
    occupied = [
        (95.0 if d.weekday() == 0 else 88.0) if season(d) == "Winter" else 80.0 for d in YEAR
    ]
    demand = [o + (8 if d.weekday() == 0 and season(d) == "Winter" else 0)
              for o, d in zip(occupied, YEAR, strict=True)]  # fmt: skip
    pattern = occupancy_pattern(YEAR, occupied, available, demand)
    monday = pattern.cell("Winter", "Monday")
    assert monday.mean_occupancy == pytest.approx(0.95)
    assert (monday.above_85, monday.above_92, monday.demand_exceeded) == (1.0, 1.0, 1.0)
    tuesday = pattern.cell("Winter", "Tuesday")
    assert (tuesday.above_85, tuesday.above_92, tuesday.demand_exceeded) == (1.0, 0.0, 0.0)
    summer = pattern.cell("Summer", "Monday")
    assert (summer.mean_occupancy, summer.above_85) == (pytest.approx(0.8), 0.0)
    assert sum(c.days for c in pattern.cells) == 365 and len(pattern.cells) == 28
    assert pattern.overall == pytest.approx(sum(occupied) / 36_500)
    assert occupancy_pattern(YEAR, occupied, available).cells[0].demand_exceeded is None


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="one count of each kind per day"):
        occupancy_pattern(YEAR[:2], [1.0], [2.0, 2.0])
    with pytest.raises(ValueError, match="beds available must be above zero"):
        occupancy_pattern(YEAR[:1], [1.0], [0.0])
    with pytest.raises(KeyError):
        occupancy_pattern(YEAR[:1], [1.0], [2.0]).cell("Summer", "Monday")
