"""Spark reads the store's Parquet export -- the very files, no conversion -- and answers as
DuckDB does over the store: in patient-range parts (one query a range's files) and as one
query over everything, for datasets and for measures, with opted-out patients left out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from test_layout import _definition, store_dir  # noqa: F401

from fivesafes import Measures, years
from fivesafes.query.dates import INTERVAL
from fivesafes.query.engines import DuckDBEngine, SparkEngine
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.layout import export_layout, read_layout
from fivesafes.tables import clinical_events, patients
from spark_switch import RUN_SPARK

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(not RUN_SPARK, reason="set FIVESAFES_SPARK_TESTS=1"),
]


def _measures() -> Measures:
    measures = Measures()
    ce = clinical_events
    during = ce.where(ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date)))
    measures.define_measure(
        "recorded",
        numerator=during.exists_for_patient(),
        denominator=patients.is_alive_on(INTERVAL.start_date),
        group_by={"sex": patients.sex},
        intervals=years(3).starting_on("2021-01-01"),
    )
    return measures


@pytest.mark.parametrize("parts", [True, False], ids=["in parts", "one query"])
def test_spark_reads_the_same_files_and_answers_the_same(
    store_dir: DataDir,  # noqa: F811
    tmp_path: Path,
    spark_session: Any,
    parts: bool,
) -> None:
    with Store.open(store_dir) as store:
        layout = export_layout(store.con, tmp_path / "export", part_patients=70)
        duckdb = DuckDBEngine(store.con, part_patients=70)
        opted_out = [
            r[0]
            for r in store.con.execute(
                "SELECT patient_id FROM analysis.patients ORDER BY patient_id LIMIT 40"
            ).fetchall()
        ]
        expected = duckdb.dataset(_definition().query(), exclude=opted_out)
        expected_measures = duckdb.measures(_measures().query(), exclude=opted_out)
    assert len(layout.ranges) == 5
    engine = SparkEngine(spark_session, parts=parts)
    engine.read_layout(read_layout(layout.folder))
    got = engine.dataset(_definition().query(), exclude=opted_out)
    assert got.num_rows > 100
    assert not set(got["patient_id"].to_pylist()) & set(opted_out)
    assert got.column_names == expected.column_names
    assert got.to_pylist() == expected.to_pylist()  # in patient order, part after part
    measures = engine.measures(_measures().query(), exclude=opted_out)
    assert measures.to_pylist() == expected_measures.to_pylist()
