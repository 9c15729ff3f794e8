"""The slope and relative indices of inequality against PHEindicatormethods' published tests.

``data/phe_sii_testdata.csv`` is the sheet ``testdata_SII`` of PHEindicatormethods'
``tests/testthat/testdata_SII.xlsx`` (ukhsa-collaboration/PHEindicatormethods), transcribed
column for column; each case below is one ``expect_equal`` of its ``tests/testthat/testSII.R``,
with the same arguments. The SII and RII are a regression and must agree to 1e-9; their limits
are simulated, so (as in ``testSII.R``, ``tolerance = 0.05``) each column of limits must agree
to 5% in R's ``all.equal`` sense: the mean absolute difference over the mean absolute value.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.stats.inequality import cumulative_midpoints, sii

DATA = Path(__file__).parent / "data" / "phe_sii_testdata.csv"
TOLERANCE = 0.05
NO_REPS = 10_000
"""testSII.R's no_reps: fewer draws than the default, for speed, as there."""


def _rows() -> dict[int, dict[str, Any]]:
    """Each record by number; a blank numeric cell (a value the workbook leaves out) is NaN."""
    text = ("TestDescription", "Area")
    with DATA.open(newline="") as f:
        return {
            int(r["RecordNo"]): {k: v if k in text else float(v or "nan") for k, v in r.items()}
            for r in csv.DictReader(f)
        }


ROWS = _rows()
COLUMNS = {"se": "StandardError", "lower": "LowerCL", "upper": "UpperCL", "counts": "Count"}


def _run(first: int, quantiles: int, **options: Any) -> Any:
    block = [ROWS[i] for i in range(first, first + quantiles)]
    given_as = options.pop("given", ("se",))
    options.setdefault("repetitions", NO_REPS)
    column = {name: [r[COLUMNS[name]] for r in block] for name in given_as}
    return sii(
        None if "counts" in column else [r["Value"] for r in block],
        [r["Population"] for r in block],
        counts=column.get("counts"),
        standard_errors=column.get("se"),
        lower_cl=column.get("lower"),
        upper_cl=column.get("upper"),
        **options,
    )


def _all_equal(ours: list[float], theirs: list[float]) -> float:
    """R's all.equal(): mean absolute difference relative to the mean absolute target."""
    return float(np.mean(np.abs(np.subtract(ours, theirs))) / np.mean(np.abs(theirs)))


# (first record of each of the two areas, quantiles per area, phe_sii() arguments, which of the
# expected limit sets to compare: 1 = the first confidence level, 2 = the second)
CASES = [
    ("default with SE provided", (1, 11), 10, {}, (1,)),
    ("default with CLs provided", (1, 11), 10, {"given": ("lower", "upper")}, (1,)),
    ("default with intercept", (246, 256), 10, {"given": ("lower", "upper")}, (1,)),
    ("99% confidence (decimal)", (21, 31), 10, {"given": ("lower", "upper"), "confidence": 0.99},
     (1,)),
    ("99% confidence (%)", (21, 31), 10, {"confidence": 99}, (1,)),
    ("95 and 99% confidence", (226, 236), 10, {"confidence": (95, 99)}, (1, 2)),
    ("100,000 repetitions", (41, 51), 10, {"repetitions": 100_000}, (1,)),
    ("quintiles", (61, 66), 5, {}, ()),
    ("rate with SE provided", (71, 81), 10, {"value_type": "rate"}, (1,)),
    ("rate with CLs provided", (71, 81), 10, {"value_type": "rate", "given": ("lower", "upper")},
     (1,)),
    ("rate with intercept", (266, 276), 10,
     {"value_type": "rate", "given": ("lower", "upper")}, (1,)),
    ("rate with transformation", (306, 316), 10,
     {"value_type": "rate", "given": ("lower", "upper"), "transform": True}, (1,)),
    ("rate with transformation and negative multiplier", (386, 396), 10,
     {"value_type": "rate", "given": ("lower", "upper"), "transform": True, "multiplier": -1},
     (1,)),
    ("rate with transformation and 98% cis", (406, 416), 10,
     {"value_type": "rate", "given": ("lower", "upper"), "transform": True, "confidence": 98},
     (1,)),
    ("rate with transformation and multiple cis", (366, 376), 10,
     {"value_type": "rate", "given": ("lower", "upper"), "transform": True,
      "confidence": (95, 98)}, (1, 2)),
    ("rate with transformation without rii", (426, 436), 10,
     {"value_type": "rate", "given": ("lower", "upper"), "transform": True}, (1,)),
    ("proportion with SE provided", (91, 101), 10, {"value_type": "proportion"}, (1,)),
    ("proportion with CLs provided", (91, 101), 10,
     {"value_type": "proportion", "given": ("lower", "upper")}, (1,)),
    ("proportion with count provided", (91, 101), 10,
     {"value_type": "proportion", "given": ("counts", "lower", "upper")}, (1,)),
    # testSII.R runs this one with value_type = 1 on records 91:110
    ("proportion with intercept", (286, 296), 10,
     {"value_type": "rate", "given": ("lower", "upper")}, (1,)),
    ("proportion with positive multiplier and RII", (111, 121), 10,
     {"value_type": "proportion", "given": ("lower", "upper"), "multiplier": 100}, (1,)),
    ("proportion with negative multiplier and RII", (131, 141), 10,
     {"value_type": "proportion", "given": ("lower", "upper"), "multiplier": -100}, (1,)),
    ("proportion with transformation", (326, 336), 10,
     {"value_type": "proportion", "given": ("lower", "upper"), "transform": True}, (1,)),
    ("proportion with transformation and negative multiplier", (346, 356), 10,
     {"value_type": "proportion", "given": ("lower", "upper"), "transform": True,
      "multiplier": -1}, (1,)),
    ("proportion with transformation and 98% cis", (466, 476), 10,
     {"value_type": "proportion", "given": ("lower", "upper"), "transform": True,
      "confidence": 98}, (1,)),
    ("proportion with transformation and 95% and 98% cis", (486, 496), 10,
     {"value_type": "proportion", "given": ("lower", "upper"), "transform": True,
      "confidence": (95, 98)}, (1, 2)),
    ("proportion with transformation and no rii", (446, 456), 10,
     {"value_type": "proportion", "given": ("lower", "upper"), "transform": True}, (1,)),
]  # fmt: skip
# the records the "with intercept" expectations are read from, when the data come from others
DATA_FROM = {246: 1, 256: 11, 266: 71, 276: 81, 286: 91, 296: 101}


