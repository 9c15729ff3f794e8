"""Interrupted time series against R's reference implementation of Newey-West errors.

The expected numbers were printed by R 4.2.2 with ``sandwich`` 3.0-2 (Zeileis's package, the
reference implementation of HAC covariances; Debian ``r-cran-sandwich``) on the series below,
made with ``set.seed(2024)`` and an AR(1) error of 0.5 and rounded to two decimals:
``fit <- lm(y ~ t + D + S)``, ``NeweyWest(fit, lag = L, prewhite = FALSE, adjust = ...)``,
``qt(0.975, n - 4)`` intervals, ``2 * pt(-|t|, n - 4)`` p-values and ``acf()`` of the
residuals, printed to 17 digits.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.stats.its import interrupted_time_series, newey_west_covariance, newey_west_lag

Y = [45.07, 48.77, 51.50, 51.94, 45.17, 48.19, 48.28, 51.25, 48.76, 46.86, 52.36, 53.61, 55.84,
     54.59, 55.34, 51.98, 53.31, 55.72, 51.60, 53.58, 46.06, 47.28, 47.48, 50.95, 49.23, 50.09,
     50.37, 48.81, 47.81, 49.26, 47.34, 48.06, 49.37, 52.93, 48.32, 48.62]  # fmt: skip
COEF = [47.490714285714319, 0.38897744360902226, -7.1837925696594382, -0.28400685537372833]
SE = {
    (0, True): [1.1376880582664013, 0.092853115516233833, 1.2968711945524045, 0.13451424284903288],
    (0, False): [1.0726225878335032, 0.087542756847768938, 1.2227018879913383,
                 0.12682124437963355],
    (1, True): [1.1901895148117021, 0.096746333537785612, 1.3576928810931022, 0.14197836521855783],
    (1, False): [1.1221214357606417, 0.091213317999338281, 1.2800451239861785,
                 0.13385848643709666],
    (3, True): [0.86214353300421886, 0.079266140104410229, 1.1948019094166888, 0.1305971888971264],
    (3, False): [0.81283671805788171, 0.074732833581748578, 1.1264700430975667,
                 0.12312821049741145],
}  # fmt: skip
MONTHS = [dt.date(2021 + i // 12, i % 12 + 1, 1) for i in range(36)]


@pytest.mark.parametrize(("lag", "adjust"), sorted(SE))
def test_coefficients_and_robust_errors_match_sandwich(lag: int, adjust: bool) -> None:
    result = interrupted_time_series(Y, MONTHS, change_at=MONTHS[20], lag=lag, adjust=adjust)
    assert [e.value for e in result.estimates] == pytest.approx(COEF, rel=1e-12)
    assert [e.standard_error for e in result.estimates] == pytest.approx(SE[lag, adjust], rel=1e-9)


def test_intervals_and_p_values_match_r() -> None:
    result = interrupted_time_series(Y, MONTHS, change_at=MONTHS[20], lag=3)
    level, slope = result.level_change, result.slope_change
    assert (level.lower, level.upper) == pytest.approx(
        (-9.6175244177800874, -4.7500607215387891), rel=1e-9
    )
    assert (slope.lower, slope.upper) == pytest.approx(
        (-0.5500246240004425, -0.01798908674701416), rel=1e-9
    )
    assert [e.p_value for e in result.estimates] == pytest.approx(
        [2.7841055011544317e-33, 2.6017023591581486e-05, 1.0467543339228247e-06,
         0.037157052790480906], rel=1e-6
    )  # fmt: skip


def test_lines_drawn_are_the_fit_and_its_counterfactual() -> None:
    result = interrupted_time_series(Y, MONTHS, change_at=MONTHS[20], lag=3)
    b0, b1, b2, b3 = COEF
    last = result.points[-1]
    assert last.fitted == pytest.approx(b0 + b1 * 35 + b2 + b3 * 15)
    assert last.counterfactual == pytest.approx(b0 + b1 * 35)
    assert [p.after for p in result.points] == [False] * 20 + [True] * 16
    before = result.points[19]
    assert before.fitted == pytest.approx(before.counterfactual)
    assert result.to_records()[0]["x"] == MONTHS[0]
    assert {r["name"] for r in result.estimate_records()} == {
        "intercept", "pre_slope", "level_change", "slope_change",
    }  # fmt: skip
    # R run: acf(residuals(fit))$acf[2]
    assert result.lag1_autocorrelation == pytest.approx(0.19565405566172636, rel=1e-9)


def test_default_lag_is_newey_wests_rule_of_thumb() -> None:
    assert [newey_west_lag(n) for n in (36, 100, 200)] == [3, 4, 4]
    assert interrupted_time_series(Y, change_at=20).lag == 3


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of the periods"):
        interrupted_time_series(Y, MONTHS, change_at=dt.date(2030, 1, 1))
    with pytest.raises(ValueError, match="at least 3 periods before and after"):
        interrupted_time_series(Y, change_at=34)
    with pytest.raises(ValueError, match="lag must be"):
        interrupted_time_series(Y, change_at=20, lag=40)


def test_zero_lag_without_adjustment_is_whites_covariance() -> None:
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(20), rng.normal(size=20)])
    u = rng.normal(size=20)
    white = np.linalg.inv(x.T @ x) @ (x.T * u**2) @ x @ np.linalg.inv(x.T @ x)
    assert newey_west_covariance(x, u, 0, adjust=False) == pytest.approx(white)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(-50, 50), st.floats(-2, 2), st.floats(-20, 20), st.floats(-2, 2),
    st.integers(8, 40), st.integers(3, 6),
)  # fmt: skip
def test_an_exact_segmented_line_is_recovered(
    b0: float, b1: float, b2: float, b3: float, n: int, before: int
) -> None:
    """A series exactly on a broken line gives back its level and slope changes."""
    t0 = min(before, n - 3)
    t = np.arange(n)
    y = b0 + b1 * t + (t >= t0) * (b2 + b3 * (t - t0))
    result = interrupted_time_series(y, change_at=t0, lag=1)
    assert result.level_change.value == pytest.approx(b2, abs=1e-6)
    assert result.slope_change.value == pytest.approx(b3, abs=1e-6)
    assert result.slope_change.standard_error == pytest.approx(0, abs=1e-6)
