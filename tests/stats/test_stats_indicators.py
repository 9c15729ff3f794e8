"""Indicator methods against PHEindicatormethods' published test values.

Every expected number is copied from the test workbooks of the R package PHEindicatormethods
(ukhsa-collaboration/PHEindicatormethods, tests/testthat/): testdata_Byars_Wilson.xlsx
(sheet testdata_B_W), testdata_Proportion.xlsx (testdata_Prop, testdata_Prop_g),
testdata_Rate.xlsx (testdata_Rate, testdata_Rate_g) and testdata_DSR_ISR.xlsx
(testdata_multiarea, testresults_DSR). They are given there to 15-17 significant figures;
we agree to 1e-9 relative.
"""

from __future__ import annotations

import pytest

from fivesafes.stats import (
    ESP2013,
    ESP2013_BANDS,
    byars_interval,
    dsr,
    exact_poisson_interval,
    proportion,
    rate,
    wilson_interval,
)

REL = 1e-9

# --- testdata_B_W ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "confidence", "lower", "upper"),
    [
        (65, 0.95, 50.163187710459454, 82.849138545939837),
        (1045, 0.95, 982.59320180733255, 1110.3312129856499),
        (1, 0.95, 1.3072132901504351e-2, 5.5637555824752605),
        (65, 99.8, 42.880261471480203, 94.000290844318016),
        (1045, 0.998, 947.94070356103737, 1148.8061609880331),
        (10, 99.8, 2.916318374695686, 24.193724927880535),
    ],
)
def test_byars(x: float, confidence: float, lower: float, upper: float) -> None:
    assert byars_interval(x, confidence) == pytest.approx((lower, upper), rel=REL)


@pytest.mark.parametrize(
    ("x", "n", "confidence", "lower", "upper"),
    [
        (65, 100, 0.95, 0.55254443296887967, 0.73635751756902468),
        (1045, 5000, 0.95, 0.19795549880013297, 0.22049130373189027),
        (0.445, 1, 0.95, 4.3817447720588223e-2, 0.93346212769791559),
        (65, 100, 99.8, 0.49549465740704313, 0.77835406140896968),
        (1045, 5000, 0.998, 0.19179381799015244, 0.22731562902525818),
        (0.445, 1, 99.8, 1.9347006132900975e-2, 0.97022599470195414),
    ],
)
def test_wilson(x: float, n: float, confidence: float, lower: float, upper: float) -> None:
    assert wilson_interval(x, n, confidence) == pytest.approx((lower, upper), rel=REL)


