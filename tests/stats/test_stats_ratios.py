"""Standardised ratios and their funnel, against published values.

* Indirectly standardised ratios and rates: PHEindicatormethods (ukhsa-collaboration/
  PHEindicatormethods) ``tests/testthat/testdata_DSR_ISR.xlsx``, sheets
  ``testdata_multiarea_isr`` (the three areas' counts and populations with the reference data)
  and ``testresults_ISR``, as ``testISRatios.R`` and ``testISRates.R`` compare them (with
  Byar's limits from 10 events: ``limits="phe"``).
* Exact Poisson funnel limits: FunnelPlotR (nhs-r-community/FunnelPlotR 0.5.0)
  ``tests/testthat/test-poisson_limits.R``.
* Over-dispersion (φ, τ² and the adjusted limits): FunnelPlotR 0.5.0's own functions
  (``R/od_adjustment.R``, ``R/calculate_limits.R``) run in R 4.2.2 on the six organisations of
  its ``test-funnel_plot.R`` and on twenty more (marked "R run"), printed to 17 digits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.stats.ratios import (
    dispersion,
    exact_ratio_limits,
    expected_count,
    ratio_funnel,
    standardised_rate,
    standardised_ratio,
)

# testdata_multiarea_isr: the reference data (refcount, refpop) and three areas' counts and
# populations by the 19 age bands (testdata_tiny has no row for 10-14)
REF_COUNT = [10303, 2824, 0, 3615, 3641, 3490, 3789, 3213, 3031, 2771, 3089, 3490, 3595, 4745,
             5514, 7125, 5694, 6210, 5757]  # fmt: skip
REF_POP = [50520, 57173, 60213, 54659, 44345, 50128, 62163, 67423, 62899, 55463, 60479, 49974,
           44140, 40888, 37239, 30819, 18136, 15325, 13918]  # fmt: skip
POP = [636, 558, 609, 543, 384, 594, 669, 843, 660, 576, 606, 522, 426, 273, 300, 288, 153, 123,
       207]  # fmt: skip
BIG = [127, 25, 18, 21, 12, 27, 48, 27, 29, 32, 32, 34, 45, 65, 38, 68, 74, 82, 91]
SMALL = [12, 4, 3, 2, 3, 4, 8, 2, 2, 3, 4, 5, 6, 8, 5, 6, 5, 5, 4]
TINY = [0, 0, math.nan, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 2, 3]
TINY_POP = [*POP[:2], math.nan, *POP[3:]]

# testresults_ISR: value, lower95_0cl, upper95_0cl, lower99_8cl, upper99_8cl, method
RATIOS = {
    "testdata_big": (895, 1.0707232939020275, 1.0017147712553987, 1.143233287249895,
                     0.9635155619614437, 1.1860070415876287, "Byars"),
    "testdata_small": (91, 0.10886683770400503, 0.08765040101829405, 0.1336657632841891,
                       0.07695425528392111, 0.14897920510466744, "Byars"),
    "testdata_tiny": (9, 0.010767049882813684, 0.004923380825095776, 0.02043921455549973,
                      0.0029339306550682617, 0.02710589651469021, "Exact"),
}  # fmt: skip
RATES_PER_100K = {
    "testdata_big": (10011.137622091057, 9365.91600297888, 10689.097582910616, 9008.7578618655,
                     11089.02718538338),
    "testdata_small": (1017.8922051511577, 819.521002506463, 1249.75926013832,
                       719.5132903528245, 1392.9381508991678),
    "testdata_tiny": (100.6706576523123, 46.03303513307893, 191.10426659054028,
                      27.43190862554234, 253.4369635219236),
}  # fmt: skip
EXPECTED = 835.8835612311743  # testresults_ISR, every area (they share one population)


def _flat(value: object) -> list[float]:
    v = value  # an IndicatorValue
    return [v.value, *(x for i in v.intervals for x in (i.lower, i.upper))]  # type: ignore[attr-defined]


def test_expected_count_matches_calculate_isratio() -> None:
    assert expected_count(POP, REF_COUNT, REF_POP) == pytest.approx(EXPECTED, rel=1e-12)
    assert expected_count(TINY_POP, REF_COUNT, REF_POP) == pytest.approx(EXPECTED, rel=1e-12)


@pytest.mark.parametrize("area", sorted(RATIOS))
@pytest.mark.parametrize("multiplier", [1, 100])
def test_isratio_matches_testresults_isr(area: str, multiplier: int) -> None:
    observed, *expected, method = RATIOS[area]
    got = standardised_ratio(observed, EXPECTED, multiplier=multiplier, limits="phe")
    assert _flat(got) == pytest.approx([v * multiplier for v in expected], rel=1e-9)
    assert got.method == method
    assert got.to_record()["lower99_8cl"] == pytest.approx(expected[3] * multiplier, rel=1e-9)


@pytest.mark.parametrize("area", sorted(RATES_PER_100K))
@pytest.mark.parametrize("multiplier", [100_000, 1000])
def test_israte_matches_testresults_isr(area: str, multiplier: int) -> None:
    counts = {"testdata_big": BIG, "testdata_small": SMALL, "testdata_tiny": TINY}[area]
    pops = TINY_POP if area == "testdata_tiny" else POP
    got = standardised_rate(
        float(np.nansum(counts)), pops, REF_COUNT, REF_POP, multiplier=multiplier, limits="phe"
    )
    scale = multiplier / 100_000
    assert _flat(got) == pytest.approx([v * scale for v in RATES_PER_100K[area]], rel=1e-9)


def test_exact_limits_are_the_default_and_differ_from_byars_above_ten() -> None:
    exact = standardised_ratio(895, EXPECTED)
    assert exact.method == "Exact"
    assert exact.lower != pytest.approx(RATIOS["testdata_big"][2], rel=1e-9)  # Byar is close
    # below 10 events both are exact, and equal
    assert _flat(standardised_ratio(9, EXPECTED)) == pytest.approx(
        list(RATIOS["testdata_tiny"][1:6]), rel=1e-9
    )
    # Garwood's exact 95% limits for 10 events are 4.7954 and 18.3904 (standard tables)
    ten = standardised_ratio(10, 10)
    assert (ten.lower * 10, ten.upper * 10) == pytest.approx((4.7954, 18.3904), abs=5e-5)


def test_exact_funnel_limits_match_funnelplotr() -> None:
    # test-poisson_limits.R: expected 15, 20 and 30, target 1
    got = [exact_ratio_limits(e, 0.95) + exact_ratio_limits(e, 0.998) for e in (15, 20, 30)]
    assert [round(g[0], 7) for g in got] == [0.5596924, 0.6108260, 0.6746958]
    assert [round(g[1], 6) for g in got] == [1.649348, 1.544419, 1.427562]
    assert [round(g[2], 7) for g in got] == [0.3862650, 0.4479107, 0.5289724]
    assert [round(g[3], 6) for g in got] == [2.082907, 1.902094, 1.702771]


SIX_O = [100, 150, 180, 80, 120, 225]  # test-funnel_plot.R's dt
SIX_E = [108, 112, 165, 95, 100, 220]
TWENTY_O = [52, 38, 110, 75, 61, 140, 33, 95, 88, 47, 120, 66, 29, 101, 84, 57, 73, 160, 44, 99]
TWENTY_E = [45.2, 40.1, 98.7, 80.3, 50.9, 121.4, 36.8, 90.2, 70.5, 52.6, 130.8, 60.1, 35.3, 88.9,
            86.4, 49.7, 70.0, 131.2, 50.5, 92.3]  # fmt: skip


@pytest.mark.parametrize(
    ("observed", "expected", "scale", "trim", "fraction", "phi", "tau2"),
    [
        # R run: SHMI (log scale, truncated 10%), CQC (square root, winsorised 10% and 5%)
        (SIX_O, SIX_E, "log", "truncate", 0.1, 2.9480331751023581, 0.019477530578021571),
        (SIX_O, SIX_E, "sqrt", "winsorise", 0.1, 2.3271782575941184, 0.0034397801541862717),
        (SIX_O, SIX_E, "sqrt", "winsorise", 0.05, 2.7467826115123586, 0.0044059759793200898),
        (TWENTY_O, TWENTY_E, "log", "truncate", 0.1, 0.78316487124593226, 0.0),
        (TWENTY_O, TWENTY_E, "sqrt", "winsorise", 0.1, 1.0199512931097623,
         0.00025055273985917135),
    ],
)  # fmt: skip
def test_dispersion_matches_funnelplotr(
    observed: list[float],
    expected: list[float],
    scale: str,
    trim: str,
    fraction: float,
    phi: float,
    tau2: float,
) -> None:
    funnel = ratio_funnel(observed, expected, scale=scale, trim=trim, fraction=fraction)  # type: ignore[arg-type]
    assert (funnel.phi, funnel.tau2) == pytest.approx((phi, tau2), rel=1e-12, abs=1e-18)


def test_first_z_scores_match_funnelplotr() -> None:
    # R run: Uzscore of the six organisations, SHMI: sqrt(E) * log(O / E)
    z = [o.z_score for o in ratio_funnel(SIX_O, SIX_E).organisations]
    assert z == pytest.approx(
        [-0.7998026007070359, 3.0916812945435668, 1.1176813744217049, -1.67498911236673,
         1.8232155679395459, 0.33332631914151145], rel=1e-12
    )  # fmt: skip


def test_additive_limits_match_funnelplotr_on_the_log_scale() -> None:
    # R run: SHMI, tau2 0.019477530578021571, odll95 / odul95 / odll998 / odul998 at
    # expected 10, 50, 100, 200
    funnel = ratio_funnel(SIX_O, SIX_E, adjustment="additive", trim="truncate")
    tau2 = funnel.tau2
    rows = []
    for e in (10, 50, 100, 200):
        spread = math.sqrt(1 / e + tau2)
        rows.append([math.exp(s * z * spread) for z in (1.959964, 3.090232) for s in (-1, 1)])
    assert [r[0] for r in rows] == pytest.approx(
        [0.5078994489695845, 0.67744674659838744, 0.7142611378167909, 0.7359138776943065]
    )
    assert [r[3] for r in rows] == pytest.approx(
        [2.9100050582685881, 1.8478018683283952, 1.6998884008372117, 1.6217015898541487]
    )
    # our limits use the exact normal quantiles, FunnelPlotR's 1.959964 and 3.090232
    ours = {round(lim.expected): lim for lim in funnel.limits}
    assert funnel.adjustment == "additive"
    for lim in funnel.limits:
        spread = math.sqrt(1 / lim.expected + tau2)
        assert lim.lower_2s == pytest.approx(math.exp(-1.959964 * spread), rel=1e-6)
        assert lim.upper_3s == pytest.approx(math.exp(3.090232 * spread), rel=1e-6)
    assert ours  # the grid spans the organisations


def test_square_root_limits_are_funnelplotrs_squared() -> None:
    # R run (CQC, winsorised 10%): FunnelPlotR draws 1 ± z·√(s² + τ²) at expected 10, 50,
    # 100, 200 - the limits of √ratio; the ratio's limits are their squares
    y_lower_95 = [0.66946975016588173, 0.81994148609553452, 0.84894563486530894,
                  0.8657778050223266]  # fmt: skip
    y_upper_998 = [1.5211397530798458, 1.2838942865991538, 1.2381640850948827,
                   1.2116251737431125]  # fmt: skip
    funnel = ratio_funnel(SIX_O, SIX_E, adjustment="additive", scale="sqrt", points=4)
    tau2 = funnel.tau2
    for e, lo, hi in zip((10, 50, 100, 200), y_lower_95, y_upper_998, strict=True):
        s = 1 / (2 * math.sqrt(e))
        assert 1 - 1.959964 * math.sqrt(s**2 + tau2) == pytest.approx(lo, rel=1e-9)
        assert 1 + 3.090232 * math.sqrt(s**2 + tau2) == pytest.approx(hi, rel=1e-9)


def test_multiplicative_adjustment_widens_by_root_phi() -> None:
    funnel = ratio_funnel(SIX_O, SIX_E, adjustment="multiplicative")
    plain = ratio_funnel(SIX_O, SIX_E)
    assert funnel.phi > 1
    # organisation b (150 vs 112) is beyond 99.8% unadjusted, within it once adjusted
    assert plain.organisations[1].significance == "High (0.001)"
    assert funnel.organisations[1].significance != "High (0.001)"
    z = plain.organisations[1].z_score
    assert funnel.organisations[1].z_score == pytest.approx(z / math.sqrt(funnel.phi))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ratio_funnel([1], [1])
    with pytest.raises(ValueError, match="greater than zero"):
        ratio_funnel([1, 0], [1, 1])
    with pytest.raises(ValueError, match="multiplicative or additive"):
        ratio_funnel(SIX_O, SIX_E, adjustment="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected events"):
        standardised_ratio(3, 0)
    with pytest.raises(ValueError, match="one value per age band"):
        expected_count([1, 2], [1], [1])


@settings(max_examples=80, deadline=None)
@given(st.floats(0.5, 1e6), st.sampled_from([1, 100]))
def test_a_ratio_is_one_when_observed_equals_expected(count: float, multiplier: int) -> None:
    got = standardised_ratio(count, count, multiplier=multiplier)
    assert got.value == pytest.approx(multiplier)
    assert got.lower is not None and got.upper is not None
    assert got.lower <= multiplier <= got.upper


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(5, 5000), min_size=3, max_size=30))
def test_organisations_exactly_at_expectation_are_not_over_dispersed(
    expected: list[float],
) -> None:
    """Every z-score 0: φ is 0, τ² is 0, and nobody is significant."""
    funnel = ratio_funnel(expected, expected, adjustment="additive")
    assert (funnel.phi, funnel.tau2) == (0.0, 0.0)
    assert {o.significance for o in funnel.organisations} == {"Not significant"}
    assert dispersion([0.0] * 5, [1.0] * 5) == (0.0, 0.0)
