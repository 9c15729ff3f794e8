"""The release tables come from the control plane's migrations (revision 0003), on SQLite and on
PostgreSQL: never from ``create_all`` at run time; and a control plane whose release tables an
older version made with ``create_all`` is upgraded in place, keeping its requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.orm import Session

from fivesafes.governance import ControlPlane
from fivesafes.governance.database import migrate
from fivesafes.governance.tables import Base
from fivesafes.release import ReleaseError, ReleaseOffice
from fivesafes.release.tables import ReleaseBase, ReleaseRequestRow, missing_release_tables
from fivesafes.store.config import DataDir

RELEASE_TABLES = ["release_files", "release_requests", "release_votes"]


@pytest.fixture
def engine(control_url: str) -> Iterator[Engine]:
    """An engine on a fresh, empty database (each backend), not yet migrated."""
    made = create_engine(control_url)
    yield made
    made.dispose()


def _head() -> str | None:
    config = Config()
    config.set_main_option("script_location", "fivesafes.governance:migrations")
    return ScriptDirectory.from_config(config).get_current_head()


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _drift(engine: Engine) -> list[object]:
    """What differs between the database and every declared table (governance's, release's)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, [Base.metadata, ReleaseBase.metadata]))  # type: ignore[arg-type]


def _request_row(release_id: str) -> ReleaseRequestRow:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return ReleaseRequestRow(
        release_id=release_id,
        project_id="p",
        requester="ana",
        study="/study",
        justification="why",
        state="submitted",
        note="",
        request_sha256="0" * 64,
        created_at=now,
        updated_at=now,
    )


def test_revision_0003_makes_the_release_tables_and_0002_has_none(engine: Engine) -> None:
    migrate(engine, "0002")
    assert missing_release_tables(engine) == RELEASE_TABLES
    migrate(engine)
    assert _revision(engine) == _head()
    assert missing_release_tables(engine) == []
    assert _drift(engine) == []
    config = Config()
    config.set_main_option("script_location", "fivesafes.governance:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert missing_release_tables(engine) == RELEASE_TABLES


def test_tables_an_older_version_made_with_create_all_are_adopted(engine: Engine) -> None:
    migrate(engine, "0002")
    ReleaseBase.metadata.create_all(engine)  # what the release office did before 0003
    with Session(engine) as session, session.begin():
        session.add(_request_row("rel-old"))
    migrate(engine)
    assert _revision(engine) == _head()
    with Session(engine) as session:
        assert session.scalars(select(ReleaseRequestRow.release_id)).all() == ["rel-old"]
    assert _drift(engine) == []


def test_the_office_refuses_a_database_not_migrated_and_makes_no_tables(
    engine: Engine, control_url: str, tmp_path: Path
) -> None:
    migrate(engine, "0002")
    data_dir = DataDir(tmp_path / "data", tmp_path / "keys" / "pseudonym.key")
    unmigrated = ControlPlane(engine, lambda _read_only: None, tmp_path / "keys")  # type: ignore[arg-type,return-value]
    with pytest.raises(ReleaseError, match="no release_files, release_requests, release_votes"):
        ReleaseOffice(unmigrated, data_dir)
    assert set(RELEASE_TABLES).isdisjoint(inspect(engine).get_table_names())
    with ControlPlane.open(data_dir, url=control_url) as cp:  # opening migrates to head
        ReleaseOffice(cp, data_dir)
        assert missing_release_tables(cp.engine) == []
