"""Rules configuration, rounding, suppression, dominance, summaries and differencing examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from fivesafes.disclosure import (
    Dimension,
    FrequencyTable,
    MemoryReleaseHistory,
    check_frequency,
    check_table,
    load_profiles,
    profile,
    safe,
)
from fivesafes.disclosure.magnitude import contributions
from fivesafes.disclosure.summaries import check_model
from fivesafes.disclosure.suppression import primary_mask, round_counts, secondary_mask
from fivesafes.disclosure.tables import Published


def test_profiles_carry_thresholds_and_sources():
    ons, osafely = profile("ons"), profile("opensafely")
    assert ons.threshold == 10 and ons.secondary_suppression and ons.totals == "true"
    assert "ONS" in ons.source("threshold")
    # OpenSAFELY: counts of 7 or fewer redacted, rounded to 5, totals from rounded values
    assert osafely.threshold == 8 and osafely.rounding == "nearest"
    assert osafely.rounding_base == 5 and osafely.totals == "recompute"
    assert "OpenSAFELY" in osafely.source("rounding")
    assert profile("opensafely-midpoint6").rounding == "midpoint6"


def test_a_profile_with_an_unknown_setting_is_refused(tmp_path: Path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[profiles.x]\nthreshold = 5\nthreshhold = 5\n")
    with pytest.raises(ValueError, match="unknown settings threshhold"):
        load_profiles(rules)


def test_profiles_that_extend_each_other_in_a_loop_are_refused(tmp_path: Path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[profiles.a]\nextends = "b"\n[profiles.b]\nextends = "a"\n')
    with pytest.raises(ValueError, match="loop"):
        load_profiles(rules)


def test_midpoint_6_rounding_keeps_zero_and_shows_band_midpoints():
    # OpenSAFELY midpoint 6 rounding: 0 stays 0; 1-6 -> 3; 7-12 -> 9; 13-18 -> 15
    values = np.array([0, 1, 6, 7, 12, 13, 18])
    assert round_counts(values, profile("opensafely-midpoint6")).tolist() == [
        0,
        3,
        3,
        9,
        9,
        15,
        15,
    ]


def test_rounding_to_nearest_5_rounds_halves_up():
    values = np.array([0, 2, 3, 7, 8, 12, 13])
    assert round_counts(values, profile("opensafely")).tolist() == [0, 0, 5, 5, 10, 10, 15]


def every(counts: np.ndarray) -> Published:
    return Published.every(counts.shape, True, True)


def test_a_lone_small_cell_gets_the_smallest_complements():
    counts = np.array([[3, 20, 30], [25, 40, 50], [60, 70, 80]])
    hidden = secondary_mask(counts, primary_mask(counts, profile()), every(counts))
    assert np.argwhere(hidden).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_two_hidden_blocks_joined_by_one_cell_are_broken_up():
    # Each hidden row and column has two hidden cells, yet the cell joining the blocks
    # would be fixed by the totals; the audit must hide more.
    counts = np.array([[3, 40, 90, 90], [40, 40, 90, 90], [90, 90, 90, 90], [90, 90, 90, 4]])
    primary = primary_mask(counts, profile())
    hidden = secondary_mask(counts, primary, every(counts))
    from fivesafes.disclosure.suppression import exposed

    assert not exposed(counts, hidden, primary, every(counts)).any()


def test_one_way_table_hides_a_second_cell_against_its_total():
    table = FrequencyTable(Dimension("band", ("a", "b", "c")), None, np.array([[4], [30], [50]]))
    report, record = check_frequency(table, profile("ons"))
    assert record.hidden[:, 0].tolist() == [True, True, False]
    assert report.safe is not None and report.safe.column_totals.tolist() == [84]


def test_a_small_row_total_blocks_release():
    table = FrequencyTable(
        Dimension("band", ("a", "b")), Dimension("sex", ("F", "M")), np.array([[3, 4], [50, 60]])
    )
    report, _ = check_frequency(table, profile("ons"))
    failed = {r.rule for r in report.results if not r.passed}
    assert "small_totals" in failed and not report.releasable


def test_opensafely_recomputes_totals_from_rounded_published_cells():
    table = FrequencyTable(
        Dimension("band", ("a", "b")), Dimension("sex", ("F", "M")), np.array([[7, 23], [51, 62]])
    )
    report, _ = check_frequency(table, profile("opensafely"))
    safe = report.safe
    assert np.isnan(safe.values[0, 0])
    assert safe.values[~safe.hidden].tolist() == [25, 50, 60]
    assert safe.row_totals.tolist() == [25, 110]
    assert safe.column_totals.tolist() == [50, 85]


def _table(bands: tuple[str, ...], counts: list[list[int]]) -> FrequencyTable:
    return FrequencyTable(
        Dimension("age_band", bands), Dimension("sex", ("F", "M")), np.array(counts)
    )


def test_overlapping_age_bands_are_caught():
    history = MemoryReleaseHistory()
    first = _table(("0-17", "18-64", "65+"), [[30, 25], [300, 280], [120, 100]])
    _, record = check_frequency(first, profile("ons"), "first", history)
    history.record(record)
    second = _table(("0-15", "16-64", "65+"), [[27, 24], [303, 281], [120, 100]])
    report, _ = check_frequency(second, profile("ons"), "second", history)
    result = next(r for r in report.results if r.rule == "differencing")
    assert not result.passed and not report.releasable
    assert any("16-17" in cell for cell in result.cells)


def test_nested_populations_a_few_people_apart_are_caught():
    history = MemoryReleaseHistory()
    everyone = _table(("0-17", "18+"), [[30, 25], [300, 280]])
    _, record = check_frequency(everyone, profile("ons"), "everyone", history)
    history.record(record)
    minus_three = _table(("0-17", "18+"), [[30, 25], [297, 280]])
    report, _ = check_frequency(minus_three, profile("ons"), "registered a year", history)
    result = next(r for r in report.results if r.rule == "differencing")
    assert not result.passed
    assert any("inside" in cell for cell in result.cells)


def test_the_same_table_released_again_is_not_a_differencing_risk():
    history = MemoryReleaseHistory()
    table = _table(("0-17", "18+"), [[30, 25], [300, 280]])
    _, record = check_frequency(table, profile("ons"), "first", history)
    history.record(record)
    report, _ = check_frequency(table, profile("ons"), "again", history)
    assert report.passed


def failed(report) -> dict[str, tuple[str, ...]]:
    return {r.rule: r.cells for r in report.results if not r.passed}


def test_dominance_rules_on_contributors():
    # One cell: contributions 100, 5, 1 per record. p% (p=10): rest 1 < 10% of 100 -> unsafe;
    # n,k (2, 90%): 105 of 106 > 90% -> unsafe. Other cell: 12 equal contributions -> safe.
    records = pa.table(
        {
            "trust": ["A"] * 3 + ["B"] * 12,
            "cost": [100.0, 5.0, 1.0] + [10.0] * 12,
        }
    )
    report = safe.total(records, "cost", "trust").report
    assert failed(report) == {
        "p_percent": ("trust=A: cost_sum",),
        "nk_dominance": ("trust=A: cost_sum",),
        "small_group_statistics": ("trust=A: cost_sum",),
    }
    assert report.releasable  # hiding A's sum fixes it: no total is published beside it
    assert report.safe.hidden[:, 0].tolist() == [True, False]


def test_a_contributor_is_summed_before_dominance_is_judged():
    records = pa.table({"g": ["x"] * 12, "who": ["p1"] * 11 + ["p2"], "v": [10.0] * 12})
    kept = contributions(records, ["g"], "v", "v_sum", contributor="who").to_pylist()
    assert [(r["contributors"], r["largest_1"], r["largest_2"]) for r in kept] == [(2, 110, 10)]


def test_extremes_of_small_groups_are_hidden():
    data = pa.table({"practice": ["A", "B"], "n": [4, 50], "median": [3.1, 2.2], "max": [9, 12]})
    report = check_table(data, profile())
    fired = failed(report)
    assert fired["extremes"] == ("practice=A: median", "practice=A: max")
    assert report.safe.hidden[0].tolist() == [True, True, True]  # n, median and max of A
    assert report.safe.hidden[1].tolist() == [True, False, False]  # B's n protects A's only


def test_a_statistic_over_fewer_than_the_threshold_never_leaves():
    """17(b): with n = 2 hidden, the mean of those two people must not be published."""
    data = pa.table({"team": ["A", "B"], "n": [2, 40], "mean_cost": [1200.5, 800.25]})
    report = check_table(data, profile())
    assert failed(report)["small_group_statistics"] == ("team=A: mean_cost",)
    assert report.safe.hidden[0].tolist() == [True, True]


def test_a_mean_without_its_contributions_is_not_releasable():
    """17(b): ``unit,mean_cost`` passed outright; now nothing says how many people each mean
    is over, nor whether one of them dominates it."""
    data = pa.table({"unit": ["A", "B"], "mean_cost": [1200.5, 800.25]})
    report = check_table(data, profile())
    assert "contributors_known" in failed(report) and not report.releasable
    with_n = pa.table({"unit": ["A", "B"], "n": [40, 50], "mean_cost": [1200.5, 800.25]})
    result = check_table(with_n, profile())
    assert failed(result) == {"contributors_known": ("mean_cost",)} and not result.releasable


def test_a_statistic_beside_a_hidden_count_is_hidden():
    """A rate beside its hidden numerator gives it back with the published denominator."""
    data = pa.table(
        {
            "region": ["N", "S", "E"],
            "cases": [4, 60, 55],
            "population": [400, 500, 450],
            "rate": [1.0, 12.0, 12.2],
        }
    )
    report = check_table(data, profile())
    fired = failed(report)
    assert fired["small_group_statistics"] == ("region=N: rate",)  # a rate of four cases
    # East's 55 cases are hidden to protect North's: its rate would give them back
    assert fired["statistics_beside_hidden_counts"] == ("region=E: rate",)
    assert np.isnan(report.safe.values[:, 2]).tolist() == [True, False, True]


def test_counts_are_told_by_their_values_not_their_names():
    """17(c): ``cases_by_group`` holds counts, whatever its name says; ``imd_quintile`` keys
    the rows because it comes first, not because of its name."""
    data = pa.table({"practice": ["A", "B", "C"], "cases_by_group": [3, 40, 50]})
    report = check_table(data, profile("ons"))
    assert failed(report)["small_numbers"] == ("practice=A",)
    quintiles = pa.table({"imd_quintile": [1, 2, 3], "with_asthma": [30, 40, 3]})
    assert failed(check_table(quintiles, profile("ons")))["small_numbers"] == ("imd_quintile=3",)
    keyed = pa.table({"year": [2023, 2023, 2024], "month": [1, 2, 1], "admissions": [30, 2, 50]})
    cells = failed(check_table(keyed, profile("ons")))["small_numbers"]
    assert cells == ("year & month=2023 / 2",) or cells == ("year=2023, month=2",)
    fractions = pa.table({"practice": ["A", "B"], "score": [0.25, 0.75], "n": [30, 40]})
    columns = check_table(fractions, profile("ons"))
    assert columns.kind == "summary statistics"  # a fraction is never a count


def test_a_model_needs_ten_residual_degrees_of_freedom():
    few = pa.table({"term": ["age"], "estimate": [0.3], "df_resid": [6]})
    enough = pa.table({"term": ["age"], "estimate": [0.3], "df_resid": [600]})
    assert not check_model(few, profile()).releasable
    assert check_model(enough, profile()).passed


def test_three_tables_together_can_expose_what_no_two_do():
    # People by age, sex and region; no young men at all. Released: age × sex (showing the
    # zero) and age × region. New: sex × region. Women in the north (17) minus the young in
    # the north (12, all women, since no young men) leaves 5 older northern women — which
    # takes all three tables.
    history = MemoryReleaseHistory()
    age, sex, region = (
        Dimension("age_band", ("0-17", "18+")),
        Dimension("sex", ("F", "M")),
        Dimension("region", ("north", "south")),
    )
    for rows, cols, counts in [
        (age, sex, [[25, 0], [35, 45]]),
        (age, region, [[12, 13], [30, 50]]),
    ]:
        report, record = check_frequency(
            FrequencyTable(rows, cols, np.array(counts)), profile("ons"), f"by {cols.name}"
        )
        assert report.passed
        history.record(record)
    new = FrequencyTable(sex, region, np.array([[17, 43], [25, 20]]))
    _, record = check_frequency(new, profile("ons"), "sex by region")
    from fivesafes.disclosure.differencing import check_against, check_history

    assert not [e for old in history.released() for e in check_against(record, old, 10)]
    exposures = check_history(record, history.released(), 10)
    assert [e.what for e in exposures] == ["the group sex F, region north, age_band 18+"]
    assert exposures[0].cells == ("sex=F, region=north",)
