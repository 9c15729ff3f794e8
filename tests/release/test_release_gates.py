"""Every refusal at request time, each with a message that says what is wrong and what to do."""

from __future__ import annotations

import contextlib
import struct
import zlib
from pathlib import Path

import pytest
from release_support import (
    PROJECT,
    SAFE_COUNTS,
    People,
    Study,
    counts_csv,
    safe_chart,
    tiny_png,
)

from big_tables import sparse_pairs
from fivesafes.disclosure import CheckReport, SafeTable, check_file
from fivesafes.governance import AccessDenied, Role
from fivesafes.release import (
    FileKind,
    FileRefused,
    FileRules,
    Outcome,
    ReleaseError,
    ReleaseOffice,
    check_request_files,
    request_release,
)
from fivesafes.release.files import check_release_file

WHY = "Needed for the report."


def _ask(office: ReleaseOffice, people: People, study: Study, *files: str, who: str = "ana"):
    return request_release(office, people.token(who), PROJECT, study.root, list(files), WHY)


def _table(study: Study, path: str = "output/table.csv", **record: str) -> None:
    study.write(path, counts_csv(SAFE_COUNTS))
    study.record_job("summarise", [path], **record)


def test_highly_sensitive_outputs_are_refused(office, people: People, study: Study) -> None:
    study.write("output/dataset.csv", "age,sex\n40,F\n")
    study.record_job("extract", ["output/dataset.csv"], privacy="highly_sensitive")
    with pytest.raises(ReleaseError, match=r"highly_sensitive.*never leave"):
        _ask(office, people, study, "output/dataset.csv")


def test_undeclared_or_outside_files_are_refused(office, people: People, study: Study) -> None:
    study.write("output/stray.csv", counts_csv(SAFE_COUNTS))
    with pytest.raises(ReleaseError, match="not declared as an output"):
        _ask(office, people, study, "output/stray.csv")
    with pytest.raises(ReleaseError, match="not inside the study"):
        _ask(office, people, study, str(Path("/etc/hostname")))


def test_files_need_a_completed_store_job_with_their_hash(office, people, study: Study) -> None:
    _table(study, backend="dummy")
    with pytest.raises(ReleaseError, match=r"dummy data.*fivesafes submit"):
        _ask(office, people, study, "output/table.csv")
    _table(study)
    study.write("output/table.csv", counts_csv({**SAFE_COUNTS, ("0-17", "F"): 41}))
    with pytest.raises(ReleaseError, match="no completed job wrote this file as it is now"):
        _ask(office, people, study, "output/table.csv")
    study.write("output/table.csv", counts_csv({**SAFE_COUNTS, ("0-17", "F"): 42}))
    study.record_job("summarise", ["output/table.csv"], status="failed")
    with pytest.raises(ReleaseError, match="no completed job"):
        _ask(office, people, study, "output/table.csv")


def test_patient_id_columns_never_leave(office, people: People, study: Study) -> None:
    study.write("output/people.csv", "Patient_ID,count\nabc,12\n")
    study.record_job("summarise", ["output/people.csv"])
    with pytest.raises(ReleaseError, match="'Patient_ID' column"):
        _ask(office, people, study, "output/people.csv")


def test_only_members_of_approved_projects_may_ask(office, people: People, study: Study) -> None:
    _table(study)
    with pytest.raises(AccessDenied, match="chk1 may not request release: it needs the analyst"):
        _ask(office, people, study, "output/table.csv", who="chk1")
    people.world.add("eve", Role.ANALYST)
    with pytest.raises(AccessDenied, match="eve is not a member"):
        _ask(office, people, study, "output/table.csv", who="eve")
    with pytest.raises(ReleaseError, match="justification"):
        request_release(office, people.token("ana"), PROJECT, study.root, ["output/table.csv"], " ")


