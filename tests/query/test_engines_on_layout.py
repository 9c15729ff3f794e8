"""Spark reads the store's Parquet export -- the very files, no conversion -- and answers as
DuckDB does over the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from test_layout import _definition, store_dir  # noqa: F401

from conftest import RUN_SPARK
from fivesafes.query.engines import DuckDBEngine, SparkEngine
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.layout import export_layout, read_layout

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(not RUN_SPARK, reason="set FIVESAFES_SPARK_TESTS=1"),
]


def test_spark_reads_the_same_files_and_answers_the_same(
    store_dir: DataDir,  # noqa: F811
    tmp_path: Path,
    spark_session: Any,
) -> None:
    with Store.open(store_dir) as store:
        layout = export_layout(store.con, tmp_path / "export", part_patients=70)
        expected = DuckDBEngine(store.con, part_patients=70).dataset(_definition().query())
    engine = SparkEngine(spark_session)
    engine.read_layout(read_layout(layout.folder))
    got = engine.dataset(_definition().query())
    assert got.num_rows > 100
    assert got.column_names == expected.column_names
    assert got.sort_by("patient_id").to_pylist() == expected.sort_by("patient_id").to_pylist()
