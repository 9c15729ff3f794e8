"""Waiting list formulas against the NHS-R package's tests, and the simulation's invariants.

Expected values are transcribed from NHSRwaitinglist (nhs-r-community/NHSRwaitinglist)
``tests/testthat/test-calc_*.R``, each test naming its file; R's ``expect_equal`` compares to
1.5e-8 relative, as here.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.stats.waiting_list import (
    queue_load,
    relief_capacity,
    simulate_waiting_list,
    summarise_waiting_list,
    target_capacity,
    target_mean_wait,
    target_queue_size,
    waiting_list_pressure,
)

R_TOL = 1.5e-8


def test_queue_load_matches_test_calc_queue_load() -> None:
    assert queue_load(30, 27) == pytest.approx(1.11111111, rel=R_TOL)
    got = [queue_load(d, c) for d, c in zip((35, 30, 52), (27, 25, 42), strict=True)]
    assert got == pytest.approx([1.2962963, 1.2, 1.23809524], rel=R_TOL)


def test_relief_capacity_matches_test_calc_relief_capacity() -> None:
    assert relief_capacity(30, 1200, 390, 26) == pytest.approx(61.153846, rel=R_TOL)
    got = [
        relief_capacity(d, q, t, w)
        for d, q, t, w in zip((30, 33, 35), (1200, 800, 250), (390, 200, 100), (26, 30, 15),
                              strict=True)
    ]  # fmt: skip
    assert got == pytest.approx([61.153846, 53, 45], rel=R_TOL)


def test_relief_capacity_raises_estimated_demand_by_two_standard_errors() -> None:
    # R/calc_relief_capacity.R: demand / (1 - 2 * demand * cv_demand / sqrt(num_referrals))
    adjusted = 30 / (1 - 2 * 30 * 0.01 / 10_000**0.5)
    assert relief_capacity(30, 1200, 390, 26, num_referrals=10_000, cv_demand=0.01) == (
        pytest.approx(adjusted + 810 / 26)
    )
    # no adjustment when the correction would not be below 1
    assert relief_capacity(30, 1200, 390, 26, num_referrals=100, cv_demand=1) == pytest.approx(
        30 + 810 / 26
    )


def test_target_capacity_matches_test_calc_target_capacity() -> None:
    assert target_capacity(30, 52, 3, 1.1, 1.2) == pytest.approx(30.076442, rel=R_TOL)
    got = [
        target_capacity(*args)
        for args in zip((30, 42, 35), (52, 65, 50), (3, 2, 1), (1.1, 1.2, 1.3), (1.4, 1.5, 1.6),
                        strict=True)
    ]  # fmt: skip
    assert got == pytest.approx([30.0914423, 42.0567692, 35.0425], rel=R_TOL)


def test_target_mean_wait_matches_test_calc_target_mean_wait() -> None:
    assert target_mean_wait(52, 4) == 13
    got = [target_mean_wait(w, f) for w, f in zip((35, 30, 52), (4, 4, 6), strict=True)]
    assert got == pytest.approx([8.75, 7.5, 8.6666667], rel=R_TOL)


def test_target_queue_size_matches_test_calc_target_queue_size() -> None:
    assert (target_queue_size(30, 52), target_queue_size(30, 50)) == (390, 375)
    assert target_queue_size(30, 50, 6) == pytest.approx(250, rel=R_TOL)


def test_pressure_matches_test_calc_waiting_list_pressure() -> None:
    assert waiting_list_pressure(63, 52) == pytest.approx(2.42307692, rel=R_TOL)
    got = [waiting_list_pressure(m, t) for m, t in zip((63, 42, 55), (52, 24, 50), strict=True)]
    assert got == pytest.approx([2.42307692, 3.5, 2.2], rel=R_TOL)


def test_summary_chooses_relief_or_target_capacity_as_wl_stats_does() -> None:
    # R/wl_stats.R: a queue over twice its target size gets relief capacity, else target
    big = summarise_waiting_list(30, 27, 1200, 20, 52)
    assert big.queue_too_big and big.relief_capacity == pytest.approx(61.153846, rel=R_TOL)
    assert big.target_capacity is None and big.load_too_big
    small = summarise_waiting_list(30, 35, 500, 10, 52, cv_demand=1.1, cv_capacity=1.2)
    assert not small.queue_too_big and small.relief_capacity is None
    assert small.target_capacity == pytest.approx(target_capacity(30, 52, 4, 1.1, 1.2))
    assert small.to_record()["pressure"] == pytest.approx(2 * 10 / 52)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity must be greater than zero"):
        queue_load(1, 0)
    with pytest.raises(ValueError, match="target_wait must be greater than zero"):
        target_mean_wait(0)
    with pytest.raises(ValueError, match="withdrawal"):
        simulate_waiting_list(10, 10, 4, withdrawal=1.5)
    with pytest.raises(ValueError, match="initial waits"):
        simulate_waiting_list(10, 10, 4, initial_waits_weeks=[-1])


# --- the simulation ---------------------------------------------------------------------------


def test_without_capacity_the_list_only_grows() -> None:
    result = simulate_waiting_list(50, 0, 10, initial_waits_weeks=[1.0] * 200, runs=5)
    sizes = [w.size_median for w in result.weeks]
    assert sizes == sorted(sizes) and sizes[0] > 200
    assert sizes[-1] == pytest.approx(200 + 50 * 10, rel=0.1)
    # after 17 more weeks the first 200 patients are over 18 weeks
    assert result.weeks[-1].within_target_median == 1.0  # not yet: waited 1 + 10 weeks


def test_ample_capacity_keeps_everyone_within_target() -> None:
    # 20 a week more capacity than demand clears a backlog of 200 in about ten weeks
    result = simulate_waiting_list(50, 70, 30, initial_waits_weeks=[30.0] * 200, runs=10)
    assert result.weeks[0].within_target_median < 0.9  # the backlog is over 18 weeks
    assert all(w.within_target_low == 1.0 for w in result.weeks[15:])
    assert result.weeks[-1].size_high < 60  # about a week of referrals


def test_runs_are_reproducible_and_report_progress() -> None:
    seen: list[tuple[int, int]] = []
    a = simulate_waiting_list(40, 42, 12, runs=4, seed=3, progress=lambda d, t: seen.append((d, t)))
    b = simulate_waiting_list(40, 42, 12, runs=4, seed=3)
    assert a == b and seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert simulate_waiting_list(40, 42, 12, runs=4, seed=4) != a
    assert len(a.to_records()) == 12 and a.patients > 4 * 40 * 12 * 0.8


def test_withdrawals_shorten_the_list() -> None:
    kept = simulate_waiting_list(30, 0, 20, runs=8)
    leaving = simulate_waiting_list(30, 0, 20, runs=8, withdrawal=0.1)
    assert leaving.weeks[-1].size_median < 0.6 * kept.weeks[-1].size_median


def test_the_band_holds_the_median() -> None:
    result = simulate_waiting_list(100, 98, 26, initial_waits_weeks=[5.0] * 800, runs=30)
    for w in result.weeks:
        assert w.size_low <= w.size_median <= w.size_high
        assert w.within_target_low <= w.within_target_median <= w.within_target_high


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 200), st.integers(1, 12), st.integers(0, 300))
def test_an_empty_capacity_list_conserves_patients(demand: int, weeks: int, start: int) -> None:
    """With no capacity and no withdrawals nobody leaves: the list is its start plus every
    referral, in every run."""
    result = simulate_waiting_list(demand, 0, weeks, initial_waits_weeks=[2.0] * start, runs=1)
    assert result.weeks[-1].size_median == result.patients
