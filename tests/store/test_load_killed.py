"""A load killed with SIGKILL part-way leaves the store exactly as it was, and usable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_load import TODAY, _snapshot

from fhir_factory import basic_population, condition, write_ndjson
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


INCREMENTAL_CHILD = """
import sys, time
from datetime import date
from pathlib import Path
from fivesafes.store import analysis, chunks, load as loading
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store

root = Path(sys.argv[1])
chunks.PART_BYTES = 20_000  # several parts, so a kill can land while they are checked

def update(con):
    rebuilt = analysis.update_analysis_layer(con)
    print("rebuilt" if rebuilt else "updated in place", flush=True)
    return rebuilt

loading.update_analysis_layer = update

def said(file, n):
    print("progress", file, n, flush=True)

def announce(report):
    print("about to commit", flush=True)
    time.sleep(60)

with Store.open(DataDir(root / "data", root / "key")) as store:
    loading.load(store, [root / "change.ndjson"], today=date(2026, 1, 1), progress=said,
                 workers=2, before_commit=announce)
print("committed", flush=True)
"""


@pytest.mark.parametrize("when", ["first part", "update done, before commit"])
def test_kill_minus_nine_during_an_incremental_load_leaves_store_unchanged(
    tmp_path: Path, when: str
) -> None:
    """A load of new and changed records into a larger store takes the update path (only the
    touched patients' rows remade); killed while checking, or with every analysis row it
    changes already written but not committed, it leaves the store exactly as it was."""
    data_dir = DataDir(tmp_path / "data", tmp_path / "key")
    create_key(data_dir.key_file)
    stored = basic_population(1_000)
    with Store.open(data_dir) as store:
        load(store, [write_ndjson(tmp_path / "all.ndjson", stored)], today=TODAY)
        before = _snapshot(store)
    new = basic_population(1_020)[len(stored) :]  # 20 new patients
    changed = [condition(f"c{i}", f"p{i}", code="195967001") for i in range(0, 1_000, 50)]
    moved = [condition(f"c{i}", f"p{i + 1}") for i in range(1, 1_000, 100)]
    write_ndjson(tmp_path / "change.ndjson", [*new, *changed, *moved])

    child = subprocess.Popen(
        [sys.executable, "-c", INCREMENTAL_CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    said = []
    while True:
        line = child.stdout.readline()
        assert line, f"the load ended early after {said}"
        said.append(line.strip())
        if when == "first part" and line.startswith("progress"):
            break
        if when != "first part" and line.startswith("about to commit"):
            assert "updated in place" in said  # the update path, not a rebuild
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL

    with Store.open(data_dir) as store:
        assert _snapshot(store) == before
        assert store.con.execute("SELECT count(*) FROM meta.loads").fetchone() == (1,)
        report = load(store, [tmp_path / "change.ndjson"], today=TODAY)  # and usable
        assert report.committed and report.counts["Condition"]["updated"] == 30
