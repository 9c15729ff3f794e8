"""The release commands in-process: check, request, list, show, approve, publish, verify."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from release_support import (
    PROJECT,
    SAFE_COUNTS,
    People,
    approved_project,
    as_environment,
    counts_csv,
    held_job,
)
from typer.testing import CliRunner

import fivesafes.cli.release  # noqa: F401  (registers the commands)
from fivesafes.cli.common import app
from fivesafes.governance import ControlPlane
from fivesafes.ledger.keys import write_key
from fivesafes.ledger.note import NoteSigner
from fivesafes.release import ReleaseOffice
from fivesafes.store.config import DataDir


def _environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> People:
    """An environment in ``root`` as the commands open it: default database, the real clock."""
    monkeypatch.delenv("FIVESAFES_DATABASE_URL", raising=False)
    data_dir = DataDir.from_env(root)
    with ControlPlane.open(data_dir) as cp:
        people = approved_project(ReleaseOffice(cp, data_dir))
    as_environment(data_dir)
    return people


def test_release_commands_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "env"
    people = _environment(root, monkeypatch)
    for checker in ("chk1", "chk2"):
        write_key(tmp_path / f"{checker}.pem", people.key(checker))
    study = held_job(DataDir.from_env(root))
    study.write("output/table.csv", counts_csv({**SAFE_COUNTS, ("0-17", "M"): 3}))
    study.record_job("summarise", ["output/table.csv"])
    runner = CliRunner()

    def run(*args: str, who: str, code: int = 0) -> str:
        env = {"FIVESAFES_TOKEN": people.token(who), "COLUMNS": "200"}
        result = runner.invoke(app, ["release", *args, "--data-dir", str(root)], env=env)
        assert result.exit_code == code, result.output
        return result.stdout if code == 0 else result.output

    common = ["--project-id", PROJECT, "--job", "job-cli"]
    checked = run("check", "output/table.csv", *common, who="ana")
    assert "safe version" in checked and "small_numbers" in checked and "--exception" in checked
    refused = run(
        "request", "output/table.csv", *common, "--justification", "report", who="ana", code=2
    )
    assert "written exception" in refused
    drafted = run(
        "request",
        "output/table.csv",
        *common,
        "--justification",
        "Annual report",
        "--draft",
        who="ana",
    )
    release_id = drafted.split("draft ")[1].split()[0]
    asked = run(
        "submit",
        release_id,
        "--exception",
        "output/table.csv=the suppressed version is enough",
        "--receipt",
        str(tmp_path / "receipt.json"),
        who="ana",
    )
    assert f"release request {release_id} submitted" in asked
    assert orjson.loads((tmp_path / "receipt.json").read_bytes())["checkpoint"]
    assert release_id in run("list", who="chk1")
    run(
        "approve", release_id, "--comments", "fine", "--key", str(tmp_path / "chk1.pem"), who="chk1"
    )
    shown = orjson.loads(run("show", release_id, "--format", "json", who="chk2"))
    assert shown["votes"] == [] and shown["sealed_votes"] == 1
    run(
        "approve", release_id, "--comments", "fine", "--key", str(tmp_path / "chk2.pem"), who="chk2"
    )
    run(
        "approve",
        release_id,
        "--comments",
        "x",
        "--key",
        str(tmp_path / "chk1.pem"),
        who="apo",
        code=2,
    )
    published = run("publish", release_id, who="ana")
    folder = root / "released" / PROJECT / release_id
    assert str(folder) in published.replace("\n", "")
    assert "[REDACTED]" in (folder / "output/table.csv").read_text()
    assert "verify" in run("verify", str(folder), who="ana")
    with ControlPlane.open(DataDir.from_env(root)) as cp:
        vkey = cp.ledger.verifier.vkey
    assert "verify" in run("verify", str(folder), "--vkey", vkey, who="ana")
    other = NoteSigner(vkey.split("+")[0], Ed25519PrivateKey.generate()).verifier.vkey
    refused = run("verify", str(folder), "--vkey", other, who="ana", code=2)
    assert "no signature from a trusted key" in refused
    (folder / "output/table.csv").write_text("age_band,sex,count\n0-17,M,3\n")
    assert "does not match its hash" in run("verify", str(folder), who="ana", code=2)
