"""Which released tables are monthly measures, and how suppressed rows are handled."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fivesafes.dashboards import Kind, ReleasedTable, as_measure


def table(rows: list[dict[str, str]], path: str = "output/measure.csv") -> ReleasedTable:
    return ReleasedTable("rel-1", path, "", "original", "", "", "", (), (), None, tuple(rows))


def test_a_table_without_a_period_column_is_not_a_measure() -> None:
    rows = [{"age_band": "0-17", "numerator": "40", "denominator": "100"}]
    assert as_measure(table(rows)) is None


def test_a_table_with_two_group_columns_is_not_a_measure() -> None:
    rows = [
        {"month": "2024-01-01", "sex": "F", "region": "London", "events": "1", "population": "9"}
    ]
    assert as_measure(table(rows)) is None


def test_column_names_say_whether_it_is_a_proportion_or_a_rate() -> None:
    rate = as_measure(
        table([{"month": "2024-01", "region": "X", "events": "12", "population": "900"}])
    )
    share = as_measure(
        table([{"month": "2024-01", "q": "1", "numerator": "12", "denominator": "90"}])
    )
    assert rate is not None and rate.kind is Kind.RATE and rate.kind.unit == "per 1,000"
    assert share is not None and share.kind is Kind.PROPORTION and share.kind.unit == "%"


def test_suppressed_rows_are_left_out_and_counted() -> None:
    rows = [
        {"month": "2024-02", "q": "1", "numerator": "[REDACTED]", "denominator": "90"},
        {"month": "2024-01", "q": "1", "numerator": "30", "denominator": "90"},
        {"month": "2024-03", "q": "1", "numerator": "", "denominator": ""},
    ]
    measure = as_measure(table(rows))
    assert measure is not None
    assert measure.suppressed_rows == 2
    assert measure.series[0].periods == ("2024-01",)
    assert measure.series[0].numerators == (30.0,)
    assert measure.series[0].hidden == ("2024-02", "2024-03")  # gaps, not zeros


def test_a_table_without_a_group_column_is_one_series() -> None:
    rows = [
        {"month": "2024-01", "events": "12", "population": "900"},
        {"month": "2024-02", "events": "15", "population": "905"},
    ]
    measure = as_measure(table(rows))
    assert measure is not None and measure.group_column is None
    assert [(s.group, s.periods) for s in measure.series] == [("All", ("2024-01", "2024-02"))]


month = st.dates().map(lambda d: d.replace(day=1).isoformat())
count = st.one_of(st.integers(0, 10_000).map(str), st.sampled_from(["", "[REDACTED]", "-1"]))
row = st.fixed_dictionaries(
    {"month": month, "group": st.sampled_from("ABC"), "events": count, "population": count}
)


@given(st.lists(row, min_size=1, max_size=40, unique_by=lambda r: (r["month"], r["group"])))
def test_every_row_is_either_charted_or_counted_as_suppressed(rows: list[dict[str, str]]) -> None:
    measure = as_measure(table(rows))
    assert measure is not None
    kept = sum(len(s.periods) for s in measure.series)
    assert kept + measure.suppressed_rows == len(rows)
    assert sum(len(s.hidden) for s in measure.series) == measure.suppressed_rows
    for s in measure.series:
        assert list(s.periods) == sorted(s.periods)
        assert all(d > 0 for d in s.denominators) and all(n >= 0 for n in s.numerators)


def test_months_are_labelled_for_people_and_other_periods_left_alone() -> None:
    from fivesafes.dashboards.measures import month_label

    assert month_label("2023-04-01") == "Apr 2023"
    assert month_label("2023-Q2") == "2023-Q2"


def test_titles_come_from_the_file_name_with_nhs_capitals() -> None:
    rows = [{"month": "2024-01", "q": "1", "numerator": "3", "denominator": "9"}]
    measure = as_measure(table(rows, "output/hba1c_recorded_by_imd_quintile.csv"))
    assert measure is not None and measure.title == "HbA1c recorded by IMD quintile"
