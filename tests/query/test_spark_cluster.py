"""The Spark engine on a standalone cluster: a master and two workers on loopback, tasks run
in executors on both workers, the same answers as DuckDB, and every JVM stopped afterwards."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from test_layout import _definition

from conftest import RUN_SPARK
from fivesafes.query.engines import DuckDBEngine, SparkEngine
from fivesafes.query.spark_cluster import cluster_session, standalone_cluster
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.layout import export_layout, read_layout
from fivesafes.store.load import load
from fivesafes.synth import generate

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(not RUN_SPARK, reason="set FIVESAFES_SPARK_TESTS=1"),
]
INDEX = date(2024, 3, 31)


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
    with Store.open(data) as store:
        load(store, [tmp_path / "synth"], today=date(2026, 1, 1))
        layout = export_layout(store.con, tmp_path / "export", part_patients=100)
        expected = DuckDBEngine(store.con).dataset(_definition().query())
    with standalone_cluster(workers=2) as cluster:
        pids = cluster.pids
        assert cluster.master.startswith("spark://127.0.0.1:")
        assert cluster.alive_workers() == 2
        session = cluster_session(cluster, "fivesafes-cluster-test")
        try:
            engine = SparkEngine(session)
            engine.read_layout(read_layout(layout.folder))
            got = engine.dataset(_definition().query())
            # each executor's Python worker daemon: one per executor JVM
            executors = session.sparkContext.parallelize(range(8), 8).map(lambda _: os.getppid())
            where = set(executors.collect())
        finally:
            session.stop()
    assert got.num_rows > 200
    assert got.sort_by("patient_id").to_pylist() == expected.sort_by("patient_id").to_pylist()
    assert len(where) == 2  # the tasks ran in two executors, one on each worker
    assert not [pid for pid in pids if _alive(pid)]  # every JVM the cluster started is gone
