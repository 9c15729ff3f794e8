"""The Spark engine on a standalone cluster: a master and two workers on loopback, tasks run
in executors on both workers, the same answers as DuckDB, and every JVM stopped afterwards.

The cluster's driver runs in a process of its own: a process has one SparkContext, and the
other Spark tests share one session (on a cluster or in local mode) that must outlive this
test -- asking for a session here would hand back that one, and stopping it would stop theirs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from test_layout import _definition

from fivesafes.query.engines import DuckDBEngine
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.layout import export_layout
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from fivesafes.synth import generate
from spark_switch import RUN_SPARK

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(not RUN_SPARK, reason="set FIVESAFES_SPARK_TESTS=1"),
]

DRIVER = """
import os, sys
from pathlib import Path
import orjson
sys.path.insert(0, sys.argv[2])
from test_layout import _definition
from fivesafes.query.engines import SparkEngine
from fivesafes.query.spark_cluster import cluster_session, standalone_cluster
from fivesafes.store.layout import read_layout

with standalone_cluster(workers=2) as cluster:
    pids = cluster.pids
    assert cluster.master.startswith("spark://127.0.0.1:"), cluster.master
    workers = cluster.alive_workers()
    session = cluster_session(cluster, "fivesafes-cluster-test")
    try:
        engine = SparkEngine(session)
        engine.read_layout(read_layout(Path(sys.argv[1])))
        rows = engine.dataset(_definition().query()).sort_by("patient_id").to_pylist()
        # each executor's Python worker daemon: one per executor JVM
        executors = session.sparkContext.parallelize(range(8), 8).map(lambda _: os.getppid())
        where = len(set(executors.collect()))
    finally:
        session.stop()
answer = {"rows": rows, "workers": workers, "executors": where, "pids": pids}
sys.stdout.write("ANSWER " + orjson.dumps(answer).decode() + "\\n")
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_definition_runs_on_two_workers_as_on_duckdb(tmp_path: Path) -> None:
    generate(tmp_path / "synth", 400, seed=4)
    data = DataDir(tmp_path / "data", tmp_path / "key")
    create_key(data.key_file)  # as environment init does: a store never makes its own key
    with Store.open(data) as store:
        load(store, [tmp_path / "synth"], today=date(2026, 1, 1))
        layout = export_layout(store.con, tmp_path / "export", part_patients=100)
        expected = DuckDBEngine(store.con).dataset(_definition().query())
    helpers = str(Path(__file__).parents[1] / "store")
    driver = subprocess.run(
        [sys.executable, "-c", DRIVER, str(layout.folder), helpers],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert driver.returncode == 0, driver.stderr[-3000:]
    line = next(x for x in driver.stdout.splitlines() if x.startswith("ANSWER "))
    answer = orjson.loads(line[7:])
    assert answer["workers"] == 2
    assert len(answer["rows"]) > 200
    as_json = orjson.loads(orjson.dumps(expected.sort_by("patient_id").to_pylist()))
    assert answer["rows"] == as_json
    assert answer["executors"] == 2  # the tasks ran in two executors, one on each worker
    assert not [pid for pid in answer["pids"] if _alive(pid)]  # every JVM it started is gone
