"""The trust commands, end to end in-process: bootstrap, accounts, a project, opt-outs, ledger."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

import fivesafes.cli  # noqa: F401  (registers the commands)
from environment.environment_support import address, outbox_code
from fivesafes.cli.common import app

FORM = """\
title = "Asthma admissions after heatwaves"
purpose = "research"
purpose_description = "How heatwaves change asthma admissions."
public_benefit = "Better heatwave planning."
legal_basis = "UK GDPR 6(1)(e) and 9(2)(j)"
members = ["ann"]
repository = "https://example.org/asthma-heat"
planned_outputs = ["weekly admission counts"]
organisation = "Test University"

[datasets]
patients = ["patient_id", "sex"]
"""


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()

    def __call__(self, *args: str, token: str | None = None, code: int = 0) -> str:
        env = {"FIVESAFES_TOKEN": token} if token else {}
        result = self.runner.invoke(app, [*args, "--data-dir", str(self.data_dir)], env=env)
        assert result.exit_code == code, result.output
        return result.stdout

    def create(self, person: str, *roles: str, token: str | None) -> str:
        """A new account and, enrolled by the person with the code they were sent, its token;
        with no token, the environment's initialisation and its first custodian."""
        if token is None:
            assert roles == ("data_custodian",)
            self(
                *("environment", "init", "--name", "Test", "--custodian", person),
                *("--custodian-name", person.title(), "--organisation", "Trust"),
                *("--contact", address(person)),
            )
        else:
            role_args = [a for r in roles for a in ("--role", r)]
            self(
                *("user", "create", person, "--name", person.title(), "--organisation", "Trust"),
                *("--contact", address(person), *role_args),
                token=token,
            )
        code = outbox_code(self.data_dir, address(person))
        return self("user", "enrol", code).strip().splitlines()[-1]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("FIVESAFES_DATABASE_URL", raising=False)
    monkeypatch.delenv("FIVESAFES_KEY_FILE", raising=False)
    return Cli(tmp_path / "data")


@pytest.fixture
def cli_on_either(cli: Cli, control_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The commands with the control plane named by $FIVESAFES_DATABASE_URL, as in production."""
    if control_url.startswith("postgresql"):
        monkeypatch.setenv("FIVESAFES_DATABASE_URL", control_url)
    return cli


def test_a_project_from_bootstrap_to_a_verified_public_ledger(
    cli_on_either: Cli, control_url: str, tmp_path: Path
) -> None:
    cli = cli_on_either
    cus = cli.create("cus", "data_custodian", token=None)
    assert cus.startswith("fst_")
    ann = cli.create("ann", "analyst", token=cus)
    val = cli.create("val", "approver", token=cus)
    key = tmp_path / "val.pem"
    assert "registered" in cli("user", "keygen", "--out", str(key), token=val)
    form = tmp_path / "form.toml"
    form.write_text(FORM)
    cli("project", "submit", "heat", str(form), token=ann)
    out = cli(
        "project",
        "approve",
        "heat",
        "--until",
        "2099-01-01",
        "--reasons",
        "Sound.",
        "--key",
        str(key),
        token=val,
    )
    assert "approve, signed by val" in out
    (project,) = orjson.loads(cli("project", "list", "--format", "json"))
    assert (project["status"], project["members"]) == ("approved", ["ann"])
    waits = orjson.loads(cli("project", "waits", "--format", "json"))
    assert waits["summary"]["awaiting_decision"]["finished"] == 1

    optouts = tmp_path / "optouts.csv"
    optouts.write_text("9990000018,national\n9990000026,type1\n")
    assert "2 new" in cli("opt-out", "load", str(optouts), token=cus)
    assert "recorded" in cli("opt-out", "add", "9990000034", "--kind", "type1", token=cus)
    cli("opt-out", "report", token=ann, code=2)

    assert "OK" in cli("ledger", "verify")
    public = orjson.loads(cli("ledger", "public", "--format", "json"))
    assert [r["kind"] for r in public].count("approval") == 1
    assert "9990000018" not in str(public)
    proof = orjson.loads(cli("ledger", "prove", "3", "--format", "json"))
    assert proof["index"] == 3
    export = tmp_path / "export"
    cli("ledger", "export", str(export))
    assert (export / "entries.ndjson").read_bytes().count(b"\n") >= 10
    assert b"9990000018" not in (export / "entries.ndjson").read_bytes()
    on_sqlite = control_url.startswith("sqlite")
    assert (cli.data_dir / "control.sqlite").exists() == on_sqlite
    assert (cli.data_dir / "ledger.sqlite").exists() == on_sqlite


def test_commands_refuse_clearly_without_or_with_a_bad_token(cli: Cli) -> None:
    cus = cli.create("cus", "data_custodian", token=None)
    result = cli.runner.invoke(app, ["user", "list", "--data-dir", str(cli.data_dir)])
    assert result.exit_code == 2 and "--token" in result.output
    result = cli.runner.invoke(
        app, ["user", "list", "--data-dir", str(cli.data_dir)], env={"FIVESAFES_TOKEN": "fst_x"}
    )
    assert result.exit_code == 2 and "refused: unknown token" in result.output
    result = cli.runner.invoke(
        app, ["user", "list", "--data-dir", str(cli.data_dir)], env={"FIVESAFES_TOKEN": cus}
    )
    assert result.exit_code == 0 and "acting as cus" in result.output
    second_init = cli(
        *("environment", "init", "--name", "Again", "--custodian", "eve"),
        *("--custodian-name", "Eve", "--organisation", "X", "--contact", "eve@example.org"),
        code=2,
    )
    assert second_init == ""


def test_a_tampered_ledger_fails_verify(cli: Cli) -> None:
    cli.create("cus", "data_custodian", token=None)
    with sqlite3.connect(cli.data_dir / "ledger.sqlite") as con:
        con.execute("DROP TRIGGER entries_no_update")
        con.execute("UPDATE entries SET entry = replace(entry, 'Cus', 'Eve') WHERE idx = 1")
    assert "FAILED" in cli("ledger", "verify", code=1)
