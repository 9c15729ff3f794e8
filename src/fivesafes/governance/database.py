"""Where the control plane lives and how it is opened: SQLite by default, PostgreSQL in production.

``FIVESAFES_DATABASE_URL`` (for example ``postgresql://fivesafes@db/fivesafes``) points the control
plane at PostgreSQL; without it the control plane is ``control.sqlite`` in the data directory, so a
laptop needs nothing installed. Every open runs the Alembic migrations up to head, so a newer
release upgrades the schema in place and nobody has to remember a separate step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

DATABASE_URL_ENV = "FIVESAFES_DATABASE_URL"
SQLITE_FILE = "control.sqlite"


def database_url(root: Path) -> str:
    """The control-plane URL: ``$FIVESAFES_DATABASE_URL`` or a SQLite file under ``root``."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return normalise_url(url)
    return f"sqlite:///{root / SQLITE_FILE}"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would otherwise want psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _enforce_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``: the newest unless told (tests of an upgrade)."""
    config = Config()
    config.set_main_option("script_location", "fivesafes.governance:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_engine(url: str) -> Engine:
    """An engine on ``url`` with the schema migrated to head."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _enforce_sqlite_foreign_keys)
    migrate(engine)
    return engine
