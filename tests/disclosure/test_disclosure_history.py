"""The release history, attacked as a hostile analyst would: every released count enters it with
what it covers, whichever way the table was made, and a later table cannot take back what an
earlier one hid — over subsets and unions of its categories, and from another project."""

from __future__ import annotations

import contextlib
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fivesafes.disclosure import FileReleaseHistory, check_file, safe


def release(path: Path, history: FileReleaseHistory, release_id: str, project: str = "p1"):
    """Check a file against the history and, if it may go out, record it as publishing does."""
    report = check_file(path, "ons", history)
    if report.releasable:
        history.record_release(release_id, project, report.records)
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


def _after_everyone_but_three_by_ethnicity(tmp_path: Path, name: str, table: str) -> list[str]:
    """The differencing exposures of ``table`` checked after a table by ethnicity of
    everyone but three people was released."""
    history = FileReleaseHistory(tmp_path / "history")
    everyone_but_three = tmp_path / "ethnicity.csv"
    everyone_but_three.write_text("ethnicity,count\nA,62\nB,48\nC,29\nD,11\n")
    assert release(everyone_but_three, history, "rel-1").passed
    later = tmp_path / name
    later.write_text(table)
    result = differencing(check_file(later, "ons", history))
    assert not result.passed
    return list(result.cells)


def test_a_table_cut_to_categories_it_does_not_show_is_compared_with_their_union(tmp_path: Path):
    """Found by the sequence property test: a table by sex of the people in groups A and D
    (everyone, 74) beside a table by group of everyone but three (A 62, D 11): 74 − 73 is the
    one person left out of the second who is in A or D."""
    cells = _after_everyone_but_three_by_ethnicity(tmp_path, "sex.csv", "sex,count\nF,36\nM,38\n")
    assert any("a union of categories" in cell and "{A, D}" in cell for cell in cells)


def test_a_subset_of_categories_of_a_nested_population_is_caught(tmp_path: Path):
    """The same cut shown: groups A and D of everyone (63 and 11) beside everyone but three."""
    cells = _after_everyone_but_three_by_ethnicity(
        tmp_path, "a_and_d.csv", "ethnicity,count\nA,63\nD,11\n"
    )
    assert any("ethnicity A" in cell and "one population only" in cell for cell in cells)


def test_unrelated_tables_that_meet_by_chance_in_one_sum_are_not_refused(tmp_path: Path):
    """Found by the dashboards' tables: admissions by month and region, then HbA1c recording by
    month and deprivation quintile. One month's admissions lie within ten of one quintile's
    count; but in other months the difference has the other sign, so neither table's people
    can be the other's cut to some quintiles, and nothing is exposed."""
    history = FileReleaseHistory(tmp_path / "history")
    admissions = tmp_path / "admissions.csv"
    admissions.write_text("month,region,events\nJan,N,300\nJan,S,377\nFeb,N,340\nFeb,S,400\n")
    assert release(admissions, history, "rel-1").passed
    hba1c = tmp_path / "hba1c.csv"
    hba1c.write_text("month,imd_quintile,n\nJan,1,500\nJan,2,680\nFeb,1,800\nFeb,2,700\n")
    assert differencing(check_file(hba1c, "ons", history)).passed  # 677 v 680, but 740 v 700


def _one_table(tmp_path: Path, history: FileReleaseHistory):
    table = tmp_path / "table.csv"
    table.write_text("region,count\nNorth,40\nSouth,52\n")
    return check_file(table, "ons", history).records


def test_a_release_is_one_unit_written_once_whatever_the_retries(tmp_path: Path):
    """Publishing, killed and retried or finished by recovery, records each release once: the
    unit is keyed by the release, and a second write of it changes nothing."""
    history = FileReleaseHistory(tmp_path / "history")
    records = _one_table(tmp_path, history)
    assert history.record_release("rel-1", "p1", records)
    assert not history.record_release("rel-1", "p1", records + records)
    assert not history.record_release("rel-1", "p2", records)  # not under another project either
    assert [(t.release, t.project) for t in history.released()] == [("rel-1", "p1")]
    assert [p.name for p in (tmp_path / "history").rglob("*") if p.is_file()] == ["rel-1.json"]
    recorded = history.recorded("rel-1")
    assert recorded is not None and [t.name for t in recorded] == [records[0].name]
    assert history.recorded("rel-2") is None


