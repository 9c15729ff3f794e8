"""Funnel limits against PHEindicatormethods' published funnel tables.

Expected values come from tests/testthat/testdata_funnel_prop_outputs.csv (proportions, as
percentages around the published baseline 80.642448%) and testdata_funnel_rate_outputs.csv
(rates per 100,000 around 116.1720835, three years of data) of
ukhsa-collaboration/PHEindicatormethods. Those tables are printed to 6-10 significant figures
and the rate table comes from a bisection stopped at 1e-7, hence the tolerances.
"""

from __future__ import annotations

import pytest

from fivesafes.stats import (
    proportion_funnel,
    proportion_funnel_limits,
    rate_funnel,
    rate_funnel_limits,
)
from fivesafes.stats.funnel import winsorised_phi

BASELINE_PROP = 0.80642448


@pytest.mark.parametrize(
    ("n", "l2", "u2", "l3", "u3"),
    [
        (1, 3.204264, 100, 0, 100),
        (10, 56.154344, 100, 42.03259, 100),
        (75, 71.700657, 89.584239, 66.544121, 94.740774),
        (1699, 78.763743, 82.521152, 77.680336, 83.60456),
        (110000, 80.408963, 80.875933, 80.274317, 81.010578),
    ],
)
def test_proportion_funnel_limits(n: float, l2: float, u2: float, l3: float, u3: float) -> None:
    got2 = [v * 100 for v in proportion_funnel_limits(n, BASELINE_PROP, 0.95)]
    got3 = [v * 100 for v in proportion_funnel_limits(n, BASELINE_PROP, 0.998)]
    assert got2 == pytest.approx([l2, u2], abs=2e-6)
    assert got3 == pytest.approx([l3, u3], abs=2e-6)


BASELINE_RATE = 116.1720835 / 100_000
YEARS = 3


@pytest.mark.parametrize(
    ("pop_l2", "l2", "pop_u2", "u2", "pop_l3", "l3", "pop_u3", "u3"),
    [
        # Events = 1, 55 and 1360 rows; populations are per year of data
        (1598.675694, 20.85059119, 7.264481402, 4588.535848, 2649.348525, 12.58170943,
         0.287087625, 116108.569),
        (20541.38426, 89.25071993, 11888.54874, 154.2100196, 23527.63198, 77.92256078,
         10012.3603, 183.1070076),
        (411529.9259, 110.158048, 369759.5622, 122.6021934, 424043.2424, 106.9073359,
         358342.3275, 126.5084525),
    ],
)  # fmt: skip
def test_rate_funnel_limits(
    pop_l2: float, l2: float, pop_u2: float, u2: float,
    pop_l3: float, l3: float, pop_u3: float, u3: float,
) -> None:  # fmt: skip
    def at(pop: float, level: float, side: int) -> float:
        return rate_funnel_limits(pop * YEARS, BASELINE_RATE, level)[side] * 100_000

    assert at(pop_l2, 0.95, 0) == pytest.approx(l2, rel=1e-5)
    assert at(pop_u2, 0.95, 1) == pytest.approx(u2, rel=1e-5)
    assert at(pop_l3, 0.998, 0) == pytest.approx(l3, rel=1e-5)
    assert at(pop_u3, 0.998, 1) == pytest.approx(u3, rel=1e-5)


def test_organisations_are_placed_against_the_funnel() -> None:
    result = proportion_funnel([50, 520, 600, 400], [100, 1000, 1000, 800], ["a", "b", "c", "d"])
    assert result.baseline == pytest.approx(1570 / 2900 * 100)
    significance = {o.label: o.significance for o in result.organisations}
    assert significance["c"] == "High (0.001)"
    assert significance["a"] == "Not significant"
    for o in result.organisations:
        lo2, hi2 = proportion_funnel_limits(o.denominator, 1570 / 2900, 0.95)
        inside = lo2 * 100 <= o.value <= hi2 * 100
        assert inside == (o.significance == "Not significant")
    assert len(result.limits) == 100 and result.phi == 1.0


def test_overdispersion_widens_limits_only_when_phi_exceeds_one() -> None:
    num = [120, 80, 150, 60, 200, 90, 130, 70, 160, 110]
    den = [1000] * 10
    plain = proportion_funnel(num, den)
    wide = proportion_funnel(num, den, overdispersion=True)
    assert wide.phi > 1 and wide.overdispersion
    assert wide.limits[-1].upper_3s > plain.limits[-1].upper_3s
    flagged = sum(o.significance != "Not significant" for o in wide.organisations)
    assert flagged < sum(o.significance != "Not significant" for o in plain.organisations)
    calm = proportion_funnel([100, 101, 99, 100], [1000] * 4, overdispersion=True)
    assert calm.phi < 1 and not calm.overdispersion


def test_winsorised_phi_pulls_in_the_tails() -> None:
    z = [0.0] * 9 + [100.0]
    assert winsorised_phi(z) == 0.0  # the one extreme of ten is pulled in to 0
    assert winsorised_phi([1.0, -1.0, 1.0, -1.0]) == 1.0


def test_rate_funnel() -> None:
    result = rate_funnel([12, 40, 95, 30], [10_000, 40_000, 50_000, 30_000])
    assert result.baseline == pytest.approx(177 / 130_000 * 100_000)
    by_value = sorted(result.organisations, key=lambda o: o.value)
    assert by_value[-1].significance.startswith("High")
    assert result.limits[0].lower_3s <= result.limits[0].lower_2s <= result.baseline


def test_funnel_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        proportion_funnel([5], [10])
    with pytest.raises(ValueError):
        proportion_funnel([50, 20], [10, 100])
