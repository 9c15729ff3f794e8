"""A load killed with SIGKILL takes its workers with it: nothing it started keeps running, and
nothing keeps the store, the ledger or the control plane open after it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from kill_support import holders, marked
from release_support import as_environment

from fhir_factory import basic_population, write_ndjson
from fivesafes.governance import ControlPlane, NewAccount, Role, create_account, enrol
from fivesafes.governance.database import DATABASE_URL_ENV
from fivesafes.store.chunks import PARALLEL_FROM_BYTES
from fivesafes.store.config import DataDir

pytestmark = pytest.mark.slow  # real processes, killed for real: seconds each


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _described(pids: set[int]) -> list[str]:
    found = []
    for pid in sorted(pids):
        try:
            found.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes()[:120].decode())
        except OSError:
            continue
    return found


def _custodian(root: Path) -> str:
    url = f"sqlite:///{root / 'control.sqlite'}"
    with ControlPlane.open(DataDir.from_env(root), url=url) as cp:
        today = cp.today()
        who = NewAccount(
            person_id="cara",
            public_name="Cara Custodian",
            organisation="Test Trust",
            roles=frozenset({Role.DATA_CUSTODIAN}),
            expires_on=today + timedelta(days=30),
            trained_on=today - timedelta(days=30),
        )
        token = enrol(cp, create_account(cp, None, who).code).token
    as_environment(DataDir.from_env(root))
    return token


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="on one core a load checks in-process")
def test_a_killed_load_leaves_no_worker_running_and_no_file_open(tmp_path: Path) -> None:
    root = tmp_path / "env"
    token = _custodian(root)
    big = write_ndjson(tmp_path / "big.ndjson", basic_population(12_000))
    assert big.stat().st_size >= PARALLEL_FROM_BYTES  # large enough to be checked by workers
    name, value = "FIVESAFES_TEST_TREE", secrets.token_hex(8)
    mark = f"{name}={value}".encode()
    env = {k: v for k, v in os.environ.items() if k != DATABASE_URL_ENV}
    env.update({"FIVESAFES_TOKEN": token, name: value})
    fivesafes = Path(sys.executable).with_name("fivesafes")
    load = subprocess.Popen(
        [str(fivesafes), "load", str(big), "--data-dir", str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # the load, its forkserver and two workers: records are being checked
        busy = _wait_for(lambda: len(marked(mark)) >= 4 or load.poll() is not None, 180)
        assert busy and load.poll() is None, "the load ended before its workers were seen"
    finally:
        os.kill(load.pid, signal.SIGKILL)
        load.wait()
    assert load.returncode == -signal.SIGKILL
    assert _wait_for(lambda: not marked(mark), 15), f"still running: {_described(marked(mark))}"
    files = [root / "store.duckdb", root / "store.duckdb.wal"]
    files += [root / f"{db}.sqlite{end}" for db in ("ledger", "control") for end in ("", "-wal")]
    assert holders(files) == []