def test_a_unit_a_kill_cut_short_is_no_release_and_is_written_again(tmp_path: Path):
    history = FileReleaseHistory(tmp_path / "history")
    records = _one_table(tmp_path, history)

    def killed() -> None:
        raise KeyboardInterrupt  # stands in for SIGKILL between the write and the rename

    with contextlib.suppress(KeyboardInterrupt):
        history.record_release("rel-1", "p1", records, before_rename=killed)
    assert list((tmp_path / "history").rglob("*.partial"))  # what the kill left
    assert history.released() == [] and history.recorded("rel-1") is None
    assert history.record_release("rel-1", "p1", records)
    assert len(history.released()) == 1


def test_a_history_written_a_file_per_table_still_reads(tmp_path: Path):
    """Histories are kept for ever: a file per table (format 2) reads beside release units."""
    from fivesafes.disclosure.history import to_document

    history = FileReleaseHistory(tmp_path / "history")
    (old,) = _one_table(tmp_path, history)
    folder = tmp_path / "history" / "p0"
    folder.mkdir(parents=True)
    document = to_document(old) | {"format": 2, "release": "rel-0", "project": "p0"}
    (folder / "00000-rel-0-table.csv.json").write_bytes(orjson.dumps(document))
    history.record_release("rel-1", "p1", [old])
    assert sorted((t.release, t.project) for t in history.released()) == [
        ("rel-0", "p0"),
        ("rel-1", "p1"),
    ]
    assert (
        "checked against 2 earlier release(s)"
        in differencing(check_file(tmp_path / "table.csv", "ons", history)).summary
    )


def test_a_table_without_a_cell_is_refused_and_never_reaches_the_solver(tmp_path: Path):
    """A header-only table once crashed the differencing solver (linprog: invalid input) with
    a history to compare it with; it is refused on reading, with or without one, and a
    history that holds such a table skips it."""
    from dataclasses import replace

    import numpy as np
    import pyarrow.parquet as pq

    from fivesafes.disclosure import Dimension, FrequencyTable, TableError
    from fivesafes.disclosure.differencing import check_history

    history = FileReleaseHistory(tmp_path / "history")
    (earlier,) = _one_table(tmp_path, history)
    history.record_release("rel-1", "p1", [earlier])
    header = tmp_path / "header.csv"
    header.write_text("region,count\n")
    typed = tmp_path / "header.parquet"
    pq.write_table(
        pa.table({"region": pa.array([], pa.string()), "count": pa.array([], pa.int64())}), typed
    )
    totals = tmp_path / "totals.csv"
    totals.write_text("region,count\nTotal,92\n")
    for path in (header, typed, totals):
        with pytest.raises(TableError, match=rf"{path.name}: no rows of counts"):
            check_file(path, "ons", history)
    empty = replace(
        earlier,
        table=FrequencyTable(Dimension("region", ()), None, np.zeros((0, 1), dtype=np.int64)),
        hidden=np.zeros((0, 1), dtype=bool),
        primary=np.zeros((0, 1), dtype=bool),
    )
    assert check_history(empty, [earlier], 10) == []
    assert check_history(earlier, [empty, earlier], 10) == []


def test_a_refusal_does_not_tell_another_project_a_count_the_environment_hid(tmp_path: Path):
    """Found by hand: a raw table (A 40, B 4, C 12, D 30) goes out with B and C hidden. A
    made-up table of C alone with 10 people passed when C was 12 and was refused when C was
    10, because the checks ruled hypotheses out with the hidden counts: guess by guess, a
    refusal said what C held. The verdict now rests on what was published only."""
    verdicts = []
    for c in (12, 10):
        history = FileReleaseHistory(tmp_path / f"history-{c}")
        earlier = tmp_path / f"{c}" / "by_ethnicity.csv"
        earlier.parent.mkdir()
        earlier.write_text(f"ethnicity,count\nA,40\nB,{16 - c}\nC,{c}\nD,30\n")
        assert not release(earlier, history, "rel-1", "p1").passed  # goes out as the safe version
        guess = tmp_path / f"guess-{c}.csv"
        guess.write_text("ethnicity,count\nC,10\n")
        result = differencing(check_file(guess, "ons", history))
        verdicts.append((result.passed, sorted(result.cells)))
    assert verdicts[0] == verdicts[1]
    assert not verdicts[0][0]  # C with 10 people pins B, whatever C holds
