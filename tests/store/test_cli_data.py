"""The data-in commands as a user runs them: exit codes, JSON output, messages."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from environment.environment_support import custodian_by_command
from fhir_factory import basic_population, condition, write_ndjson
from fivesafes.cli import app

runner = CliRunner()


def test_validate_reports_every_record_and_exits_nonzero_on_rejects(tmp_path: Path) -> None:
    src = write_ndjson(tmp_path / "a.ndjson", [*basic_population(1), condition("x", "ghost")])
    result = runner.invoke(app, ["validate", str(src), "--format", "json"])
    assert result.exit_code == 1
    document = orjson.loads(result.stdout)
    records = document["records"]
    assert len(records) == len(basic_population(1)) + 1
    rejected = [r for r in records if r["verdict"] == "rejected"]
    assert rejected == [
        {
            "file": str(src),
            "line": len(basic_population(1)) + 1,
            "entry": None,
            "resource_type": "Condition",
            "id": "x",
            "fhir_r4": "valid",
            "verdict": "rejected",
            "findings": [
                {
                    "path": "Condition.subject",
                    "rule": "reference.unresolved",
                    "message": "Patient/ghost is not in this load or in the store",
                    "scope": "environment",
                }
            ],
        }
    ]
    assert document["files"] == [
        {"file": str(src), "records": len(records), "valid_fhir_r4": len(records), "accepted": 5}
    ]


def test_validate_clean_file_exits_zero(tmp_path: Path) -> None:
    src = write_ndjson(tmp_path / "a.ndjson", basic_population(2))
    result = runner.invoke(app, ["validate", str(src)])
    assert result.exit_code == 0
    n = len(basic_population(2))
    assert f"{n} records: {n} would load here, 0 rejected; {n} of {n} FHIR records are valid" in (
        " ".join(result.stdout.split())
    )


def test_load_quarantine_and_catalogue(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    token = ["--token", custodian_by_command(data)]
    src = write_ndjson(tmp_path / "a.ndjson", [*basic_population(3), condition("x", "ghost")])
    loaded = runner.invoke(app, ["load", str(src), *data, *token, "--format", "json"])
    assert loaded.exit_code == 1, loaded.output  # loaded, with one record quarantined
    assert orjson.loads(loaded.stdout)["counts"]["Patient"]["loaded"] == 3
    quarantine = runner.invoke(app, ["quarantine", *data, *token, "--format", "json"])
    assert [q["rule"] for q in orjson.loads(quarantine.stdout)] == ["reference.unresolved"]
    exact = runner.invoke(app, ["catalogue", *data, *token, "--format", "json"])
    catalogue = orjson.loads(exact.stdout)  # a custodian sees exact counts
    patients = next(d for d in catalogue["datasets"] if d["name"] == "patients")
    assert patients["rows"] == 3 and patients["patients"] == 3
    ethnicity = next(c for c in patients["columns"] if c["name"] == "ethnicity")
    assert ethnicity["completeness"] == 0.0  # the factory's patients state no ethnicity
    assert catalogue["loads"][0]["totals"]["quarantined"] == 1
    verified = runner.invoke(app, ["ledger", "verify", *data])
    assert verified.exit_code == 0, verified.output  # the ledger, with the load in it, verifies
    ledger = runner.invoke(app, ["ledger", "export", str(tmp_path / "public"), *data])
    assert ledger.exit_code == 0, ledger.output
    entries = [
        orjson.loads(line)
        for line in (tmp_path / "public" / "entries.ndjson").read_bytes().splitlines()
    ]
    (load_entry,) = [e for e in entries if e["kind"] == "load"]
    assert load_entry["actor"] == "cara"
    assert load_entry["subject"]["files"][0]["file"] == "a.ndjson"
    (read,) = [e for e in entries if e["kind"] == "identifiable_read"]
    assert (read["actor"], read["subject"]["table"]) == ("cara", "quarantine")


def test_load_needs_a_datacustodian_by_command(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    custodian_by_command(data)
    src = write_ndjson(tmp_path / "a.ndjson", basic_population(1))
    anonymous = runner.invoke(app, ["load", str(src), *data])
    assert anonymous.exit_code == 2 and "--token" in anonymous.stderr
    forged = runner.invoke(app, ["load", str(src), *data, "--token", "not-a-token"])
    assert forged.exit_code == 2 and "refused" in forged.stderr
    assert not (tmp_path / "data" / "store.duckdb").exists()


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    result = runner.invoke(
        app, ["load", str(tmp_path / "nope"), *data, "--token", custodian_by_command(data)]
    )
    assert result.exit_code == 2
    assert "no such file or folder" in " ".join(result.stderr.split())


def test_catalogue_before_any_load_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["catalogue", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "fivesafes load" in result.stderr
