"""Engines for the query tests: DuckDB always; Spark (one shared session) when marked."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import Rows, make_engine


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "spark: runs on Apache Spark (slow to start)")


ON_CLUSTER = os.environ.get("FIVESAFES_SPARK_CLUSTER") == "1"
"""Run the Spark tests on a standalone cluster (a master and two workers on loopback) instead
of in local mode: ``FIVESAFES_SPARK_TESTS=1 FIVESAFES_SPARK_CLUSTER=1``."""


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    if ON_CLUSTER:
        from fivesafes.query.spark_cluster import cluster_session, standalone_cluster

        with standalone_cluster(workers=2) as cluster:
            session = cluster_session(cluster, "fivesafes-tests")
            session.sparkContext.setLogLevel("ERROR")
            yield session
            session.stop()
        return
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("fivesafes-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.default.parallelism", "1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


from spark_switch import RUN_SPARK  # noqa: E402

_SPARK_SKIP = pytest.mark.skipif(
    not RUN_SPARK, reason="Spark spec runs take ~8 s each: set FIVESAFES_SPARK_TESTS=1"
)
ENGINES = ["reference", "duckdb", pytest.param("spark", marks=[pytest.mark.spark, _SPARK_SKIP])]


@pytest.fixture(params=ENGINES)
def engine_for(request: pytest.FixtureRequest) -> Callable[[Rows], Any]:
    """A function from input rows to an engine of the parametrised kind over them."""
    spark = request.getfixturevalue("spark_session") if request.param == "spark" else None
    return lambda rows: make_engine(request.param, rows, spark)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many generated examples each engine was compared on (see test_generative.py)."""
    stats = sys.modules.get("test_generative")
    if stats is not None and stats.STATS:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(stats.STATS.items()))
        terminalreporter.write_line(f"generative query tests: {counts}")
