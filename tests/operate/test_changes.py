"""Upgrade and rollback of the control plane's schema through the command line: a rollback
takes the newest revision's tables away and keeps what the older revisions hold; the upgrade
brings them back, and the environment opens as before."""

from __future__ import annotations

import json
from pathlib import Path

from governance_support import account
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from fivesafes.cli import app
from fivesafes.environment.settings import Settings, write_settings
from fivesafes.governance import ControlPlane, Role, create_account
from fivesafes.store.config import DataDir
from fivesafes.store.pseudonym import create_key


def _tables(root: Path) -> set[str]:
    engine = create_engine(f"sqlite:///{root / 'control.sqlite'}")
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_and_rollback_through_the_command_line(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data", tmp_path / "data" / "keys" / "pseudonym.key")
    with ControlPlane.open(data) as cp:
        create_account(cp, None, account("cus", Role.DATA_CUSTODIAN, today=cp.today()))
    runner = CliRunner()
    where = ["--data-dir", str(data.root)]
    rolled = runner.invoke(app, ["database", "rollback", "0003", *where])
    assert rolled.exit_code == 0, rolled.output
    assert "incidents" not in _tables(data.root) and "accounts" in _tables(data.root)
    upgraded = runner.invoke(app, ["database", "upgrade", *where])
    assert upgraded.exit_code == 0, upgraded.output
    assert {"incidents", "second_factors", "datasets"} <= _tables(data.root)
    with ControlPlane.open(data) as cp, cp.transaction() as session:
        from fivesafes.governance.tables import Account

        assert session.get(Account, "cus") is not None
    bad = runner.invoke(app, ["database", "rollback", "no-such-revision", *where])
    assert bad.exit_code == 2 and "no-such-revision" in bad.output


def test_the_emergency_change_path_runs_as_documented(tmp_path: Path) -> None:
    """The documented emergency path, command by command, while the environment is suspended:
    back up, make the change, register it as a deviation linked to what was done, resume."""
    from governance_support import World

    data = DataDir.from_env(tmp_path / "data")
    create_key(data.key_file)  # an environment, as `fivesafes environment init` makes one
    with ControlPlane.open(data) as cp:
        world = World.start(cp)
        world.add("ann", Role.ANALYST)
        cus = world.tokens["cus"]
    write_settings(data.root, Settings("Test environment"))
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(app, [*args, "--data-dir", str(data.root), "--token", cus])
        assert done.exit_code == 0, done.output
        return done.stdout

    run("incident", "suspend", "emergency change: a leaked token")
    key = tmp_path / "offline" / "backup.key"
    assert runner.invoke(app, ["backup", "key", "--out", str(key)]).exit_code == 0
    run("backup", "create", str(tmp_path / "backups" / "before.sealed"), "--key-file", str(key))
    run("user", "change", "ann", "--disable")  # the change itself
    with ControlPlane.open(data) as cp:
        entries = [json.loads(e) for e in cp.ledger.entries()]
    done = [e["index"] for e in entries if e["kind"] in ("environment", "account")][-3:]
    links = [arg for index in done for arg in ("--entry", str(index))]
    run("incident", "open", "Emergency change: ann's token leaked, account disabled.",
        "--category", "deviation", "--severity", "medium", *links)  # fmt: skip
    run("incident", "resume")
    with ControlPlane.open(data) as cp:
        entries = [json.loads(e) for e in cp.ledger.entries()]
    changes = [e["subject"].get("change") for e in entries if e["kind"] == "environment"]
    assert changes == ["suspended", "backup", "resumed"]
    deviation = [e for e in entries if e["kind"] == "incident"][-1]["subject"]
    assert deviation["category"] == "deviation" and deviation["entries"] == sorted(done)
