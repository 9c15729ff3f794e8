"""Bed occupancy by day of week and season, on a year worked by hand, and against the Met
Office's seasons and published England occupancy figures (each test names its source)."""

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


# Published definitions and figures -----------------------------------------------------------


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def test_season_boundaries_are_the_met_offices() -> None:
    """The Met Office: "In meteorological terms, it's fairly simple – each season is a three
    month period. So, Summer is June, July and August; Autumn is September, October and
    November, and so on" (https://metoffice.gov.uk/blog/2012/when-does-autumn-start); its
    seasons page spells out the rest: "spring will always start on 1 March; ending on 31 May
    ... winter (December, January, February)" (as quoted at
    https://mudcat.org/detail_pf.cfm?messages__Message_ID=4175211). Each boundary day, and
    29 February, falls where those say."""
    edges = {
        dt.date(2024, 2, 29): "Winter",
        dt.date(2024, 3, 1): "Spring",
        dt.date(2024, 5, 31): "Spring",
        dt.date(2024, 6, 1): "Summer",
        dt.date(2024, 8, 31): "Summer",
        dt.date(2024, 9, 1): "Autumn",
        dt.date(2024, 11, 30): "Autumn",
        dt.date(2024, 12, 1): "Winter",
        dt.date(2025, 1, 1): "Winter",
    }
    assert {d: season(d) for d in edges} == edges


def test_overall_occupancy_is_the_published_1983_england_figure() -> None:
    """England, 1983: "there were 343,091 beds available daily on average in NHS hospitals in
    England. Of these, 276,429 or 80.6 per cent. were occupied" (HL Deb 03 July 1985 vol 465
    c1300WA, https://api.parliament.uk/historic-hansard/written-answers/1985/jul/03/
    hospital-beds-occupancy-statistics); the same year's table of occupied (276,429) and
    available-but-unoccupied (66,662) beds, summing to 343,091, is at HC Deb 7 December 1984
    (https://api.parliament.uk/historic-hansard/written-answers/1984/dec/07/hospital-beds).
    Both count at midnight, as our daily census does. The 80.6% is the Department's own."""
    year = _days(dt.date(1983, 1, 1), dt.date(1983, 12, 31))
    pattern = occupancy_pattern(year, [276_429.0] * 365, [343_091.0] * 365)
    assert round(pattern.overall * 100, 1) == 80.6


@pytest.mark.parametrize(
    ("quarter", "first", "last", "available", "occupied", "published"),
    [
        ("Q1 2010/11", dt.date(2010, 4, 1), dt.date(2010, 6, 30), 110_568, 95_430, 86),
        ("Q4 2019/20", dt.date(2020, 1, 1), dt.date(2020, 3, 31), 102_194, 90_309, 88),
    ],
)
def test_overall_occupancy_is_kh03s_bed_days_ratio(
    quarter: str,
    first: dt.date,
    last: dt.date,
    available: int,
    occupied: int,
    published: int,
) -> None:
    """NHS England's KH03 general and acute overnight beds for England, as the Nuffield Trust
    quotes them (QualityWatch, "Hospital bed occupancy", updated 27 June 2023,
    http://www.nuffieldtrust.org.uk/resource/hospital-bed-occupancy): 110,568 available and
    95,430 occupied in Q1 2010/11, an occupancy of 86%; 102,194 and 90,309 in Q4 2019/20, 88%.
    KH03 publishes the average daily beds and the percentage from the quarter's bed days, so
    occupancy is occupied bed days over available bed days, not the mean of daily percentages.
    The days below vary about the published averages (the same amount up in the first half
    and down in the second, so the averages are exact); the overall figure must still be the
    ratio of the averages and round to the published percentage, while the mean of the daily
    percentages would not be that ratio."""
    days = _days(first, last)
    half = len(days) // 2
    swing = [2_000.0] * half + [-2_000.0] * half + [0.0] * (len(days) - 2 * half)
    avail = [available + s for s in swing]
    occ = [occupied - s / 2 for s in swing]
    assert sum(avail) / len(days) == pytest.approx(available)
    assert sum(occ) / len(days) == pytest.approx(occupied)
    pattern = occupancy_pattern(days, occ, avail)
    assert pattern.overall == pytest.approx(occupied / available)
    assert round(pattern.overall * 100) == published
    daily_mean = sum(o / a for o, a in zip(occ, avail, strict=True)) / len(days)
    assert daily_mean != pytest.approx(pattern.overall, rel=1e-6)


def test_a_cells_occupancy_is_bed_days_not_a_mean_of_days() -> None:
    """KH03's occupancy (see the test above) holds within a cell too: two winter Mondays, one
    with 100 beds and 90 occupied, one with 50 beds all occupied, are 140 of 150 bed days
    (93.3%), not the 95% the mean of 90% and 100% would say; the shares above the thresholds
    still judge each day."""
    days = [dt.date(2024, 1, 1), dt.date(2024, 1, 8)]  # two Mondays in winter
    cell = occupancy_pattern(days, [90.0, 50.0], [100.0, 50.0]).cell("Winter", "Monday")
    assert cell.mean_occupancy == pytest.approx(140 / 150)
    assert (cell.above_85, cell.above_92) == (1.0, 0.5)
