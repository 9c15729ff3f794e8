"""DuckDB extracting in patient ranges gives exactly the result of one query over everyone.

The engine splits a population larger than ``part_patients`` into ``patient_id`` ranges
and runs the definition once per range; these tests force tiny parts on small data
(generated, and a few thousand patients with ids spread over the whole signed 64-bit
range like the store's) and compare with the single query.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from generative import DATASETS, MEASURES, tables
from harness import arrow_tables, duckdb_engine
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_generative import assert_same, expected_results

from fhir_factory import basic_population, write_ndjson
from fivesafes import Dataset, Measures, codelist, months, years
from fivesafes.model import TABLES
from fivesafes.query import engines
from fivesafes.query.dates import INTERVAL
from fivesafes.query.engines import DuckDBEngine, arrow_schema
from fivesafes.store.analysis import insert_clustered
from fivesafes.store.database import Store, analysis_ddl
from fivesafes.store.layout import patient_ranges
from fivesafes.store.load import load
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import medications, patients, practice_registrations

WHOLE = 10**12
"""A part size no test store reaches: one query over everyone."""
INDEX = date(2024, 3, 31)
CODES = ["195967001", "60621009", "77176002", "38341003"]
INT64 = (-(2**63), 2**63 - 1)


@given(st.integers(1, 10**6), st.integers(*INT64), st.integers(0, 2**64), st.integers(1000, 10**6))
def test_ranges_cover_low_to_high_in_order_with_equal_widths(count, low, span, part) -> None:
    high = min(low + span, INT64[1])
    ranges = patient_ranges(count, low, high, part)
    assert ranges[0][0] == low and ranges[-1][1] == high
    for (_, end), (start, _) in pairwise(ranges):
        assert start == end + 1
    assert all(a <= b for a, b in ranges)
    # as many parts as part sizes in the count, unless there are fewer ids than that
    assert len(ranges) == min(-(-count // part), high - low + 1)
    widths = {b - a + 1 for a, b in ranges}
    assert max(widths) - min(widths) <= 1


def _store(n: int, seed: int) -> duckdb.DuckDBPyConnection:
    """``n`` patients with random signed 64-bit ids, their registrations, events and
    medications (some rows for ids not in ``patients``), clustered as the store does."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.arange(*INT64, 2**51, dtype=np.int64), n, replace=False)
    days = np.datetime64("2015-01-01") + rng.integers(0, 3650, 20 * n)

    def of_patients(size: int) -> pa.Array:
        strangers = rng.integers(*INT64, size, dtype=np.int64)
        return pa.array(np.where(rng.random(size) < 0.02, strangers, rng.choice(ids, size)))

    def null_some(values: np.ndarray, share: float) -> pa.Array:
        return pa.array(values, mask=rng.random(len(values)) < share)

    data = {
        "patients": {
            "patient_id": pa.array(ids),
            "sex": pa.array(rng.choice(["female", "male", "unknown"], n)),
            "date_of_birth": pa.array(
                np.datetime64("1930-01-01") + 30 * rng.integers(0, 1000, n)
            ).cast(pa.date32()),
            "date_of_death": null_some(days[:n], 0.8).cast(pa.date32()),
        },
        "practice_registrations": {
            "patient_id": of_patients(2 * n),
            "start_date": pa.array(days[: 2 * n] - 1500).cast(pa.date32()),
            "end_date": null_some(days[2 * n : 4 * n], 0.5).cast(pa.date32()),
            "imd_decile": null_some(rng.integers(1, 11, 2 * n), 0.1),
        },
        "clinical_events": {
            "patient_id": of_patients(10 * n),
            "date": pa.array(days[: 10 * n]).cast(pa.date32()),
            "snomedct_code": pa.array(rng.choice(CODES, 10 * n)),
            "numeric_value": null_some(rng.integers(100, 500, 10 * n) / 10, 0.3),
        },
        "medications": {
            "patient_id": of_patients(5 * n),
            "date": pa.array(days[10 * n : 15 * n]).cast(pa.date32()),
            "dmd_code": pa.array(rng.choice(["a", "b"], 5 * n)),
        },
    }
    con = duckdb.connect()
    con.execute("CREATE SCHEMA analysis")
    for table in TABLES.values():
        con.execute(analysis_ddl(table).replace(" NOT NULL", ""))
    for name, values in data.items():
        full = {
            c: values.get(c, pa.nulls(len(values["patient_id"]))) for c in TABLES[name].column_names
        }
        con.register("incoming", pa.table(full).cast(arrow_schema(name)))
        insert_clustered(con, name, "SELECT * FROM incoming")
        con.unregister("incoming")
    return con


