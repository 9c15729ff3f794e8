"""The `fivesafes ledger` commands as an operator and an auditor meet them: on an honest ledger,
on a tampered or corrupt one (a failure that names the problem, never a traceback), and with the
deployment's public name as the log's origin."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

import fivesafes.cli.trust  # noqa: F401  (registers the commands)
from environment.environment_support import outbox_code
from fivesafes.cli.common import app
from fivesafes.ledger import PUBLIC_NAME_ENV

LEDGER = "ledger.sqlite"
CONTACT = "cus@example.org"
INIT = ("environment", "init", "--name", "Test", "--custodian", "cus", "--custodian-name", "Cus",
        "--organisation", "Trust", "--contact", CONTACT)  # fmt: skip


def run(data_dir: Path, *args: str, code: int = 0, name: str | None = None) -> Result:
    """Run one command in-process; it must end with ``code`` and never with a traceback."""
    env = {PUBLIC_NAME_ENV: name} if name else {}
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args} crashed") from result.exception
    assert result.exit_code == code, result.output
    return result


def initialised(root: Path, name: str | None = None) -> str:
    """A new environment at ``root``; its custodian's own token, from the code sent to them."""
    run(root, *INIT, name=name)
    return run(root, "user", "enrol", outbox_code(root, CONTACT), name=name).stdout.strip()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory whose ledger holds a custodian's account and a few logins."""
    for variable in ("FIVESAFES_DATABASE_URL", "FIVESAFES_KEY_FILE", PUBLIC_NAME_ENV):
        monkeypatch.delenv(variable, raising=False)
    root = tmp_path / "data"
    monkeypatch.setenv("FIVESAFES_TOKEN", initialised(root))
    run(root, "user", "whoami")
    run(root, "user", "list")
    return root


def edit(data_dir: Path, *statements: str) -> None:
    """Edit the ledger file as someone with write access would: triggers dropped first."""
    with sqlite3.connect(data_dir / LEDGER) as db:
        for table in ("entries", "checkpoints"):
            db.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            db.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        for statement in statements:
            db.execute(statement)


def test_an_honest_ledger_verifies_and_names_its_origin(data_dir: Path) -> None:
    report = orjson.loads(run(data_dir, "ledger", "verify", "--format", "json").stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["origin"].endswith(".localhost/ledger")  # no public name: a local origin
    assert "OK" in run(data_dir, "ledger", "verify").stdout


# Issue 18, hole 9: `ledger verify` on an edited leaf_hash column raised
# sqlite3.OperationalError. Concatenating to a BLOB in SQLite yields TEXT that is not UTF-8.
EDITS = {
    "leaf_hash made TEXT that is not UTF-8": "UPDATE entries SET leaf_hash = leaf_hash || 'x'",
    "leaf_hash a number": "UPDATE entries SET leaf_hash = 1 WHERE idx = 1",
    "entry bytes edited": "UPDATE entries SET entry = replace(entry, 'Cus', 'Eve') WHERE idx = 1",
    "checkpoint note edited": "UPDATE checkpoints SET note = replace(note, '\n1\n', '\n2\n')",
    "checkpoint time edited": "UPDATE checkpoints SET created = 'last Tuesday'",
    "entries table dropped": "DROP TABLE entries",
    "leaf_hash column dropped": "ALTER TABLE entries DROP COLUMN leaf_hash",
}


@pytest.mark.parametrize("statement", EDITS.values(), ids=list(EDITS))
def test_verify_reports_an_edited_ledger_as_a_failure(data_dir: Path, statement: str) -> None:
    edit(data_dir, statement)
    result = run(data_dir, "ledger", "verify", code=1)
    assert "FAILED" in result.stdout
    report = orjson.loads(run(data_dir, "ledger", "verify", "--format", "json", code=1).stdout)
    assert report["ok"] is False and all(p["message"] for p in report["problems"])


@pytest.mark.parametrize("damage", [b"", b"not a database at all " * 200], ids=["empty", "junk"])
def test_verify_reports_a_corrupt_file_as_a_failure(data_dir: Path, damage: bytes) -> None:
    (data_dir / LEDGER).write_bytes(damage)
    for suffix in ("-wal", "-shm"):
        (data_dir / f"{LEDGER}{suffix}").unlink(missing_ok=True)
    result = run(data_dir, "ledger", "verify", code=1)
    assert "FAILED" in result.stdout and "cannot be read as a ledger" in result.stdout


@pytest.mark.parametrize("command", [("public",), ("prove", "1"), ("publish", "out")])
def test_other_ledger_commands_refuse_a_damaged_ledger_clearly(
    data_dir: Path, command: tuple[str, ...], tmp_path: Path
) -> None:
    edit(data_dir, "UPDATE entries SET leaf_hash = leaf_hash || 'x' WHERE idx = 1")
    args = [str(tmp_path / a) if a == "out" else a for a in command]
    result = run(data_dir, "ledger", *args, code=2)
    assert "error:" in result.output and "ledger" in result.output


def test_the_public_name_is_the_origin_for_life(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("FIVESAFES_DATABASE_URL", "FIVESAFES_KEY_FILE", "FIVESAFES_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    root, name = tmp_path / "data", "sde.example-icb.nhs.uk"
    initialised(root, name)
    published = run(root, "ledger", "publish", str(tmp_path / "www"), name=name).stdout
    assert f"origin: {name}/ledger" in published
    checkpoint = (tmp_path / "www" / "checkpoint").read_text()
    assert checkpoint.startswith(f"{name}/ledger\n")
    assert f"— {name}/ledger " in checkpoint  # the key is named after the origin too
    # The log keeps its origin: another public name, or none, cannot relabel it.
    refused = run(root, "ledger", "prove", "1", code=2, name="other.example.org")
    assert "origin" in refused.output and f"{name}/ledger" in refused.output
    assert "OK" in run(root, "ledger", "verify").stdout
    # A public name that is not a host name is refused before anything is opened.
    bad = run(root, "ledger", "verify", code=2, name="https://sde.example.nhs.uk/")
    assert PUBLIC_NAME_ENV in bad.output
