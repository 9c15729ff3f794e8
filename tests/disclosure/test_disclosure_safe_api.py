"""The analyst's API: outputs checked where they are made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from fivesafes.disclosure import TableError, check_file, safe


@pytest.fixture
def people() -> pa.Table:
    rng = np.random.default_rng(3)
    n = 600
    age_band = rng.choice(["0-17", "18-64", "65+"], n, p=[0.2, 0.6, 0.2])
    sex = rng.choice(["F", "M"], n)
    age_band[:15] = "100+"  # fifteen centenarians, three of them women: a small group
    sex[:3], sex[3:15] = "F", "M"
    age = rng.normal(45, 15, n)
    height = rng.normal(170, 10, n)
    fev1 = 5 - 0.02 * age + 0.01 * height + rng.normal(0, 0.3, n)
    return pa.table({"age_band": age_band, "sex": sex, "age": age, "height": height, "fev1": fev1})


def test_crosstab_hides_the_small_group_and_explains_why(people: pa.Table, tmp_path: Path):
    out = safe.crosstab(people, "age_band", "sex", profile="ons")
    assert "age_band=100+, sex=F" in out.explain()
    written = pacsv.read_csv(out.write_csv(tmp_path / "t.csv"))
    assert written.column_names == ["age_band", "sex", "count"]  # long, as a GROUP BY writes
    rows = list(zip(written["age_band"].to_pylist(), written["sex"].to_pylist(), strict=True))
    assert written["count"][rows.index(("100+", "F"))].as_py() == "[REDACTED]"
    assert out.chart(tmp_path / "t.png").stat().st_size > 0


def test_crosstab_counts_a_numerator_and_denominator_and_its_file_passes(
    people: pa.Table, tmp_path: Path
):
    from fivesafes.disclosure import check_file

    flagged = people.append_column("old", pa.array([b == "65+" for b in people["age_band"]]))
    out = safe.crosstab(flagged, "sex", counts={"older": "old", "population": None})
    written = pacsv.read_csv(out.write_csv(tmp_path / "t.csv"))
    assert written.column_names == ["sex", "older", "population"]
    expected = {
        sex: (sum(1 for s, o in zip(people["sex"].to_pylist(), flagged["old"].to_pylist(),
                                    strict=True) if s == sex and o),
              people["sex"].to_pylist().count(sex))
        for sex in ("F", "M")
    }  # fmt: skip
    got = {r["sex"]: (r["older"], r["population"]) for r in written.to_pylist()}
    assert got == expected
    assert check_file(tmp_path / "t.csv").passed  # so a chart drawn from it may go out


def test_crosstab_reads_a_parquet_dataset(people: pa.Table, tmp_path: Path):
    import pyarrow.parquet as pq

    pq.write_table(people, tmp_path / "dataset.parquet")
    out = safe.crosstab(tmp_path / "dataset.parquet", "sex")
    assert out.report.safe is not None and out.report.safe.grand_total() == 600


def test_describe_hides_statistics_of_small_groups(people: pa.Table, tmp_path: Path):
    out = safe.describe(people, "age", by=["age_band", "sex"])
    safe_table = out.report.safe
    assert safe_table.hidden[safe_table.rows.labels.index("100+ / F")].all()
    # twelve men: their n may be hidden beside the women's, but their statistics are shown
    assert not safe_table.hidden[safe_table.rows.labels.index("100+ / M")][1:].any()
    assert {r.rule for r in out.report.results if not r.passed} >= {
        "small_numbers",
        "small_group_statistics",
        "extremes",
    }
    written = out.write_csv(tmp_path / "ages.csv")
    kept = tmp_path / "ages.contributions.csv"
    assert kept.exists()  # for the dominance rules at release; declared highly_sensitive
    again = check_file(written, contributions_file=kept)
    assert again.passed, again.to_text()  # what the safe API wrote passes as it is


def test_regression_needs_enough_degrees_of_freedom(people: pa.Table, tmp_path: Path):
    model = safe.regression_table(people, "fev1", ["age", "height"])
    assert model.report.passed and model.model is not None
    estimate = model.model["estimate"].to_pylist()
    assert estimate[1] == pytest.approx(-0.02, abs=0.005)  # the slope the data were made with
    assert model.write_csv(tmp_path / "model.csv").exists()
    tiny = safe.regression_table(people.slice(0, 8), "fev1", ["age", "height"])
    assert not tiny.report.passed and tiny.model is None
    with pytest.raises(TableError, match="may not be released"):
        tiny.write_csv(tmp_path / "nope.csv")


def test_total_applies_dominance(people: pa.Table, tmp_path: Path):
    out = safe.total(people, "height", "age_band", "sex")
    failed = {r.rule: r.cells for r in out.report.results if not r.passed}
    # heights never dominate; three women over 100 are too few for a sum
    assert failed == {"small_group_statistics": ("age_band=100+, sex=F: height_sum",)}
    written = out.write_csv(tmp_path / "heights.csv")
    kept = tmp_path / "heights.contributions.csv"
    assert check_file(written, contributions_file=kept).passed
    assert not check_file(written).releasable  # without them, dominance cannot be checked


@pytest.mark.parametrize(
    "call",
    [
        lambda p: safe.crosstab(p, "ethnicity"),
        lambda p: safe.crosstab(p, "age_band", "ethnicity"),
        lambda p: safe.crosstab(p, "sex", counts={"with_asthma": "has_asthma"}),
        lambda p: safe.total(p, "cost", "sex"),
        lambda p: safe.total(p, "age", "sex", contributor="practice"),
        lambda p: safe.describe(p, "age", by=["sex", "ethnicity"]),
        lambda p: safe.describe(p, "cost", by="sex"),
        lambda p: safe.regression_table(p, "fev1", ["age", "weight"]),
    ],
)
def test_a_column_the_records_lack_is_a_table_error_naming_it(people: pa.Table, call):
    """Not DuckDB's BinderException (the R helpers show the message to the analyst as it is)."""
    with pytest.raises(TableError, match=r"the records have no column \w+ \(they have age_band"):
        call(people)


def test_a_flag_that_is_not_true_or_false_is_a_table_error(people: pa.Table):
    with pytest.raises(TableError, match=r"(?i)conversion"):
        safe.crosstab(people, "sex", counts={"banded": "age_band"})


def test_no_records_is_a_table_error_not_an_empty_table(people: pa.Table):
    """An empty table would pass every rule by having no cells; it is refused instead."""
    none = people.slice(0, 0)
    for call in (
        lambda: safe.crosstab(none, "age_band", "sex"),
        lambda: safe.total(none, "age", "sex"),
        lambda: safe.describe(none, "age", by="sex"),
    ):
        with pytest.raises(TableError, match="no records"):
            call()
