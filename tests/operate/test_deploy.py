"""The deployment script's own steps on loopback: ``deploy/install.sh`` installs the folders,
config, TLS-only PostgreSQL cluster, the gocryptfs volume the data directory lives on and the
systemd units; ``systemd-analyze verify`` accepts the units; ``deploy/run_units.py`` starts
their very commands (there is no systemd here), the volume's first; the control plane is
migrated by the API unit's own pre-start step; ``fivesafes doctor`` passes on the result, the
data directory and keys on the encrypted volume; and PostgreSQL refuses a connection without
TLS."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from fivesafes.environment.configuration import load
from fivesafes.environment.sealed import new_key
from fivesafes.environment.settings import Settings, write_settings
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.pseudonym import create_key

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
sys.path.insert(0, str(DEPLOY))

from run_units import environment, parse_unit  # noqa: E402
from volume_support import needs_gocryptfs  # noqa: E402

FIVESAFES = Path(sys.executable).parent / "fivesafes"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _needs(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing: .ci/run installs it")
        pytest.skip(f"{tool} is not installed")


def _wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.slow
@pytest.mark.postgres
def test_install_start_and_doctor_on_loopback(tmp_path: Path) -> None:
    _needs("openssl")
    needs_gocryptfs()
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        pytest.skip("PostgreSQL is not installed")
    if os.geteuid() == 0:  # the postgres account must reach its cluster: not under TMPDIR's
        tmp_path = Path(tempfile.mkdtemp(prefix="fivesafes-deploy-", dir="/tmp"))  # root-only
        os.chmod(tmp_path, 0o755)
    try:
        _rehearse(tmp_path)
    finally:
        if os.geteuid() == 0:
            shutil.rmtree(tmp_path, ignore_errors=True)


def _rehearse(tmp_path: Path) -> None:
    root, port, api_port = tmp_path / "root", _free_port(), _free_port()
    user = "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
    db_user = "postgres" if os.geteuid() == 0 else user
    new_key(tmp_path / "offline" / "backup.key")
    (tmp_path / "terms.txt").write_text("Use the data only for the approved purpose.")
    given = tmp_path / "deployment.toml"
    given.write_text(
        f'public_name = "loopback.example"\nat_rest = "volume"\nos_updates = "managed"\n'
        f"api_port = {api_port}\n"
        f'backup_key = "{tmp_path / "offline" / "backup.key"}"\n'
        f'terms_file = "{tmp_path / "terms.txt"}"\n'
    )
    install = [
        "bash", str(DEPLOY / "install.sh"), "--config", str(given), "--root", str(root),
        "--fivesafes", str(FIVESAFES), "--pg-port", str(port), "--user", user,
        "--db-user", db_user,
    ]  # fmt: skip
    done = subprocess.run(install, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    units = root / "etc" / "systemd" / "system"
    names = sorted(p.name for p in units.iterdir())
    assert names == [
        "fivesafes-api.service",
        "fivesafes-postgresql.service",
        "fivesafes-volume.service",
        "fivesafes.target",
    ]
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(
            ["systemd-analyze", "verify", "fivesafes.target", "fivesafes-api.service",
             "fivesafes-postgresql.service", "fivesafes-volume.service"],
            capture_output=True, text=True, check=False,
            env={**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:"},
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
    elif os.environ.get("CI"):
        pytest.fail("systemd-analyze is missing: .ci/run installs systemd")

    env = environment(parse_unit(units / "fivesafes-api.service"))
    config = load(env)
    assert not _mounted(config.data_dir), "install.sh leaves the volume to its unit"
    volume = _start(units, "fivesafes-volume.service")
    try:
        assert _mounted(config.data_dir)
        _serve(units, env, port, api_port)
    finally:
        volume.send_signal(signal.SIGTERM)
        out, _ = volume.communicate(timeout=90)
    assert "stopped fivesafes-volume.service" in out
    assert not _mounted(config.data_dir)


def _mounted(path: Path) -> bool:
    return any(
        line.split()[4] == str(path) and " - fuse.gocryptfs " in line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
    )


def _start(units: Path, *services: str) -> subprocess.Popen[str]:
    """``run_units.py`` starting ``services``, once it says each has started (a unit's
    pre-start steps print between)."""
    runner = subprocess.Popen(
        [sys.executable, str(DEPLOY / "run_units.py"), str(units), *services],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert runner.stdout is not None
    for service in services:
        while not (line := runner.stdout.readline()).startswith(f"started {service}"):
            assert line and not line.startswith(("failed", "exited")), line
    return runner


def _serve(units: Path, env: dict[str, str], port: int, api_port: int) -> None:
    config = load(env)
    # made an environment the API opens, as `fivesafes environment init` makes one: its key
    # and its settings (its first custodian, in PostgreSQL, is not what this test is about)
    data = DataDir(config.data_dir, config.key_file)
    create_key(data.key_file)
    write_settings(data.root, Settings("Deployed environment"))
    with Store.open(data):
        pass
    runner = _start(units, "fivesafes-postgresql.service", "fivesafes-api.service")
    try:
        _wait_for(port)
        _wait_for(api_port, 90)  # after the API unit's own pre-start step migrated the schema
        doctor = subprocess.run(
            [str(FIVESAFES), "doctor"], env=env, capture_output=True, text=True, check=False
        )
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "PostgreSQL reached over TLS" in doctor.stdout
        assert (
            f"the key folder is on a gocryptfs volume mounted at {config.data_dir}" in doctor.stdout
        )
        assert f"the API on 127.0.0.1:{api_port} serves its certificate over TLS" in doctor.stdout
        plain = config.database_url.split("?")[0] + "?sslmode=disable"
        with pytest.raises(psycopg.OperationalError, match=r"no encryption|SSL off"):
            psycopg.connect(plain.replace("postgresql+psycopg", "postgresql")).close()
    finally:
        runner.send_signal(signal.SIGTERM)
        out, _ = runner.communicate(timeout=90)
    assert "stopped fivesafes-postgresql.service" in out
