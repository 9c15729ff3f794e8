"""A load killed with SIGKILL part-way leaves the store exactly as it was, and usable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fhir_factory import basic_population, write_ndjson
from test_load import TODAY, _snapshot

from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load

CHILD = """
import sys
from datetime import date
from pathlib import Path
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load

root = Path(sys.argv[1])
def said(file, n):
    print("progress", file, n, flush=True)
with Store.open(DataDir(root / "data", root / "key")) as store:
    load(store, [root / "big.ndjson"], today=date(2026, 1, 1), progress=said)
print("committed", flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.4, 1.2])
def test_kill_minus_nine_leaves_store_unchanged(tmp_path: Path, delay: float) -> None:
    data_dir = DataDir(tmp_path / "data", tmp_path / "key")
    with Store.open(data_dir) as store:
        load(store, [write_ndjson(tmp_path / "small.ndjson", basic_population(5))], today=TODAY)
        before = _snapshot(store)
    write_ndjson(tmp_path / "big.ndjson", basic_population(12_000))

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    first = child.stdout.readline()  # the load is under way once it reports progress
    assert first.startswith("progress"), first
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL  # killed before it could commit

    with Store.open(data_dir) as store:
        assert _snapshot(store) == before
        assert store.con.execute("SELECT count(*) FROM meta.loads").fetchone() == (1,)
        report = load(store, [tmp_path / "big.ndjson"], today=TODAY)  # still usable
        patients = report.counts["Patient"]
        assert report.committed and patients["loaded"] + patients["unchanged"] == 12_000
