"""Long (GROUP BY) tables go out as they came in, and a GROUP BY's missing rows are zeros."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.disclosure import check_file

# Four regions by two months; North in May is missing: nobody was admitted, so no group.
GROUP_BY = (
    "month,region,events,population\n"
    "2023-04-01,North,4,900\n2023-04-01,South,30,800\n2023-04-01,East,25,700\n"
    "2023-04-01,West,40,600\n2023-05-01,South,31,810\n2023-05-01,East,26,700\n"
    "2023-05-01,West,41,610\n"
)


def written(report, tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "safe.csv"
    report.safe.write_csv(path)
    return list(csv.reader(io.StringIO(path.read_text())))


def test_the_safe_version_of_a_long_table_is_long_in_the_same_order(tmp_path: Path):
    source = tmp_path / "admissions.csv"
    source.write_text(GROUP_BY)
    report = check_file(source, "ons")
    rows = written(report, tmp_path)
    original = list(csv.reader(io.StringIO(GROUP_BY)))
    assert rows[0] == original[0]  # same columns, same order
    kept = rows[1 : len(original)]
    assert [r[:2] for r in kept] == [r[:2] for r in original[1:]]  # same rows, same order
    assert kept[0][2] == "[REDACTED]"  # North in April: 4 admissions
    assert [r[3] for r in kept] == [r[3] for r in original[1:]]  # populations unchanged
    # a missing row says "zero", so a zero hidden to protect North in April needs a row
    assert all(r[2] == "[REDACTED]" for r in rows[len(original) :])
    assert not any("Total" in cell or "/" in cell for row in rows for cell in row)


def test_missing_combinations_are_zero_counts_so_differencing_runs(tmp_path: Path):
    source = tmp_path / "admissions.csv"
    source.write_text(GROUP_BY)
    report = check_file(source, "ons")
    assert any("have no row in the file" in note and "zero" in note for note in report.notes)
    assert not any("already hidden" in note for note in report.notes)
    differencing = next(r for r in report.results if r.rule == "differencing")
    assert differencing.summary.startswith("events: checked against 0 earlier release")
    assert "population: " in differencing.summary  # against events: it ran for both
    assert not any("not compared" in note for note in report.notes)


def test_total_rows_go_out_only_where_the_file_had_them(tmp_path: Path):
    text = "age_band,count\n0-17,3\n18-64,300\n65+,120\nTotal,423\n"
    source = tmp_path / "ages.csv"
    source.write_text(text)
    rows = written(check_file(source, "ons"), tmp_path)
    assert [r[0] for r in rows] == ["age_band", "0-17", "18-64", "65+", "Total"]
    assert rows[-1][1] == "423" and rows[1][1] == "[REDACTED]"


@settings(max_examples=25, deadline=None)
@given(
    counts=st.lists(st.integers(0, 60), min_size=6, max_size=6),
    order=st.permutations(range(6)),
)
def test_a_long_tables_safe_version_hides_only_and_never_shows_a_small_count(
    tmp_path_factory, counts: list[int], order: list[int]
):
    cells = [(band, sex) for band in ("0-17", "18-64", "65+") for sex in ("F", "M")]
    lines = [f"{cells[k][0]},{cells[k][1]},{counts[k]}" for k in order if counts[k]]
    if not lines:
        return
    folder = tmp_path_factory.mktemp("tidy")
    source = folder / "t.csv"
    source.write_text("age_band,sex,count\n" + "\n".join(lines) + "\n")
    report = check_file(source, "ons")
    if not report.releasable:
        return
    rows = written(report, folder)
    assert rows[0] == ["age_band", "sex", "count"]
    shown = {(r[0], r[1]): r[2] for r in rows[1:]}
    for k, (band, sex) in enumerate(cells):
        value = shown.get((band, sex))
        if value is None:  # left out, as the file left it out: a zero
            assert counts[k] == 0
        elif value != "[REDACTED]":
            assert int(value) == counts[k] and not 0 < counts[k] < 10
    assert [line.split(",")[:2] for line in lines] == [r[:2] for r in rows[1 : len(lines) + 1]]
