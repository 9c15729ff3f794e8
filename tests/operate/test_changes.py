"""Upgrade and rollback of the control plane's schema through the command line: a rollback
takes the newest revision's tables away and keeps what the older revisions hold; the upgrade
brings them back, and the environment opens as before."""

from __future__ import annotations

from pathlib import Path

from governance_support import account
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from fivesafes.cli import app
from fivesafes.governance import ControlPlane, Role, create_account
from fivesafes.store.config import DataDir


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
