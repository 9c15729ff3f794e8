"""The release history, attacked as a hostile analyst would: every released count enters it with
what it covers, whichever way the table was made, and a later table cannot take back what an
earlier one hid — over subsets and unions of its categories, and from another project."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from fivesafes.disclosure import FileReleaseHistory, check_file, safe
from fivesafes.disclosure.history import record_release


def release(path: Path, history: FileReleaseHistory, release_id: str, project: str = "p1"):
    """Check a file against the history and, if it may go out, record it as publishing does."""
    report = check_file(path, "ons", history)
    if report.releasable:
        record_release(history, release_id, project, report.records)
    return report


def differencing(report) -> object:
    return next(r for r in report.results if r.rule == "differencing")


def people() -> pa.Table:
    """65 people: ethnicity A 14, B 13, C 8, D 30; 33 women and 32 men."""
    ethnicity = ["A"] * 14 + ["B"] * 13 + ["C"] * 8 + ["D"] * 30
    sex = (["F", "M"] * 33)[:65]
    return pa.table({"ethnicity": ethnicity, "sex": sex})


def test_a_subset_of_categories_cannot_take_back_a_cell_the_safe_api_hid(tmp_path: Path):
    """The issue's attack: 35 − 14 − 13 = 8. The safe API hid C (8) and B (13, its complement);
    A, B and C hold 35 (the 65 of a table by sex less D's 30); a table of A and B alone gives
    B, then C. No two of the three tables show it, so only a history that holds the safe API's
    table, hidden cells and all, can."""
    history = FileReleaseHistory(tmp_path / "history")
    everyone = people()
    by_sex = safe.crosstab(everyone, "sex", name="by_sex.csv").write_csv(tmp_path / "by_sex.csv")
    assert release(by_sex, history, "rel-1").passed
    by_ethnicity = safe.crosstab(everyone, "ethnicity", name="by_ethnicity.csv")
    hidden = by_ethnicity.write_csv(tmp_path / "by_ethnicity.csv")
    assert "[REDACTED]" in hidden.read_text()
    assert release(hidden, history, "rel-2").passed  # what the safe API wrote goes out as it is
    a_and_b = everyone.filter(pc.is_in(everyone["ethnicity"], pa.array(["A", "B"])))
    subset = safe.crosstab(a_and_b, "ethnicity", name="a_and_b.csv")
    assert subset.report.passed  # alone, 14 and 13 are safe
    follow_up = release(subset.write_csv(tmp_path / "a_and_b.csv"), history, "rel-3")
    result = differencing(follow_up)
    assert not result.passed and not follow_up.releasable
    assert any("ethnicity=B" in cell for cell in result.cells)  # the complement, taken back
    assert any("ethnicity=C" in cell for cell in result.cells)  # and so the 8


def test_the_history_counts_releases_not_tables(tmp_path: Path):
    history = FileReleaseHistory(tmp_path / "history")
    rows = "age_band,with_asthma,without_asthma\n0-39,40,400\n40-79,60,500\n80+,12,50\n"
    first = tmp_path / "first.csv"
    first.write_text(rows)
    report = release(first, history, "rel-1")
    assert report.releasable and len(history.released()) == 2  # two count columns
    again = tmp_path / "again.csv"
    again.write_text(rows)
    result = differencing(check_file(again, "ons", history))
    assert "checked against 1 earlier release(s)" in result.summary


def test_every_project_shares_one_history_of_the_same_data(tmp_path: Path):
    """17(a): a 0-49 table in one project and a 0-50 table in another give the people aged 50."""
    history = FileReleaseHistory(tmp_path / "history")
    young = tmp_path / "young.csv"
    young.write_text("age_band,sex,count\n0-49,F,300\n0-49,M,280\n")
    assert release(young, history, "rel-1", project="project-a").passed
    nearly = tmp_path / "nearly.csv"
    nearly.write_text("age_band,sex,count\n0-50,F,302\n0-50,M,281\n")
    report = release(nearly, history, "rel-2", project="project-b")
    result = differencing(report)
    assert not result.passed
    assert any("age_band 50" in cell for cell in result.cells)


def test_a_table_hidden_by_hand_enters_the_history_and_is_protected(tmp_path: Path):
    """A table redacted by the analyst's own code (or by R) holds unknown cells; a later table
    that shows one of them is refused, though nobody knows its value."""
    history = FileReleaseHistory(tmp_path / "history")
    redacted = tmp_path / "redacted.csv"
    redacted.write_text("region,count\nNorth,[REDACTED]\nSouth,[REDACTED]\nEast,120\n")
    assert release(redacted, history, "rel-1").passed
    (stored,) = history.released()
    assert stored.table.withheld is not None and stored.table.withheld[:, 0].tolist() == [
        True,
        True,
        False,
    ]
    shows_north = tmp_path / "north.csv"
    shows_north.write_text("region,count\nNorth,15\nEast,120\n")
    result = differencing(check_file(shows_north, "ons", history))
    assert not result.passed
    assert any("region=North" in cell for cell in result.cells)


def test_a_union_of_categories_is_compared_with_its_parts(tmp_path: Path):
    """A later table over more categories than an earlier one (North and South, then North,
    South and East): whatever it hides in the shared categories the earlier table showed, so
    East's three women would be the column total less what the earlier table published."""
    history = FileReleaseHistory(tmp_path / "history")
    two = tmp_path / "two.csv"
    two.write_text("region/sex,F,M,Total\nNorth,40,45,85\nSouth,50,52,102\nTotal,90,97,187\n")
    assert release(two, history, "rel-1").passed
    three = tmp_path / "three.csv"
    three.write_text(
        "region/sex,F,M,Total\nNorth,40,45,85\nSouth,50,52,102\nEast,3,20,23\nTotal,93,117,210\n"
    )
    report = check_file(three, "ons", history)
    result = differencing(report)
    assert not result.passed and not report.releasable
    assert any("region=East, sex=F" in cell for cell in result.cells)
