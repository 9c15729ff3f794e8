"""Bad input as a careless supplier sends it, through `validate` and `load` as a custodian runs
them: each ends in a finding that names the file, the line and the field, or in a clean
refusal, with an exit code that tells a script which (docs/loading-data.md), never in a
traceback, and never in silence."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

from environment.environment_support import custodian_by_command
from fhir_factory import basic_population, write_ndjson
from fivesafes.cli import app
from store_holder import store_held_by_another_process

runner = CliRunner()
HEADER = "organisation_code,staff_group,month,fte\n"
ROW = "A81001,Midwives,2024-01-01,3\n"


def ndjson(path: Path, resources: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_ndjson(path, resources)


def flat(text: str) -> str:
    """Output as one line, whatever width the console wrapped it at."""
    return " ".join(text.split())


def validate(*paths: Path) -> tuple[Result, list[dict[str, object]]]:
    result = runner.invoke(app, ["validate", *map(str, paths), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    records = orjson.loads(result.stdout)["records"] if result.stdout.strip() else []
    return result, records


def findings(records: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [
        (Path(str(r["file"])).name, r["line"], f["path"], f["rule"], f["message"])
        for r in records
        for f in r["findings"]  # type: ignore[attr-defined]
    ]


@pytest.fixture
def custodian(tmp_path: Path) -> list[str]:
    """--data-dir and --token of the first account of a new environment (a custodian)."""
    data = ["--data-dir", str(tmp_path / "data")]
    return [*data, "--token", custodian_by_command(data)]


def test_a_csv_that_is_not_utf8_names_the_file_line_and_field(tmp_path: Path) -> None:
    csv = tmp_path / "workforce.csv"
    csv.write_bytes((HEADER + ROW).encode() + b"A8\xff001,Midwives,2024-02-01,3\n")
    result, records = validate(csv)
    assert result.exit_code == 1
    assert findings(records) == [
        (
            "workforce.csv",
            3,
            "workforce.organisation_code",
            "text.encoding",
            "byte 0xff is not UTF-8 text; save the file as UTF-8",
        )
    ]


def test_load_of_a_csv_that_is_not_utf8_quarantines_the_row(
    tmp_path: Path, custodian: list[str]
) -> None:
    csv = tmp_path / "workforce.csv"
    csv.write_bytes((HEADER + ROW).encode() + b"A81002,Midwives,2024-02-01,\xa33\n")
    loaded = runner.invoke(app, ["load", str(csv), *custodian, "--format", "json"])
    assert loaded.exit_code == 1, loaded.output
    assert orjson.loads(loaded.stdout)["counts"]["workforce"]["loaded"] == 1
    quarantine = runner.invoke(app, ["quarantine", *custodian, "--format", "json"])
    [reject] = orjson.loads(quarantine.stdout)
    assert (reject["line"], reject["path"], reject["rule"]) == (
        3,
        "workforce.fte",
        "text.encoding",
    )
    assert reject["message"] == "byte 0xa3 is not UTF-8 text; save the file as UTF-8"


def test_a_utf16_file_is_one_finding_for_the_file(tmp_path: Path) -> None:
    csv = tmp_path / "workforce.csv"
    csv.write_bytes((HEADER + ROW).encode("utf-16"))
    ndjson = tmp_path / "Patient.ndjson"
    ndjson.write_bytes(orjson.dumps(basic_population(1)[0]).decode().encode("utf-16"))
    result, records = validate(csv, ndjson)
    assert result.exit_code == 3
    assert {(f[0], f[3]) for f in findings(records)} == {
        ("workforce.csv", "text.encoding"),
        ("Patient.ndjson", "text.encoding"),
    }
    assert all("save it as UTF-8" in str(f[4]) for f in findings(records))


def test_a_csv_field_over_the_limit_costs_its_line_only(tmp_path: Path) -> None:
    csv = tmp_path / "workforce.csv"
    csv.write_text(HEADER + "A81001,Midwives,2024-01-01," + "9" * 140_000 + "\n" + ROW)
    result, records = validate(csv)
    assert result.exit_code == 1
    assert findings(records) == [
        ("workforce.csv", 2, "workforce", "csv.syntax", "a field is longer than 131,072 characters")
    ]
    assert [r["verdict"] for r in records] == ["rejected", "accepted"]


@pytest.mark.parametrize(
    ("value", "column"),
    [
        ("nan", "fte"),
        ("inf", "fte"),
        ("1e999", "fte"),
        ("1_0", "fte"),
        ("١٢", "fte"),
        ("20240101", "month"),
        ("2024-W01-1", "month"),
    ],
)
def test_csv_values_python_would_take_but_the_column_does_not(
    tmp_path: Path, value: str, column: str
) -> None:
    row = {"organisation_code": "A81001", "staff_group": "Midwives", "month": "2024-01-01"}
    row["fte"] = "3"
    row[column] = value
    csv = tmp_path / "workforce.csv"
    csv.write_text(HEADER + ",".join(row.values()) + "\n")
    result, records = validate(csv)
    assert result.exit_code == 3
    [(_, line, path, rule, message)] = findings(records)
    assert (line, path, rule) == (2, f"workforce.{column}", "csv.value")
    assert message.startswith(f"{value!r} is not ")  # type: ignore[attr-defined]


def test_an_empty_file_does_not_pass(tmp_path: Path) -> None:
    empty = tmp_path / "Patient.ndjson"
    empty.write_text("\n \n")
    header_only = tmp_path / "workforce.csv"
    header_only.write_text(HEADER)
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(orjson.dumps({"resourceType": "Bundle", "type": "batch"}))
    result, records = validate(empty, header_only, bundle)
    assert result.exit_code == 3
    assert [(f[0], f[3]) for f in findings(records)] == [
        ("Patient.ndjson", "file.empty"),
        ("bundle.json", "file.empty"),
        ("workforce.csv", "file.empty"),
    ]


def test_exit_codes_say_all_some_or_none_loaded(tmp_path: Path, custodian: list[str]) -> None:
    good = ndjson(tmp_path / "good" / "a.ndjson", basic_population(1))
    bad = tmp_path / "bad" / "Basic.ndjson"
    bad.parent.mkdir()
    bad.write_text('{"resourceType": "Basic", "code": {"text": "x"}}\n{"resourceType"\n')
    assert runner.invoke(app, ["validate", str(good)]).exit_code == 0
    assert runner.invoke(app, ["validate", str(good), str(bad)]).exit_code == 1
    assert runner.invoke(app, ["validate", str(bad)]).exit_code == 3
    none = runner.invoke(app, ["load", str(bad), *custodian])
    assert none.exit_code == 3
    assert "nothing was loaded: all 2 records were quarantined" in flat(none.stderr)
    some = runner.invoke(app, ["load", str(good), str(bad), *custodian])
    assert some.exit_code == 1
    assert "2 records were quarantined; the rest loaded" in flat(some.stderr)
    retried = runner.invoke(app, ["load", str(good), str(bad), *custodian])
    assert retried.exit_code == 1 and "already loaded" in retried.stdout  # as the load it repeats
    again = runner.invoke(app, ["load", str(good), *custodian])
    assert again.exit_code == 0, again.output  # unchanged records count as loaded
    quarantine = runner.invoke(app, ["quarantine", *custodian, "--format", "json"])
    assert len(orjson.loads(quarantine.stdout)) == 4  # both rejected loads kept their rejects


def test_a_link_out_of_the_folder_refuses_the_load(tmp_path: Path, custodian: list[str]) -> None:
    folder = tmp_path / "drop"
    ndjson(folder / "a.ndjson", basic_population(1))
    elsewhere = ndjson(tmp_path / "elsewhere" / "b.ndjson", basic_population(1))
    (folder / "more").symlink_to(elsewhere.parent)
    for command in (["validate", str(folder)], ["load", str(folder), *custodian]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert f"{folder / 'more'}: it is a symbolic link to {elsewhere.parent}" in flat(
            result.stderr
        )
    assert "nothing was checked or loaded" in flat(result.stderr)
    assert not (tmp_path / "data" / "store.duckdb").exists()


def test_files_left_out_on_purpose_are_said(tmp_path: Path) -> None:
    ndjson(tmp_path / "a.ndjson", basic_population(1))
    (tmp_path / "Patient.ndjson.gz").write_bytes(b"\x1f\x8b")
    (tmp_path / "_notes.json").write_text("{}")
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 0
    assert "left out 2 file(s) that are not data" in flat(result.stderr)
    assert "Patient.ndjson.gz" in result.stderr and "_notes.json" in result.stderr


def _unprivileged(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as an account that file permissions apply to (root ignores them)."""
    command = [sys.executable, "-c", "from fivesafes.cli import app; app()", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test unreadable files as root"
        command = [setpriv, "--inh-caps=-all", "--bounding-set=-all", *command]
    env = os.environ | {"COLUMNS": "1000"}
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def test_an_unreadable_file_or_folder_refuses_with_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    ndjson(folder / "a.ndjson", basic_population(1))
    secret = ndjson(folder / "b.ndjson", basic_population(1))
    locked = folder / "sub"
    ndjson(locked / "c.ndjson", basic_population(1))
    secret.chmod(0)
    locked.chmod(0)
    try:
        result = _unprivileged("validate", str(folder))
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = flat(result.stderr)
    for path in (secret, locked):
        assert f"{path}: permission denied" in message
    assert "nothing was checked or loaded" in message


def test_a_store_held_by_another_process_is_a_clear_error(
    tmp_path: Path, custodian: list[str]
) -> None:
    source = ndjson(tmp_path / "a.ndjson", basic_population(1))
    assert runner.invoke(app, ["load", str(source), *custodian]).exit_code == 0
    store = tmp_path / "data" / "store.duckdb"
    with store_held_by_another_process(store) as pid:
        for command in (["load", str(source), *custodian], ["quarantine", *custodian]):
            result = runner.invoke(app, command)
            assert result.exit_code == 2, result.output
            assert f"the store {store} is in use by another process (process {pid})" in (
                flat(result.stderr)
            )


def test_ndjson_named_json_says_how_to_name_it(tmp_path: Path) -> None:
    misnamed = tmp_path / "Patient.json"
    misnamed.write_bytes(b"\n".join(orjson.dumps(r) for r in basic_population(1)))
    result, records = validate(misnamed)
    assert result.exit_code == 3
    [(_, line, _, rule, message)] = findings(records)
    assert (line, rule) == (2, "json.malformed")
    assert str(message).endswith("(a file of one resource a line is NDJSON: name it .ndjson)")


def test_synth_to_a_place_it_cannot_write_is_a_clear_error(tmp_path: Path) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    result = runner.invoke(app, ["synth", "--patients", "2", "--out", str(in_the_way)])
    assert result.exit_code == 2
    assert f"cannot write the population to {in_the_way}: File exists" in flat(result.stderr)