def test_a_chart_goes_with_the_table_behind_it(office, people: People, study: Study) -> None:
    safe_chart(study, SAFE_COUNTS, "output/table.csv", "output/chart.png")
    study.record_job("summarise", ["output/table.csv", "output/chart.png"])
    with pytest.raises(ReleaseError, match=r"drawn from output/table.csv, which is not in this"):
        _ask(office, people, study, "output/chart.png")
    checks = check_request_files(
        office, PROJECT, study.root, ["output/chart.png", "output/table.csv"]
    )
    assert [(c.path, c.kind, c.outcome) for c in checks] == [
        ("output/table.csv", FileKind.TABLE, Outcome.PASSED),
        ("output/chart.png", FileKind.CHART, Outcome.PASSED),
    ]
    link = checks[1].report["link"]  # recorded in the request, and so in the release
    assert link["table"] == "output/table.csv"
    assert link["sha256"] == checks[0].sha256


def test_a_chart_drawn_from_raw_counts_is_refused(office, people: People, study: Study) -> None:
    """17(d): a chart with a passing table beside it, drawn straight from the counts."""
    study.write("output/table.csv", counts_csv(SAFE_COUNTS))
    study.write("output/chart.png", tiny_png())
    study.record_job("summarise", ["output/table.csv", "output/chart.png"])
    with pytest.raises(ReleaseError, match="this one names no table"):
        check_request_files(office, PROJECT, study.root, ["output/table.csv", "output/chart.png"])


def test_a_chart_that_shows_more_than_its_table_is_refused(office, people, study: Study) -> None:
    """A hostile analyst copies a safe chart's link into a picture of the raw counts."""
    from fivesafes.disclosure.charts import read_link

    safe_chart(study, {**SAFE_COUNTS, ("0-17", "M"): 3}, "output/table.csv", "output/chart.png")
    link = read_link(study.root / "output/chart.png")
    assert link is not None and "[REDACTED]" in (study.root / "output/table.csv").read_text()
    raw = check_file(study.write("output/raw.csv", counts_csv({**SAFE_COUNTS, ("0-17", "M"): 3})))
    forged = SafeTable(raw.safe.rows, raw.safe.columns, raw.safe.values.copy(), None, None, None)
    forged.values[:] = [[40, 3], [120, 110]]  # the hidden 3, drawn
    CheckReport("raw", "frequency table", "default", safe=forged).draw(
        study.root / "output/chart.png", link.title, link.note()
    )
    study.record_job("summarise", ["output/table.csv", "output/chart.png"])
    with pytest.raises(ReleaseError, match=r"is not the picture of output/table\.csv"):
        check_request_files(office, PROJECT, study.root, ["output/table.csv", "output/chart.png"])


def test_a_chart_of_an_unsafe_table_is_refused(office, people: People, study: Study) -> None:
    from fivesafes.disclosure.charts import draw_linked

    table = study.write("output/table.csv", counts_csv({**SAFE_COUNTS, ("0-17", "M"): 2}))
    with contextlib.chdir(study.root):
        draw_linked(check_file(table), Path("output/chart.png"), Path("output/table.csv"), None)
    study.record_job("summarise", ["output/table.csv", "output/chart.png"])
    with pytest.raises(ReleaseError, match="needed suppression; draw the chart from the safe"):
        check_request_files(office, PROJECT, study.root, ["output/table.csv", "output/chart.png"])


