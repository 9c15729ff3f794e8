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
    check_magnitude,
    load_profiles,
    magnitude_table,
    profile,
)
from fivesafes.disclosure.summaries import check_model, check_statistics
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


def test_dominance_rules_on_contributors():
    # One cell: contributions 100, 5, 1 per record. p% (p=10): rest 1 < 10% of 100 -> unsafe;
    # n,k (2, 90%): 105 of 106 > 90% -> unsafe. Other cell: 12 equal contributions -> safe.
    records = pa.table(
        {
            "trust": ["A"] * 3 + ["B"] * 12,
            "cost": [100.0, 5.0, 1.0] + [10.0] * 12,
        }
    )
    table = magnitude_table(records, "trust", None, "cost")
    report = check_magnitude(table, profile())
    failed = {r.rule: r.cells for r in report.results if not r.passed}
    assert failed["p_percent"] == ("trust=A",)
    assert failed["nk_dominance"] == ("trust=A",)
    assert failed["min_contributors"] == ("trust=A",)
    # the published total would give A away as total - B, so B is hidden as its complement
    assert report.safe.hidden[:, 0].tolist() == [True, True]
    assert report.safe.column_totals.tolist() == [226.0]


def test_a_contributor_is_summed_before_dominance_is_judged():
    records = pa.table({"g": ["x"] * 12, "who": ["p1"] * 11 + ["p2"], "v": [10.0] * 12})
    table = magnitude_table(records, "g", None, "v", contributor="who")
    assert table.contributors.tolist() == [[2]]
    assert table.largest[0, 0].tolist() == [110.0, 10.0]


def test_extremes_of_small_groups_are_hidden():
    data = pa.table({"practice": ["A", "B"], "n": [4, 50], "mean": [3.1, 2.2], "max": [9.0, 12.0]})
    report = check_statistics(data, profile())
    failed = {r.rule: r.cells for r in report.results if not r.passed}
    assert failed["extremes"] == ("A: max",)
    assert report.safe.hidden[0].tolist() == [True, True, True]
    assert not report.safe.hidden[1].any()


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