def _definition() -> Dataset:
    registration = practice_registrations.for_patient_on(INDEX)
    dataset = Dataset()
    dataset.define_population(registration.exists_for_patient() | ce.exists_for_patient())
    dataset.sex = patients.sex
    dataset.age = patients.age_on(INDEX)
    dataset.imd = registration.imd_decile
    recent = ce.where(ce.date.is_on_or_after(INDEX - years(3)))
    dataset.events = recent.count_for_patient()
    dataset.codes = ce.snomedct_code.count_distinct_for_patient()
    dataset.mean = ce.numeric_value.mean_for_patient()
    dataset.last_value = ce.sort_by(ce.date).last_for_patient().numeric_value
    dataset.first_code = ce.sort_by(ce.numeric_value).first_for_patient().snomedct_code
    drugs = medications.where(medications.dmd_code.is_in(["a"])).sort_by(medications.date)
    first_drug = drugs.first_for_patient().date
    dataset.first_drug = first_drug
    # a patient-level value drawn from events, used inside another event condition
    after_drug = ce.where(ce.date > first_drug)
    dataset.after_drug = after_drug.exists_for_patient()
    dataset.as_child = ce.where(ce.date < patients.date_of_birth + years(18)).count_for_patient()
    return dataset


def test_parts_give_the_rows_of_one_query_in_patient_order() -> None:
    con = _store(3000, seed=1)
    query = _definition().query()
    whole = DuckDBEngine(con, part_patients=WHOLE)
    parted = DuckDBEngine(con, part_patients=170)
    assert whole.parts() == [None]
    assert len(parted.parts()) == 18
    expected = whole.dataset(query)
    got = parted.dataset(query)
    assert got.schema == expected.schema
    assert expected.num_rows > 2000
    assert got.column("patient_id").to_pylist() == sorted(got.column("patient_id").to_pylist())
    assert_same(got.to_pylist(), expected.to_pylist(), "in parts", of="one query")


