"""The check-output command, the file readers, and the report renderings."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

import fivesafes.cli.disclosure  # noqa: F401  (registers check-output)
from fivesafes.cli.common import app
from fivesafes.disclosure import FileReleaseHistory, check_file
from fivesafes.release.office import HISTORY_FOLDER

LONG = "age_band,sex,count\n0-17,F,3\n0-17,M,25\n18-64,F,300\n18-64,M,280\n65+,F,120\n65+,M,100\n"
WIDE = "age_band/sex,F,M,Total\n0-17,3,25,28\n18-64,300,280,580\nTotal,303,305,608\n"


def write(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_long_and_wide_layouts_read_alike(tmp_path: Path):
    long = check_file(write(tmp_path, LONG), "ons")
    wide = check_file(write(tmp_path, WIDE, "wide.csv"), "ons")
    assert long.results[0].cells == ("age_band=0-17, sex=F",)
    assert wide.results[0].cells == ("age_band=0-17, sex=F",)
    assert wide.safe.rows.labels == ("0-17", "18-64")  # the file's Total row is recomputed


def test_the_report_names_cells_and_redacts_values(tmp_path: Path):
    report = check_file(write(tmp_path, LONG), "ons")
    document = orjson.loads(report.to_json())
    assert document["passed"] is False and document["releasable"] is True
    assert document["rules"][0]["positions"] == [[0, 0]]
    assert document["safe_table"][0] == ["age_band", "sex", "count"]  # as it came in
    assert document["safe_table"][1] == ["0-17", "F", "[REDACTED]"]
    assert "[REDACTED]" in report.to_text()


def test_check_output_fails_a_small_cell_and_passes_a_safe_table(tmp_path: Path):
    runner = CliRunner()
    bad = runner.invoke(app, ["check-output", str(write(tmp_path, LONG)), "--profile", "ons"])
    assert bad.exit_code == 1 and "small_numbers" in bad.output
    safe = LONG.replace("0-17,F,3", "0-17,F,30")
    good = runner.invoke(app, ["check-output", str(write(tmp_path, safe, "ok.csv"))])
    assert good.exit_code == 0 and "PASS" in good.output


def test_check_output_json_and_picture(tmp_path: Path):
    picture = tmp_path / "table.png"
    result = CliRunner().invoke(
        app,
        ["check-output", str(write(tmp_path, LONG)), "--format", "json", "--picture", str(picture)],
    )
    assert orjson.loads(result.output)["profile"] == "default"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_check_output_reads_the_environments_release_history(tmp_path: Path):
    from fivesafes.disclosure import check_frequency, profile
    from fivesafes.disclosure.columns import read_output
    from fivesafes.disclosure.tables import read_arrow

    first = write(tmp_path, LONG.replace("0-17,F,3", "0-17,F,30"), "first.csv")
    tables = read_output(read_arrow(first)).counts
    _, record = check_frequency(tables["count"], profile("ons"), "first")
    data = tmp_path / "data"
    FileReleaseHistory(data / HISTORY_FOLDER).record_release("rel-1", "asthma", [record])
    nested = write(tmp_path, LONG.replace("0-17,F,3", "0-17,F,27"), "second.csv")  # 3 fewer
    args = ["check-output", str(nested), "--project-id", "asthma", "--data-dir", str(data)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "[FAIL] differencing" in result.output
    assert "with first" in result.output


def test_check_output_away_from_the_environment_says_differencing_was_not_checked(
    tmp_path: Path,
):
    table = write(tmp_path, LONG.replace("0-17,F,3", "0-17,F,30"))
    away = ["--project-id", "asthma", "--data-dir", str(tmp_path / "no-such-environment")]
    for extra in ([], away):
        result = CliRunner().invoke(app, ["check-output", str(table), "--format", "json", *extra])
        notes = orjson.loads(result.output)["notes"]
        assert any("against earlier releases not checked" in n for n in notes)


def test_user_errors_are_one_line_not_a_traceback(tmp_path: Path):
    runner = CliRunner()
    missing = runner.invoke(app, ["check-output", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    unknown = runner.invoke(app, ["check-output", str(write(tmp_path, LONG)), "--profile", "x"])
    assert unknown.exit_code == 2 and "no profile" in unknown.output
    words = write(tmp_path, "band,count\na,many\nb,40\n", "words.csv")
    result = runner.invoke(app, ["check-output", str(words)])
    assert result.exit_code == 2 and "cannot tell categories from counts" in result.output


def test_a_table_suppressed_elsewhere_is_checked_against_the_totals_it_shows(tmp_path: Path):
    # One hidden cell and the totals beside it: the cell is 28 - 25 = 3.
    text = "age_band/sex,F,M,Total\n0-17,[REDACTED],25,28\n18-64,300,280,580\n"
    text += "65+,120,100,220\nTotal,423,405,828\n"
    report = check_file(write(tmp_path, text), "ons")
    leak = next(r for r in report.results if r.rule == "hidden_cells_recoverable")
    assert not leak.passed and leak.cells == ("age_band=0-17, sex=F",)
    assert report.releasable and report.safe.hidden.sum() == 4
    assert report.safe.row_totals.tolist() == [28, 580, 220]  # as the file shows them
    redacted = "age_band,sex,count\n0-17,F,*\n0-17,M,*\n18-64,F,300\n18-64,M,280\n"
    assert check_file(write(tmp_path, redacted, "starred.csv"), "ons").passed


def test_a_magnitude_table_is_checked_from_its_microdata(tmp_path: Path):
    records = write(
        tmp_path,
        "trust,cost\n" + "A,100\nA,5\nA,1\n" + "B,10\n" * 12,
        "records.csv",
    )
    table = write(tmp_path, "trust,cost\nA,106\nB,120\n", "costs.csv")
    result = CliRunner().invoke(
        app,
        ["check-output", str(table), "--microdata", str(records), "--value", "cost"],
    )
    assert result.exit_code == 1
    assert "p_percent" in result.output and "trust=A" in result.output
    assert "[pass] matches_contributions" in result.output
    wrong = write(tmp_path, "trust,cost\nA,106\nB,121\n", "wrong.csv")
    report = check_file(wrong, microdata=records, value="cost")
    assert not report.releasable
    assert next(r for r in report.results if r.rule == "matches_contributions").cells == (
        "trust=B",
    )


def test_a_numerator_close_to_its_denominator_is_caught(tmp_path: Path):
    # 50 people aged 80+, 45 with asthma: the 5 without asthma are a small group
    text = "age_band,with_asthma,population\n0-39,40,400\n40-79,60,500\n80+,45,50\n"
    report = check_file(write(tmp_path, text), "ons")
    result = next(r for r in report.results if r.rule == "differencing")
    assert not result.passed
    assert any("80+" in cell and "one population only" in cell for cell in result.cells)
