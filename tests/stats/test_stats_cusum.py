"""Risk-adjusted CUSUM and VLAD against the published worked examples, and the thresholds'
promises.

The worked examples are those the R package vlad (wittenberg/vlad, tests/testthat/
test-llr_score.R, test-racusum_scores.R, test-calceo.R) checks itself against: the cardiac
surgery risk model logit p = −3.68 + 0.077 × Parsonnet score, with the CUSUM weights of Steiner
et al. (2000) *Biostatistics* 1:441-452 p. 446 and Steiner S (2014) "Risk-adjusted monitoring
of outcomes in health care", in *Statistics in Action* pp. 225-242, p. 234, and of Rigdon SE &
Fricker RD (2015) "Health surveillance" pp. 225-226 (intercept −3.67); and the VLAD's
expected-minus-observed scores of Steiner (2014) p. 234.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.stats.cusum import (
    cusum_arl,
    cusum_false_alarm,
    cusum_path,
    cusum_threshold,
    cusum_weights,
    poisson_cusum_weights,
    ra_cusum,
    vlad,
)


def _risk(parsonnet: float, intercept: float = -3.68) -> float:
    return 1 / (1 + math.exp(-(intercept + 0.077 * parsonnet)))


PARSONNET = [0, 0, 50, 50]
STATUS = [0, 1, 0, 1]


def test_weights_match_steiner_2014_p234() -> None:
    risks = [_risk(s) for s in PARSONNET]
    assert np.round(cusum_weights(risks, STATUS, 2), 3).tolist() == [-0.024, 0.669, -0.433, 0.26]
    assert np.round(cusum_weights(risks, STATUS, 0.5), 3).tolist() == [
        0.012,
        -0.681,
        0.316,
        -0.377,
    ]
    # Steiner et al. (2000) p. 446 print them to two places: -0.024, 0.67, -0.43, 0.26
    assert cusum_weights(risks, STATUS, 2).tolist() == pytest.approx(
        [-0.024, 0.67, -0.43, 0.26], abs=5e-3
    )


def test_weights_match_rigdon_and_fricker() -> None:
    risks = [_risk(s, -3.67) for s in (19, 19, 0, 0)]
    got = np.round(cusum_weights(risks, [0, 1, 0, 1], 2), 4)
    published = np.array([-0.0954, 0.5986, -0.0245, 0.6686])
    # test-llr_score.R compares with all.equal(tolerance = 1e-2): the book's -0.0954 has its
    # digits transposed (the weight is -0.0945); the other three agree to the last place
    assert np.mean(np.abs(got - published)) / np.mean(np.abs(published)) < 1e-2
    assert got[1:].tolist() == published[1:].tolist() and got[0] == -0.0945
    # test-racusum_scores.R: a survivor at Parsonnet 19, odds halved: 0.05083
    assert round(float(cusum_weights([_risk(19, -3.67)], [0], 0.5)[0]), 5) == 0.05083


def test_vlad_scores_match_steiner_2014_p234() -> None:
    # calceo() * -1 gives the observed-minus-expected scores -0.025, 0.975, -0.542, 0.458; the
    # VLAD adds expected minus observed
    risks = [_risk(s) for s in PARSONNET]
    chart = vlad(risks, STATUS)
    steps = np.round([p.expected - p.observed for p in chart.points], 3).tolist()
    assert steps == [0.025, -0.975, 0.542, -0.458]
    assert chart.lives_saved == pytest.approx(
        sum(r - y for r, y in zip(risks, STATUS, strict=True))
    )
    assert chart.to_records()[1]["lives_saved"] == pytest.approx(risks[0] + risks[1] - 1)


def test_the_path_climbs_on_events_and_resets_after_a_signal() -> None:
    risks = [0.1] * 12
    outcomes = [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0]
    chart = ra_cusum(risks, outcomes, threshold=2.0)
    w = cusum_weights(risks, outcomes)
    expected, value = [], 0.0
    for weight in w:
        value = max(0.0, value + weight)
        expected.append(value)
        if value >= 2.0:
            value = 0.0
    assert [p.value for p in chart.points] == pytest.approx(expected)
    assert chart.signals and all(chart.points[i].value >= 2.0 for i in chart.signals)
    kept = ra_cusum(risks, outcomes, threshold=2.0, reset=False)
    assert kept.points[-1].value > chart.points[-1].value
    assert chart.to_records()[0]["threshold"] == 2.0


def test_markov_chain_arl_agrees_with_simulation() -> None:
    # the case mix of test-racusum_arl_mc.R: risks 0.10, 0.12, 0.14 with frequencies 0.1, 0.5,
    # 0.4, here as a list of patients
    mix = [0.10] * 10 + [0.12] * 50 + [0.14] * 40
    h = 1.5
    arl = cusum_arl(h, risks=mix, scaling=400)
    rng = np.random.default_rng(0)
    runs, lengths = 4000, []
    values = np.zeros(runs)
    alive = np.ones(runs, dtype=bool)
    time = 0
    p_choice = np.array(mix)
    while alive.any():
        time += 1
        p = rng.choice(p_choice, size=runs)
        y = rng.random(runs) < p
        values = np.maximum(0, values + cusum_weights(p, y))
        hit = alive & (values >= h)
        lengths += [time] * int(hit.sum())
        alive &= ~hit
    assert arl == pytest.approx(np.mean(lengths), rel=0.05)
    # a true doubling of the odds is found sooner
    assert cusum_arl(h, risks=mix, true_odds_ratio=2, scaling=400) < arl / 3


def test_threshold_meets_its_false_alarm_rate() -> None:
    mix = [0.05, 0.1, 0.2, 0.3]
    h = cusum_threshold(0.05, 200, risks=mix)
    assert cusum_false_alarm(h, 200, risks=mix) <= 0.05
    assert cusum_false_alarm(h - 0.02, 200, risks=mix) > 0.05  # and no more than needed
    assert cusum_threshold(0.01, 200, risks=mix) > h  # fewer false alarms, higher threshold
    assert cusum_threshold(0.05, 400, risks=mix) > h  # a longer watch, higher threshold


def test_poisson_thresholds_for_monthly_counts() -> None:
    expected = [12.0, 15.0, 9.0, 20.0]
    h = cusum_threshold(0.05, 24, expected=expected)
    assert cusum_false_alarm(h, 24, expected=expected) <= 0.05
    assert cusum_arl(h, expected=expected) > 24
    doubled = poisson_cusum_weights([24, 30, 18, 40], expected)
    assert cusum_path(doubled, h).signals  # twice the expected deaths is found at once


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        cusum_weights([0.0], [1])
    with pytest.raises(ValueError, match="not 1"):
        cusum_weights([0.1], [1], 1)
    with pytest.raises(ValueError, match=r"risks \(patients\) or expected"):
        cusum_arl(1.0)
    with pytest.raises(ValueError, match="threshold must be greater than zero"):
        cusum_path([0.1], 0)
    with pytest.raises(ValueError, match="one observed value per expected"):
        vlad([0.1, 0.2], [1])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 0.9), min_size=1, max_size=30), st.sampled_from([2.0, 0.5]))
def test_outcomes_exactly_at_expectation_never_signal(risks: list[float], odds: float) -> None:
    """Data drawn exactly at expectation (each outcome its predicted risk) never signal with
    the threshold for a false-alarm rate of zero: every weight is at most 0 (log is concave),
    so the CUSUM never leaves 0, and nothing stays lost or saved on the VLAD."""
    h = cusum_threshold(0.0, len(risks), risks=risks, odds_ratio=odds, scaling=20)
    chart = ra_cusum(risks, risks, threshold=h, odds_ratio=odds)
    assert chart.signals == () and max(p.value for p in chart.points) == 0.0
    assert vlad(risks, risks).lives_saved == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.05, 0.5), min_size=1, max_size=20))
def test_a_zero_false_alarm_threshold_is_out_of_reach(risks: list[float]) -> None:
    """Even every patient having the event cannot reach the threshold for a rate of zero
    within the horizon."""
    h = cusum_threshold(0.0, len(risks), risks=risks, scaling=20)
    worst = ra_cusum(risks, [1] * len(risks), threshold=h)
    assert worst.signals == ()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.5, 200), min_size=1, max_size=24), st.sampled_from([2.0, 1.5]))
def test_periods_at_expectation_never_signal(expected: list[float], ratio: float) -> None:
    weights = poisson_cusum_weights(expected, expected, ratio)
    assert np.all(weights <= 0)  # E log R − (R − 1) E < 0 for R ≠ 1
    assert cusum_path(weights, 0.01).signals == ()
