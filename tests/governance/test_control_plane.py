"""The control-plane database: migrations build exactly the model, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from governance_support import World
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from fivesafes.governance import ControlPlane
from fivesafes.governance.control import LEDGER_FILE
from fivesafes.governance.database import normalise_url, open_engine
from fivesafes.governance.tables import Base
from fivesafes.release.tables import ReleaseBase
from fivesafes.store.config import DataDir

DECLARED = [Base.metadata, ReleaseBase.metadata]
"""Every table the migrations make: governance's own, and the release stage's (revision 0003)."""


def test_migrations_build_exactly_the_declared_tables(cp: ControlPlane) -> None:
    with cp.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), DECLARED)  # type: ignore[arg-type]
    assert drift == []
    declared = {name for metadata in DECLARED for name in metadata.tables}
    assert declared <= set(inspect(cp.engine).get_table_names())


def test_opening_again_migrates_nothing_and_keeps_data(cp: ControlPlane) -> None:
    World.start(cp)
    url = cp.engine.url.render_as_string(hide_password=False)
    again = open_engine(url)
    with again.connect() as connection:
        version = MigrationContext.configure(connection).get_current_revision()
        accounts = connection.exec_driver_sql("SELECT count(*) FROM accounts").scalar()
    again.dispose()
    config = Config()
    config.set_main_option("script_location", "fivesafes.governance:migrations")
    assert version == ScriptDirectory.from_config(config).get_current_head()
    assert accounts == 1


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def _tamper(cp: ControlPlane, ledger_file: Path) -> None:
    """Change entry 1 the way someone with write access to the database could."""
    edit = "UPDATE {t} SET entry = {new} WHERE idx = 1"
    if cp.engine.dialect.name == "sqlite":
        with sqlite3.connect(ledger_file) as con:
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                con.execute(edit.format(t="entries", new="entry || ' '"))
            con.execute("DROP TRIGGER entries_no_update")
            con.execute(edit.format(t="entries", new="entry || ' '"))
        return
    with pytest.raises(DBAPIError, match="append-only"), cp.engine.begin() as con:
        con.exec_driver_sql(edit.format(t="ledger_entries", new="entry || '\\x20'::bytea"))
    with cp.engine.begin() as con:
        con.exec_driver_sql("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
        con.exec_driver_sql(edit.format(t="ledger_entries", new="entry || '\\x20'::bytea"))


def test_the_ledger_is_append_only_and_verify_catches_an_edit(
    cp: ControlPlane, tmp_path: Path
) -> None:
    World.start(cp)
    cp.ledger.checkpoint()
    assert cp.verify_ledger().ok
    _tamper(cp, tmp_path / "data" / LEDGER_FILE)
    report = cp.verify_ledger()
    assert not report.ok
    assert any(p.where == "entry 1" for p in report.problems)


def test_the_ledger_survives_reopening_on_both_backends(control_url: str, tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "data", tmp_path / "keys" / "pseudonym.key")
    with ControlPlane.open(data_dir, url=control_url) as cp:
        World.start(cp)
        size, root = cp.ledger.size, cp.ledger.checkpoint()
    with ControlPlane.open(data_dir, url=control_url) as cp:
        assert (cp.ledger.size, cp.ledger.latest_checkpoint) == (size, root)
        assert cp.ledger.consistency(2).verify()
        assert cp.verify_ledger().ok
