"""Control-plane fixtures: every control-plane test runs on SQLite and on a real PostgreSQL.

The PostgreSQL server is a throwaway one started for the session from Debian's ``postgresql``
package (binaries in ``/usr/lib/postgresql/<version>/bin``), in a temporary directory, listening
only on 127.0.0.1 on a free port, with trust authentication and fsync off (it holds nothing worth
keeping). ``initdb`` refuses to run as root, so under root it runs as the ``postgres`` user. Each
test gets its own fresh database. Without the binaries the PostgreSQL cases skip, saying so.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from governance_support import ManualClock

from fivesafes.governance import ControlPlane
from fivesafes.store.config import DataDir

PG_USER = "fivesafes"


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A running throwaway PostgreSQL server; yields its base URL (no database name)."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server not installed (apt-get install postgresql): no initdb")
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = tempfile.gettempdir()
    if run_as and subprocess.run([*run_as, "test", "-x", base], check=False).returncode:
        base = "/tmp"  # the postgres user cannot reach TMPDIR (under a folder only root may enter)
    root = Path(tempfile.mkdtemp(prefix="fivesafes-pg-", dir=base))
    if run_as:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*run_as, *args], check=True, capture_output=True)

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "-A", "trust", "-E", "UTF8", "-N")
    # No Unix socket: its path (at most 107 bytes) would not fit under a deeply nested TMPDIR,
    # and the tests connect over TCP anyway.
    options = f"-p {port} -c unix_socket_directories= -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(root / "log"),
        "-w",
        "start",
    )
    try:
        yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _admin(base_url: str) -> psycopg.Connection:
    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(f"{plain}/postgres", autocommit=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty control-plane database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'control.sqlite'}"
        return
    base = request.getfixturevalue("postgres_server")
    name = "t_" + secrets.token_hex(6)
    with _admin(base) as con:
        con.execute(f"CREATE DATABASE {name}")
    yield f"{base}/{name}"
    with _admin(base) as con:
        con.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cp(control_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[ControlPlane]:
    data_dir = DataDir(tmp_path / "data", tmp_path / "keys" / "pseudonym.key")
    with ControlPlane.open(data_dir, url=control_url, clock=clock) as plane:
        yield plane