def _settings(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    query = "SELECT current_setting('threads'), current_setting('memory_limit')"
    threads, memory = con.execute(query).fetchall()[0]
    return str(threads), memory


def test_parts_run_one_thread_each_and_the_settings_are_put_back() -> None:
    con = _store(600, seed=4)
    con.execute("SET threads = 2; SET memory_limit = '1GB'")
    before = _settings(con)
    engine = DuckDBEngine(con, part_patients=100)
    parts = engine.dataset_parts(_definition().query())
    next(parts)
    assert _settings(con) == ("1", before[1])  # two queries at once, one thread each
    parts.close()  # the caller stopped early: the setting still comes back
    assert _settings(con) == before
    list(engine.dataset_parts(_definition().query()))
    assert _settings(con) == before


def test_parts_empty_the_block_cache_they_filled(monkeypatch, tmp_path: Path) -> None:
    """DuckDB keeps the table blocks it reads from a database file; between parts the
    engine evicts them once the extraction has added ``CACHE_BYTES`` (here 0), leaves
    alone a cache it did not fill, and keeps the memory limit as it was."""
    path = tmp_path / "file.duckdb"
    _store(3000, seed=5).execute(f"ATTACH '{path}' AS f; COPY FROM DATABASE memory TO f")
    cached = "SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"
    query = _definition().query()

    def extract(con: duckdb.DuckDBPyConnection) -> int:
        for _ in DuckDBEngine(con, part_patients=300).dataset_parts(query):
            pass
        return con.execute(cached).fetchall()[0][0] or 0

    kept = duckdb.connect(str(path), read_only=True)
    everything = extract(kept)  # no eviction: every block read stays
    assert everything > 0
    kept.close()
    monkeypatch.setattr(engines, "CACHE_BYTES", 0)
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET memory_limit = '2GB'")
    limit = _settings(con)[1]
    assert extract(con) < everything
    assert _settings(con)[1] == limit
    DuckDBEngine(con, part_patients=WHOLE).dataset(query)  # fills the cache: not ours
    full = con.execute(cached).fetchall()[0][0]
    assert extract(con) == full


def test_parts_leave_out_the_excluded() -> None:
    con = _store(800, seed=2)
    query = _definition().query()
    everyone = DuckDBEngine(con, part_patients=WHOLE).dataset(query)
    excluded = everyone.column("patient_id").to_pylist()[::3]
    expected = DuckDBEngine(con, part_patients=WHOLE).dataset(query, exclude=excluded)
    got = DuckDBEngine(con, part_patients=50).dataset(query, exclude=excluded)
    assert set(got.column("patient_id").to_pylist()).isdisjoint(excluded)
    assert_same(got.to_pylist(), expected.to_pylist(), "in parts", of="one query")


def test_measures_summed_over_parts_equal_one_query() -> None:
    con = _store(1500, seed=3)
    measures = Measures()
    during = ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date))
    has_events = ce.where(during).exists_for_patient()
    coded = ce.where(ce.snomedct_code.is_in(codelist(CODES[:2], system="snomedct")))
    measures.define_measure(
        "coded",
        numerator=coded.where(during).exists_for_patient(),
        denominator=has_events,
        group_by={"sex": patients.sex},
        intervals=months(6).starting_on("2018-01-01"),
    )
    measures.define_measure(
        "registered",
        numerator=has_events,
        denominator=practice_registrations.for_patient_on("2020-01-01").exists_for_patient(),
        group_by={"imd": practice_registrations.for_patient_on("2020-01-01").imd_decile},
        intervals=years(2).starting_on("2018-01-01"),
    )
    query = measures.query()
    expected = DuckDBEngine(con, part_patients=WHOLE).measures(query)
    got = DuckDBEngine(con, part_patients=100).measures(query)
    assert expected.num_rows > 20
    assert got.schema == expected.schema
    assert got.to_pylist() == expected.to_pylist()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), DATASETS, MEASURES, st.integers(1, 3))
def test_generated_definitions_in_parts_agree_with_the_reference(
    data, dataset, measures, part
) -> None:
    expected = expected_results(data, dataset, measures)
    assume(expected is not None)
    assert expected is not None
    con = duckdb_engine(arrow_tables(data)).con
    engine = DuckDBEngine(con, part_patients=part)
    assert_same(engine.dataset(dataset).to_pylist(), expected[0], "duckdb in parts")
    assert_same(engine.measures(measures).to_pylist(), expected[1], "duckdb in parts")


def test_clustered_tables_are_stored_in_patient_order() -> None:
    con = _store(500, seed=4)
    for name in ("patients", "clinical_events", "medications"):
        stored = con.sql(f'SELECT patient_id FROM analysis."{name}"').fetchall()
        assert [r[0] for r in stored] == sorted(r[0] for r in stored)


def test_a_load_writes_patient_tables_in_patient_order(store: Store, tmp_path: Path) -> None:
    load(store, [write_ndjson(tmp_path / "a.ndjson", basic_population(60))], today=INDEX)
    for name in ("patients", "practice_registrations", "clinical_events"):
        stored = [
            r[0] for r in store.con.execute(f'SELECT patient_id FROM analysis."{name}"').fetchall()
        ]
        assert len(stored) == 60
        assert stored == sorted(stored)