def test_wilson_at_100_percent_confidence_is_the_whole_range() -> None:
    # testWilson.R: confidence = 1 gives 0 and 1
    assert wilson_interval(65, 100, 1) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: byars_interval(-4), "greater than or equal to zero"),
        (lambda: byars_interval(65, 0.7), "between 90 and 100"),
        (lambda: byars_interval(65, 14), "between 90 and 100"),
        (lambda: byars_interval(65, 125), "between 90 and 100"),
        (lambda: wilson_interval(-4, 1), "greater than or equal to zero"),
        (lambda: wilson_interval(65, -6), "sample sizes must all be greater than zero"),
        (lambda: wilson_interval(80, 50), "less than or equal to denominator"),
    ],
)
def test_invalid_arguments_are_refused(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --- testdata_Prop: proportions and percentages, 95% and 99.8% ------------------------------

PROPORTIONS = [
    # numerator, denominator, l95, u95, l99.8, u99.8 (proportion of 1)
    (
        1,
        100,
        1.7674320641406511e-3,
        5.4486196178705294e-2,
        8.73065697299977e-4,
        0.10455445283705821,
    ),
    (5, 100, 2.154367915436798e-2, 0.11175046923191911, 1.3865320725997183e-2, 0.16458852282596442),
    (20, 100, 0.1333669333310325, 0.28882916559315885, 0.10519162066711432, 0.3471109417008601),
    (
        9856,
        12345,
        0.79121017529090687,
        0.80536400736149094,
        0.7869924108419063,
        0.80930614125896261,
    ),
    (
        7776456,
        7564336677,
        1.0273201001641094e-3,
        1.0287644578977231e-3,
        1.0269040118442213e-3,
        1.0291812992698397e-3,
    ),
    (
        222,
        3215,
        6.0791690363636595e-2,
        7.8339566813836331e-2,
        5.647101964624248e-2,
        8.4184141852701344e-2,
    ),
    (999, 3456, 0.27418951080009873, 0.30440389662818057, 0.26583995768074953, 0.31344754492799848),
]


@pytest.mark.parametrize(("x", "n", "l95", "u95", "l998", "u998"), PROPORTIONS)
def test_proportion(x: float, n: float, l95: float, u95: float, l998: float, u998: float) -> None:
    result = proportion(x, n, confidence=(0.95, 0.998))
    assert result.value == pytest.approx(x / n)
    assert (result.lower, result.upper) == pytest.approx((l95, u95), rel=REL)
    ci = result.interval(99.8)
    assert (ci.lower, ci.upper) == pytest.approx((l998, u998), rel=REL)
    assert result.method == "Wilson" and result.statistic == "proportion of 1"


def test_percentage_and_record_names() -> None:
    # testdata_Prop rows 9-16 (multiplier 100), Area2: 5 / 100
    record = proportion(5, 100, multiplier=100, confidence=[0.95, 0.998]).to_record()
    assert record["value"] == pytest.approx(5)
    assert record["lower95_0cl"] == pytest.approx(2.1543679154367981, rel=REL)
    assert record["upper99_8cl"] == pytest.approx(16.458852282596443, rel=REL)
    assert record["statistic"] == "percentage" and record["confidence"] == "95%, 99.8%"


def test_grouped_proportion_rows() -> None:
    # testdata_Prop_g: Area8 aggregated 1998 / 6912
    result = proportion(1998, 6912)
    assert (result.lower, result.upper) == pytest.approx(
        (0.27849494363237037, 0.29986439017207411), rel=REL
    )


# --- testdata_Rate: crude rates per 100,000 -------------------------------------------------

RATES = [
    # numerator, denominator, l95, u95, l99.8, u99.8, method
    (
        1,
        100,
        25.317807984289896,
        5571.6433909388979,
        1.0005003335835343,
        9233.4134764515857,
        "Exact",
    ),
    (
        5,
        100,
        1623.4863901184199,
        11668.332079322669,
        739.37173191783893,
        16454.745203680104,
        "Exact",
    ),
    (
        20,
        100,
        12211.428834875936,
        30889.880369197064,
        8922.8023651441927,
        38085.035625041914,
        "Byars",
    ),
    (
        65,
        100,
        50163.187710459453,
        82849.138545939844,
        42880.261471480204,
        94000.290844318006,
        "Byars",
    ),
    (
        9856,
        12345,
        78269.490589767578,
        81430.016542721409,
        77375.905432710526,
        82354.472770954308,
        "Byars",
    ),
    (
        7776456,
        7564336677,
        102.73196005302074,
        102.87648334092832,
        102.690317308454,
        102.91817639509068,
        "Byars",
    ),
    (
        222,
        3215,
        6026.5748776526743,
        7875.7293708718507,
        5560.7376952598534,
        8461.0466817334109,
        "Byars",
    ),
    (
        250,
        220,
        99984.947385328764,
        128631.14487455782,
        92710.005544389525,
        137651.23772147458,
        "Byars",
    ),
]


@pytest.mark.parametrize(("x", "n", "l95", "u95", "l998", "u998", "method"), RATES)
def test_rate(
    x: float, n: float, l95: float, u95: float, l998: float, u998: float, method: str
) -> None:
    result = rate(x, n, confidence=(95, 99.8))
    assert result.value == pytest.approx(x / n * 100_000)
    assert (result.lower, result.upper) == pytest.approx((l95, u95), rel=REL)
    ci = result.interval(0.998)
    assert (ci.lower, ci.upper) == pytest.approx((l998, u998), rel=REL)
    assert result.method == method


def test_ten_events_use_byars() -> None:
    # testdata_Rate_g Area2: 10 / 200 per 100,000 -> Byars
    result = rate(10, 200)
    assert result.method == "Byars"
    assert (result.lower, result.upper) == pytest.approx(
        (2393.7249569837822, 9195.7293028782369), rel=REL
    )


def test_exact_poisson_at_zero_events() -> None:
    lower, upper = exact_poisson_interval(0)
    assert lower == 0.0 and upper == pytest.approx(3.6888794541139363, rel=REL)  # -ln(0.025)


def test_rate_refuses_bad_denominators() -> None:
    with pytest.raises(ValueError, match="denominators must be greater than zero"):
        rate(65, 0)


# --- testdata_multiarea / testresults_DSR: full 19-band DSRs with ESP2013 -------------------

POPULATION = [636, 558, 609, 543, 384, 594, 669, 843, 660, 576, 606, 522, 426, 273, 300, 288, 153,
              123, 207]  # fmt: skip
BIG = [127, 25, 18, 21, 12, 27, 48, 27, 29, 32, 32, 34, 45, 65, 38, 68, 74, 82, 91]
SMALL = [12, 4, 3, 2, 3, 4, 8, 2, 2, 3, 4, 5, 6, 8, 5, 6, 5, 5, 4]
TINY = [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 2, 3]


def test_esp2013_has_19_bands_summing_to_100000() -> None:
    assert len(ESP2013) == len(ESP2013_BANDS) == 19 and sum(ESP2013) == 100_000
    assert ESP2013_BANDS[0] == "0-4" and ESP2013_BANDS[-1] == "90+"


@pytest.mark.parametrize(
    ("counts", "value", "l95", "u95", "l998", "u998"),
    [
        (BIG, 10430.247991469423, 9717.709067985681, 11178.94091547925, 9323.2878802199029,
         11620.595999522058),
        (SMALL, 1103.212025300104, 877.455767536709, 1367.0882227251795, 763.64203579398793,
         1530.0328948244762),
    ],
)  # fmt: skip
def test_dsr_with_dobson_limits(
    counts: list[int], value: float, l95: float, u95: float, l998: float, u998: float
) -> None:
    result = dsr(counts, POPULATION, confidence=(0.95, 0.998))
    assert result.value == pytest.approx(value, rel=REL)
    assert (result.lower, result.upper) == pytest.approx((l95, u95), rel=REL)
    ci = result.interval(0.998)
    assert (ci.lower, ci.upper) == pytest.approx((l998, u998), rel=REL)
    assert result.numerator == sum(counts) and result.denominator == 8970


def test_dsr_per_10000() -> None:
    result = dsr(BIG, POPULATION, multiplier=10_000)
    assert (result.value, result.lower, result.upper) == pytest.approx(
        (1043.0247991469423, 971.77090679856803, 1117.894091547925), rel=REL
    )
    assert result.statistic == "dsr per 10000"


def test_dsr_is_blank_with_a_reason_under_10_events() -> None:
    result = dsr(TINY, POPULATION)
    assert result.numerator == 9
    assert result.value is None and result.lower is None and result.upper is None
    assert result.note == "dsr NA for total count < 10"


def test_dsr_with_a_user_standard_population() -> None:
    # testdata_1976: 18 bands with the 1976 European standard, per 100,000
    esp1976 = [8000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 7000, 6000, 5000, 4000,
               3000, 2000, 1000, 1000]  # fmt: skip
    counts = [*BIG[:17], 82]
    result = dsr(counts, POPULATION[:18], esp1976)
    assert (result.value, result.lower, result.upper) == pytest.approx(
        (8592.0975850223658, 7991.160931442103, 9225.2538803183179), rel=REL
    )


def test_dsr_refuses_mismatched_bands() -> None:
    with pytest.raises(ValueError, match="one value per age band"):
        dsr(BIG[:18], POPULATION)
    with pytest.raises(ValueError, match="populations"):
        dsr(BIG, [0] * 19)


def test_esp2013_collapses_to_broader_bands() -> None:
    # Eurostat (2013) Revision of the European Standard Population: under 65 is 80,500 of
    # 100,000, 65 and over 19,500; every broader banding still adds to 100,000
    from fivesafes.stats.indicators import esp2013_weights

    assert esp2013_weights(["0-64", "65+"]) == (80_500, 19_500)
    assert sum(esp2013_weights(["0-19", "20-39", "40-64", "65-79", "80+"])) == 100_000
    assert esp2013_weights([f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]) == ESP2013
    for bad in ("0-63", "65-", "teen", "3-9"):
        with pytest.raises(ValueError, match="age band"):
            esp2013_weights([bad])
