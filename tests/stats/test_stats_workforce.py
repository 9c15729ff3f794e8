"""Workforce measures as NHS England defines them, worked by hand, and the projection's
promises.

Definitions: NHS Data Dictionary (HEADCOUNT TURNOVER RATE: leavers over the average
headcount), *NHS Vacancy Statistics* (vacant FTE over FTE in post plus vacant FTE), *NHS
Sickness Absence Rates* ("the total number of sickness absence days divided by the total
number of available days"), Bowey's stability index.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.stats import wilson_interval
from fivesafes.stats.workforce import (
    fte_per_population,
    project_workforce,
    sickness_absence_rate,
    stability_index,
    turnover_rate,
    turnover_series,
    vacancy_rate,
)


def test_turnover_is_leavers_over_average_headcount() -> None:
    got = turnover_rate(120, 1000, 1040)
    assert got.value == pytest.approx(120 / 1020 * 100)
    lower, upper = wilson_interval(120, 1020)
    assert (got.lower, got.upper) == pytest.approx((lower * 100, upper * 100))
    assert turnover_rate(30, 20, 20).method == "Byars"  # more leavers than staff: a rate


def test_stability_vacancy_and_sickness() -> None:
    assert stability_index(850, 1000).value == pytest.approx(85.0)
    assert vacancy_rate(80, 920).value == pytest.approx(8.0)  # 80 of a planned 1,000
    # 4.9% (NHS England's national rate in March 2023) from days lost over days available
    assert sickness_absence_rate(4.9e6, 1e8).value == pytest.approx(4.9)
    assert fte_per_population(12.5, 25_000) == pytest.approx(0.5)


def test_impossible_returns_are_refused() -> None:
    with pytest.raises(ValueError, match="more staff stayed"):
        stability_index(11, 10)
    with pytest.raises(ValueError, match="more FTE days lost"):
        sickness_absence_rate(11, 10)
    with pytest.raises(ValueError, match="leavers must be zero or more"):
        turnover_rate(-1, 10, 10)
    with pytest.raises(ValueError, match="a headcount at the start and the end"):
        turnover_series([1, 2], [10, 11])


def test_monthly_turnover_for_a_p_chart() -> None:
    leavers, averages = turnover_series([5, 7, 6], [100, 102, 98, 100])
    assert leavers == [5, 7, 6] and averages == [101, 100, 99]


def test_projection_draws_the_gap() -> None:
    flat = project_workforce(100, 12, demand_growth=0.0, leaver_rate=0.0, joiners_per_month=0)
    assert {m.gap_fte for m in flat.months} == {0.0}
    growing = project_workforce(100, 24, demand_growth=0.05, leaver_rate=0.12,
                                joiners_per_month=1.0)  # fmt: skip
    assert growing.months[11].needed_fte == pytest.approx(105.0)  # 5% a year
    assert growing.final_gap == pytest.approx(
        growing.months[-1].needed_fte - growing.months[-1].projected_fte
    )
    assert growing.final_gap > 0 and len(growing.to_records()) == 24


@settings(max_examples=50, deadline=None)
@given(st.floats(1, 1e4), st.floats(0, 0.5), st.integers(1, 60))
def test_joiners_replacing_leavers_hold_the_workforce(
    fte: float, leave: float, months: int
) -> None:
    """Joiners equal to each month's leavers keep the FTE in post where it is."""
    keep = (1 - leave) ** (1 / 12)
    held = project_workforce(fte, months, demand_growth=0, leaver_rate=leave,
                             joiners_per_month=fte * (1 - keep))  # fmt: skip
    assert held.months[-1].projected_fte == pytest.approx(fte)
    assert held.final_gap == pytest.approx(0, abs=1e-6 * fte)
