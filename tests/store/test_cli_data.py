"""The data-in commands as a user runs them: exit codes, JSON output, messages."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from fhir_factory import basic_population, condition, write_ndjson
from fivesafes.cli import app

runner = CliRunner()


def test_validate_reports_every_record_and_exits_nonzero_on_rejects(tmp_path: Path) -> None:
    src = write_ndjson(tmp_path / "a.ndjson", [*basic_population(1), condition("x", "ghost")])
    result = runner.invoke(app, ["validate", str(src), "--format", "json"])
    assert result.exit_code == 1
    records = orjson.loads(result.stdout)
    assert len(records) == len(basic_population(1)) + 1
    rejected = [r for r in records if r["verdict"] == "rejected"]
    assert rejected == [
        {
            "file": str(src),
            "line": len(basic_population(1)) + 1,
            "entry": None,
            "resource_type": "Condition",
            "id": "x",
            "verdict": "rejected",
            "findings": [
                {
                    "path": "Condition.subject",
                    "rule": "reference.unresolved",
                    "message": "Patient/ghost is not in this load or in the store",
                }
            ],
        }
    ]


def test_validate_clean_file_exits_zero(tmp_path: Path) -> None:
    src = write_ndjson(tmp_path / "a.ndjson", basic_population(2))
    result = runner.invoke(app, ["validate", str(src)])
    assert result.exit_code == 0
    assert f"{len(basic_population(2))} records accepted, 0 rejected" in result.stdout


def test_load_quarantine_and_catalogue(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    src = write_ndjson(tmp_path / "a.ndjson", [*basic_population(3), condition("x", "ghost")])
    loaded = runner.invoke(app, ["load", str(src), *data, "--format", "json"])
    assert loaded.exit_code == 0
    assert orjson.loads(loaded.stdout)["counts"]["Patient"]["loaded"] == 3
    quarantine = runner.invoke(app, ["quarantine", *data, "--format", "json"])
    assert [q["rule"] for q in orjson.loads(quarantine.stdout)] == ["reference.unresolved"]
    catalogue = orjson.loads(runner.invoke(app, ["catalogue", *data, "--format", "json"]).stdout)
    patients = next(d for d in catalogue["datasets"] if d["name"] == "patients")
    assert patients["rows"] == 3 and patients["patients"] == 3
    ethnicity = next(c for c in patients["columns"] if c["name"] == "ethnicity")
    assert ethnicity["completeness"] == 0.0  # the factory's patients state no ethnicity
    assert catalogue["loads"][0]["totals"]["quarantined"] == 1


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["load", str(tmp_path / "nope"), "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr


def test_catalogue_before_any_load_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["catalogue", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "fivesafes load" in result.stderr
