"""Workforce measures as NHS England defines them, worked by hand and checked against figures
NHS statisticians published (each such test names its source), and the projection's promises.

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
    # days lost over days available, as a percentage (published figures: the tests below)
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


# Published figures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "days_lost", "days_available", "published"),
    [
        ("2009-10", 16_745_315, 380_199_666, 4.40),
        ("2010-11", 15_947_054, 383_278_845, 4.16),
        ("2011-12", 15_555_507, 377_908_880, 4.12),
        ("2012-13", 15_947_518, 376_187_354, 4.24),
        ("2013-14", 15_385_468, 378_691_376, 4.06),
        ("2014-15", 16_423_722, 386_388_483, 4.25),
    ],
)
def test_sickness_absence_matches_the_published_england_rates(
    year: str, days_lost: int, days_available: int, published: float
) -> None:
    """England's FTE days lost, FTE days available (both including non-working days) and
    sickness absence rate for each financial year, as the Health and Social Care Information
    Centre published them in *NHS Sickness Absence Rates* and the Government gave them in
    answer to written question HL3703 (House of Lords, Department of Health;
    https://parallelparliament.co.uk/question/HL3703/nhs-sick-leave). The rate is the HSCIC's,
    computed by it from its own counts and rounded to two places; ours, from the same two
    counts, must round to it."""
    assert round(sickness_absence_rate(days_lost, days_available).value or 0, 2) == published


def test_vacancy_rate_matches_the_march_2002_vacancies_survey() -> None:
    """Department of Health Vacancies Survey, March 2002, qualified nursing, midwifery and
    health visiting staff in England, as given in answer to a written question (HC Deb
    14 January 2003 vol 397 cc531-2W,
    https://api.parliament.uk/historic-hansard/written_answers/2003/jan/14/nursing-vacancies):
    8,394 three-month vacancies (WTE), 265,717 WTE staff in post, a vacancy rate of 3.1%, with
    the note that rates are "vacancies expressed as a percentage of three month vacancies plus
    staff in post" — the planned workforce our denominator is. The Department's own rate, to
    one place, is the check."""
    assert round(vacancy_rate(8_394, 265_717).value or 0, 1) == 3.1


def test_stability_index_follows_nhs_digitals_worked_example() -> None:
    """NHS Digital's definition as the Department of Health and Social Care gave it (written
    question 158306, answered 4 July 2018, https://www.parallelparliament.co.uk/question/158306):
    "if a trust had 100 nurses in July and a year later 90 of those nurses remained in post,
    the Stability Index would be 90/100 expressed as a percentage: 90%"."""
    got = stability_index(90, 100)
    assert (got.numerator, got.denominator, got.value) == (90, 100, pytest.approx(90.0))


def test_turnover_denominator_is_the_data_dictionarys_average_headcount() -> None:
    """NHS Data Dictionary (March 2012 release), HEADCOUNT TURNOVER RATE (ORGANISATION IN
    REPORTING PERIOD): the leavers are divided by the average staff in employment, the mean of
    the headcounts at the start and end of the period — "if the number of employees at the
    start of the reporting period is 150 and the number of employees at the end of the
    reporting period is 120 the average staff in employment is: (120 + 150) / 2 = 135"
    (https://archive.datadictionary.nhs.uk/DD%20Release%20March%202012/data_dictionary/
    data_field_notes/h/headcount_turnover_rate_(organisation_in_reporting_period)_de.asp).
    The dictionary gives no count of leavers; 27 is ours, to show the division."""
    got = turnover_rate(27, 150, 120)
    assert got.denominator == 135
    assert got.value == pytest.approx(27 / 135 * 100)