@pytest.mark.parametrize(
    ("expected_at", "quantiles", "options", "levels"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_sii_matches_phe_sii(
    expected_at: tuple[int, int], quantiles: int, options: dict[str, Any], levels: tuple[int, ...]
) -> None:
    results = [
        _run(DATA_FROM.get(first, first), quantiles, **dict(options)) for first in expected_at
    ]
    expected = [ROWS[first] for first in expected_at]
    for got, want in zip(results, expected, strict=True):
        assert got.sii == pytest.approx(want["sii"], rel=1e-9)
        if not math.isnan(want["rii"]):
            assert got.rii == pytest.approx(want["rii"], rel=1e-9)
        if not math.isnan(want["Intercept"]):
            assert got.intercept == pytest.approx(want["Intercept"], rel=1e-9)
    for level in levels:
        for ours, theirs in (
            ("sii_lower", f"sii_lowercl_{level}"),
            ("sii_upper", f"sii_uppercl_{level}"),
            ("rii_lower", f"rii_lowercl_{level}"),
            ("rii_upper", f"rii_uppercl_{level}"),
        ):
            if math.isnan(expected[0][theirs]):
                continue  # this case has no RII limits in the workbook
            got_column = [getattr(r.intervals[level - 1], ours) for r in results]
            assert _all_equal(got_column, [w[theirs] for w in expected]) < TOLERANCE, ours


def test_results_are_reproducible_and_records_use_phe_names() -> None:
    a, b = _run(1, 10), _run(1, 10)
    assert a == b
    other = _run(1, 10, seed=7)
    assert other.sii == a.sii and other.sii_lower != a.sii_lower
    record = _run(1, 10, confidence=(95, 99)).to_record()
    assert list(record)[:6] == [
        "sii",
        "rii",
        "sii_lower95_0cl",
        "sii_upper95_0cl",
        "rii_lower95_0cl",
        "rii_upper95_0cl",
    ]
    assert "sii_lower99_0cl" in record and record["CI_method"] == "simulation 10000 reps"
    assert (
        _run(306, 10, value_type="rate", given=("lower", "upper"), transform=True).to_record()[
            "transform"
        ]
        == "log"
    )


@pytest.mark.parametrize(
    ("first", "options", "message"),
    [
        (151, {}, "population greater than zero"),  # error handling - negative populations
        (161, {}, "standard error of zero or more"),  # negative counts/standard error
        (171, {"value_type": "proportion", "given": ("lower", "upper")}, "between 0 and 1"),
        (191, {"given": ("lower", "upper")}, "confidence limit"),  # missing CLs and se
        (1, {"repetitions": 999}, "1000 or more"),
        (1, {"transform": True, "given": ("lower", "upper")}, "rates and proportions"),
        (71, {"transform": True, "value_type": "rate"}, "rather than standard errors"),
    ],
)
def test_bad_input_is_refused_like_phe_sii(
    first: int, options: dict[str, Any], message: str
) -> None:
    # testSII.R "error handling" blocks (records 151-200), and phe_sii()'s argument checks
    with pytest.raises(ValueError, match=message):
        _run(first, 10, **options)


def test_missing_values_and_quantile_counts_are_refused() -> None:
    # record 181 has no Value column: "function phe_sii requires value field"
    with pytest.raises(ValueError, match="give values"):
        sii(None, [ROWS[i]["Population"] for i in range(181, 191)], standard_errors=[1] * 10)
    with pytest.raises(ValueError, match="between 5 and 100 quantiles"):
        sii([1, 2, 3, 4], [10, 10, 10, 10], standard_errors=[1] * 4)


def test_midpoints_of_cumulative_population() -> None:
    # utils.R FindXValues: prop/2, then prop/2 + the previous cumulative proportion
    assert cumulative_midpoints([1, 1, 2]).tolist() == [0.125, 0.375, 0.75]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(100, 100_000), min_size=5, max_size=12),
    st.floats(-5, 5),
    st.floats(50, 100),
)
def test_a_straight_line_has_its_own_slope_as_sii(
    populations: list[int], slope: float, intercept: float
) -> None:
    """Values exactly on a line in the cumulative-population position give that line back."""
    x = cumulative_midpoints(populations)
    result = sii(intercept + slope * x, populations, standard_errors=[0.0] * len(x),
                 repetitions=1000)  # fmt: skip
    assert result.sii == pytest.approx(slope, abs=1e-9)
    assert result.rii == pytest.approx((intercept + slope) / intercept, rel=1e-9)
    assert result.sii_lower == pytest.approx(slope, abs=1e-9)  # no spread, no interval
    assert math.isclose(result.intercept, intercept, rel_tol=1e-9)