def test_a_chart_drawn_by_the_chart_command_leaves_with_its_table(
    office, people: People, study: Study, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the R helpers do: write the safe table themselves, then call `fivesafes chart`."""
    from typer.testing import CliRunner

    import fivesafes.cli.disclosure  # noqa: F401  (registers chart)
    from fivesafes.cli.common import app

    written = "age_band,sex,count\n0-17,F,[REDACTED]\n0-17,M,[REDACTED]\n"
    study.write("output/table.csv", written + "18-64,F,120\n18-64,M,110\n")
    monkeypatch.chdir(study.root)
    drawn = CliRunner().invoke(app, ["chart", "output/table.csv", "output/drawing.svg"])
    assert drawn.exit_code == 0, drawn.output
    raw = study.write("output/raw.csv", counts_csv({**SAFE_COUNTS, ("0-17", "M"): 3}))
    refused = CliRunner().invoke(app, ["chart", str(raw), "output/raw.png"])
    assert refused.exit_code == 2 and "needs suppression" in refused.output
    study.record_job("summarise", ["output/table.csv", "output/drawing.svg"])
    checks = check_request_files(
        office, PROJECT, study.root, ["output/table.csv", "output/drawing.svg"]
    )
    assert [c.outcome for c in checks] == [Outcome.PASSED, Outcome.PASSED]


def test_a_chart_whose_table_changed_is_refused(office, people: People, study: Study) -> None:
    safe_chart(study, SAFE_COUNTS, "output/table.csv", "output/chart.png")
    study.write("output/table.csv", counts_csv({**SAFE_COUNTS, ("0-17", "F"): 41}))
    study.record_job("summarise", ["output/table.csv", "output/chart.png"])
    with pytest.raises(ReleaseError, match="has changed since the chart was drawn"):
        check_request_files(office, PROJECT, study.root, ["output/table.csv", "output/chart.png"])


def test_a_table_too_sparse_to_check_is_refused_not_a_crash(office, people, study: Study) -> None:
    """17(e): 420,000 rows under the size cap, each its own pair of categories."""
    sparse_pairs(study.root / "output/table.csv")
    study.record_job("summarise", ["output/table.csv"])
    with pytest.raises(ReleaseError, match=r"cannot be checked as a table: .*categories make"):
        check_request_files(office, PROJECT, study.root, ["output/table.csv"])


def test_text_is_reviewed_by_eye_and_needs_an_exception(office, people, study: Study) -> None:
    study.write("output/notes.md", "# Notes\nCounts come from the asthma codelist.\n")
    study.record_job("summarise", ["output/notes.md"])
    (check,) = check_request_files(office, PROJECT, study.root, ["output/notes.md"])
    assert check.outcome is Outcome.REVIEW_ONLY and check.needs_exception
    with pytest.raises(ReleaseError, match="written exception"):
        _ask(office, people, study, "output/notes.md")


def _png_with_text(size: int) -> bytes:
    png = tiny_png()
    body = b"Comment\x00" + b"x" * size
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + body))
    return png[:33] + chunk + png[33:]  # after the IHDR chunk


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("table.xlsx", b"PK\x03\x04", "XLSX|.xlsx files may not be released"),
        ("table.csv", "a,b\n" + "1,2\n" * 2_000_000, "over the"),
        ("notes.txt", "row for patient_id 42\n", "mentions patient_id"),
        ("extra.json", '{"rows": [{"patient_id": 1}]}', "'patient_id' field"),
        ("extra.json", "[" * 20 + "]" * 20, "nested deeper"),
        ("extra.json", "[" + ",".join(["1"] * 20_000) + "]", "more than 10,000 values"),
        ("extra.json", "{not json", "not valid JSON"),
        (
            "drawing.svg",
            '<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
            "script",
        ),
        ("drawing.svg", "<html/>", "not an SVG"),
        ("chart.png", b"GIF89a", "not a PNG"),
        ("chart.png", tiny_png() + b"hidden rows", "data after the end"),
        ("chart.png", _png_with_text(5000), "bytes of text metadata"),
    ],
)
def test_file_rules_refuse(tmp_path: Path, name: str, content: str | bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(FileRefused, match=message):
        check_release_file(path, name)


def test_file_rules_accept_plain_outputs(tmp_path: Path) -> None:
    rules = FileRules()
    samples = {
        "t.csv": counts_csv(SAFE_COUNTS).encode(),
        "c.png": tiny_png(),
        "c.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="3" height="4"/></svg>',
        "n.md": b"# Method\nCounts by age band.\n",
        "s.json": b'{"rate": 12.5, "groups": ["0-17", "18-64"]}',
    }
    kinds = {}
    for name, content in samples.items():
        (tmp_path / name).write_bytes(content)
        kinds[name] = check_release_file(tmp_path / name, name, rules)
    assert kinds == {
        "t.csv": FileKind.TABLE,
        "c.png": FileKind.CHART,
        "c.svg": FileKind.CHART,
        "n.md": FileKind.TEXT,
        "s.json": FileKind.TEXT,
    }
