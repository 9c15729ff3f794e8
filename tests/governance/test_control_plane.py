"""The control-plane database: migrations build exactly the model, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from governance_support import World
from sqlalchemy import inspect

from fivesafes.governance import ControlPlane
from fivesafes.governance.database import normalise_url, open_engine
from fivesafes.governance.tables import Base


def test_migrations_build_exactly_the_declared_tables(cp: ControlPlane) -> None:
    with cp.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert drift == []
    assert set(Base.metadata.tables) <= set(inspect(cp.engine).get_table_names())


def test_opening_again_migrates_nothing_and_keeps_data(cp: ControlPlane) -> None:
    World.start(cp)
    url = cp.engine.url.render_as_string(hide_password=False)
    again = open_engine(url)
    with again.connect() as connection:
        version = MigrationContext.configure(connection).get_current_revision()
        accounts = connection.exec_driver_sql("SELECT count(*) FROM accounts").scalar()
    again.dispose()
    assert version == "0001"
    assert accounts == 1


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
