"""A load killed with SIGKILL part-way leaves the store exactly as it was, and usable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_load import TODAY, _snapshot

from fhir_factory import basic_population, write_ndjson
from fivesafes.store.chunks import plan
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key

CHILD = """
import sys
from datetime import date
from pathlib import Path
from fivesafes.store.chunks import plan
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load

root = Path(sys.argv[1])
def said(file, n):
    print("progress", file, n, flush=True)
with Store.open(DataDir(root / "data", root / "key")) as store:
    load(store, [root / "big.ndjson"], today=date(2026, 1, 1), progress=said, workers=2)
print("committed", flush=True)
"""


@pytest.mark.parametrize("when", ["first part", "middle part", "after the last part"])
def test_kill_minus_nine_leaves_store_unchanged(tmp_path: Path, when: str) -> None:
    data_dir = DataDir(tmp_path / "data", tmp_path / "key")
    create_key(data_dir.key_file)
    with Store.open(data_dir) as store:
        load(store, [write_ndjson(tmp_path / "small.ndjson", basic_population(5))], today=TODAY)
        before = _snapshot(store)
    write_ndjson(tmp_path / "big.ndjson", basic_population(12_000))
    parts = len(plan([tmp_path / "big.ndjson"]))
    assert parts >= 3
    # progress is reported once per checked part; the last report precedes the whole-load
    # checks, the merge and the analysis rebuild, so killing there hits the SQL phase.
    kill_after = {"first part": 1, "middle part": parts // 2, "after the last part": parts}[when]

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    for _ in range(kill_after):
        line = child.stdout.readline()
        assert line.startswith("progress"), line
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL  # killed before it could commit

    with Store.open(data_dir) as store:
        assert _snapshot(store) == before
        assert store.con.execute("SELECT count(*) FROM meta.loads").fetchone() == (1,)
        report = load(store, [tmp_path / "big.ndjson"], today=TODAY)  # still usable
        patients = report.counts["Patient"]
        assert report.committed and patients["loaded"] + patients["unchanged"] == 12_000
