"""Benchmark dataset extraction: DuckDB engine beside a straightforward pandas version and the
floor, one hand-written DuckDB query for the same columns on the same database file.

The definition is the issue's example (population: registered and alive on the index
date; sex, age, asthma events) plus five typical columns: last BMI value, date of
first statin, admissions in the past year, ever smoked, IMD quintile.

Data: analysis-layer tables shaped like the synthetic population, written directly by
the vectorised generator behind dummy data (``fivesafes.query.dummy.candidate_tables``:
the model's declared distributions, biased to the definition's codes so every column
has something to find), seed 1. The synthetic FHIR generator caps at 909,091 patients
and would spend minutes on FHIR before the query starts, so it is not used.

Prints, for each size: where the data came from and its rows per table; the best of
``--repeats`` DuckDB extraction times (the one SQL query from a DuckDB database file,
result fetched to Arrow) and pandas times (the same columns from DataFrames already in
memory) and floor times, run alternately in this process so all see the same machine
load; the ratios; whether both give the same answers; and the extraction's peak memory,
measured in a fresh process that only opens the database and does what
``fivesafes generate-dataset`` does: extract part by part and write each part to a
Parquet file as it comes (its peak RSS, and the RSS before, so the extraction's share
is visible). ``--memory-patients`` sizes get that memory figure only (no timings), to
show it stays flat beyond the timed sizes. Then the time and peak memory of making
100,000 and 1,000,000 dummy patients from the definition (``--dummy``), in a fresh
process, written part by part.

The database file is written as the store writes its analysis layer (tables in
``patient_id`` order, by the store's own ``insert_clustered``), and the engine extracts
in parts of ``--part-patients`` patients (its default unless given; a huge number
gives the single query over everyone, for comparison).

    .venv/bin/python bench/bench_query.py                        # 100k and 1M patients
    .venv/bin/python bench/bench_query.py --patients 20000       # a quick run
    .venv/bin/python bench/bench_query.py --memory-limit 500MB   # DuckDB capped (spills)
    .venv/bin/python bench/bench_query.py --ids dense            # patient ids 1..n
    .venv/bin/python bench/bench_query.py --part-patients 1e12   # one query, no parts
    .venv/bin/python bench/bench_query.py --memory-patients 3000000  # memory at 3M too
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from fivesafes import Dataset, codelist, years
from fivesafes.model import TABLES
from fivesafes.query.dummy import candidate_tables, collect_hints, dummy_dataset_parts
from fivesafes.query.engines import PART_PATIENTS, DuckDBEngine
from fivesafes.query.study import write_tables
from fivesafes.store.analysis import insert_clustered
from fivesafes.store.database import analysis_ddl
from fivesafes.tables import (
    clinical_events,
    hospital_admissions,
    medications,
    patients,
    practice_registrations,
)

INDEX = date(2024, 3, 31)
ASTHMA = ["195967001"]
BMI = "60621009"
STATINS = ["39733011000001106"]
SMOKING = ["77176002", "8517006"]


def definition() -> Dataset:
    ce, meds, apc = clinical_events, medications, hospital_admissions
    asthma = codelist(ASTHMA, system="snomedct")
    dataset = Dataset()
    registration = practice_registrations.for_patient_on(INDEX)
    dataset.define_population(registration.exists_for_patient() & patients.is_alive_on(INDEX))
    dataset.sex = patients.sex
    dataset.age = patients.age_on(INDEX)
    dataset.asthma_events = (
        ce.where(ce.snomedct_code.is_in(asthma)).where(ce.date.is_on_or_before(INDEX))
    ).count_for_patient()
    bmi = ce.where(ce.snomedct_code == BMI).where(ce.date.is_on_or_before(INDEX))
    dataset.last_bmi = bmi.sort_by(ce.date).last_for_patient().numeric_value
    statins = meds.where(meds.dmd_code.is_in(STATINS))
    dataset.first_statin = statins.sort_by(meds.date).first_for_patient().date
    past_year = apc.admission_date.is_between(INDEX - years(1), INDEX)
    dataset.admissions_past_year = apc.where(past_year).count_for_patient()
    smoked = ce.where(ce.snomedct_code.is_in(SMOKING)).where(ce.date.is_on_or_before(INDEX))
    dataset.ever_smoked = smoked.exists_for_patient()
    dataset.imd_quintile = ((registration.imd_decile + 1) / 2).as_int()
    return dataset


def pandas_version(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The same columns as plain pandas, written as an analyst would."""
    index = pd.Timestamp(INDEX)
    p = t["patients"].set_index("patient_id")
    reg = t["practice_registrations"]
    current = reg[(reg.start_date <= index) & (reg.end_date.isna() | (reg.end_date >= index))]
    order = ["patient_id", "start_date", "end_date", "practice_code", "region", "lsoa_code"]
    current = current.sort_values([*order, "imd_decile"], na_position="first")
    current = current.groupby("patient_id").tail(1).set_index("patient_id")
    alive = p.date_of_death.isna() | (p.date_of_death > index)
    ids = current.index.intersection(p.index[alive])
    out = pd.DataFrame(index=ids.sort_values())
    out["sex"] = p.sex
    born = p.date_of_birth.reindex(out.index)
    before = (index.month * 100 + index.day) < (born.dt.month * 100 + born.dt.day)
    out["age"] = index.year - born.dt.year - before.astype(int)
    ce = t["clinical_events"]
    ce = ce[ce.date <= index]
    asthma = ce[ce.snomedct_code.isin(ASTHMA)].groupby("patient_id").size()
    out["asthma_events"] = asthma.reindex(out.index).fillna(0).astype(int)
    bmi = ce[ce.snomedct_code == BMI].sort_values(
        ["patient_id", "date", "numeric_value"], na_position="first"
    )
    last = bmi.groupby("patient_id").tail(1).set_index("patient_id")
    out["last_bmi"] = last.numeric_value.reindex(out.index)
    meds = t["medications"]
    statins = meds[meds.dmd_code.isin(STATINS)]
    out["first_statin"] = statins.groupby("patient_id").date.min().reindex(out.index)
    apc = t["hospital_admissions"]
    recent = apc[
        (apc.admission_date >= index - pd.DateOffset(years=1)) & (apc.admission_date <= index)
    ]
    out["admissions_past_year"] = (
        recent.groupby("patient_id").size().reindex(out.index).fillna(0).astype(int)
    )
    smokers = set(ce.patient_id[ce.snomedct_code.isin(SMOKING)])
    out["ever_smoked"] = out.index.isin(list(smokers))
    out["imd_quintile"] = ((current.imd_decile.reindex(out.index) + 1) / 2).apply(
        lambda v: v if pd.isna(v) else int(v)
    )
    return out


FLOOR_SQL = f"""
WITH reg AS (
  SELECT patient_id, arg_max(imd_decile, start_date) AS imd_decile
  FROM analysis.practice_registrations
  WHERE start_date <= DATE '{INDEX}' AND (end_date IS NULL OR end_date >= DATE '{INDEX}')
  GROUP BY patient_id
), ce AS (
  SELECT patient_id,
    count(*) FILTER (WHERE snomedct_code IN ({", ".join(f"'{c}'" for c in ASTHMA)})) AS asthma,
    arg_max(numeric_value, date) FILTER (WHERE snomedct_code = '{BMI}') AS last_bmi,
    bool_or(snomedct_code IN ({", ".join(f"'{c}'" for c in SMOKING)})) AS smoked
  FROM analysis.clinical_events
  WHERE date <= DATE '{INDEX}'
    AND snomedct_code IN ({", ".join(f"'{c}'" for c in [*ASTHMA, BMI, *SMOKING])})
  GROUP BY patient_id
), statin AS (
  SELECT patient_id, min(date) AS first_statin FROM analysis.medications
  WHERE dmd_code IN ({", ".join(f"'{c}'" for c in STATINS)}) GROUP BY patient_id
), apc AS (
  SELECT patient_id, count(*) AS n FROM analysis.hospital_admissions
  WHERE admission_date BETWEEN DATE '{INDEX.replace(year=INDEX.year - 1)}' AND DATE '{INDEX}'
  GROUP BY patient_id
)
SELECT p.patient_id, p.sex,
  {INDEX.year} - year(p.date_of_birth) - CASE WHEN {INDEX.month * 100 + INDEX.day}
    < month(p.date_of_birth) * 100 + day(p.date_of_birth) THEN 1 ELSE 0 END AS age,
  coalesce(ce.asthma, 0) AS asthma_events, ce.last_bmi, statin.first_statin,
  coalesce(apc.n, 0) AS admissions_past_year, coalesce(ce.smoked, false) AS ever_smoked,
  (reg.imd_decile + 1) // 2 AS imd_quintile
FROM analysis.patients p
JOIN reg USING (patient_id)
LEFT JOIN ce USING (patient_id)
LEFT JOIN statin USING (patient_id)
LEFT JOIN apc USING (patient_id)
WHERE p.date_of_death IS NULL OR p.date_of_death > DATE '{INDEX}'
ORDER BY p.patient_id
"""
"""The floor: the same columns as one hand-written DuckDB query, as an SQL expert would write
it for this one definition (no general null rules; a tie between two BMIs on one date, or two
registrations starting on one day, is broken arbitrarily, so those two columns may differ)."""


def make_tables(n: int, query, ids: str) -> dict[str, pa.Table]:
    """The tables, with ``patient_id`` 1..n (``dense``, as the generator makes them) or
    random 63-bit numbers (``store``: the store's ids are keyed hashes of NHS numbers,
    so nothing can lean on them being small or in order)."""
    nodes = [query.population, *(s for _, s in query.columns)]
    names = ["practice_registrations", "clinical_events", "medications", "hospital_admissions"]
    tables = candidate_tables(names, 1, n, np.random.default_rng(1), collect_hints(nodes))
    if ids == "dense":
        return tables
    pseudonyms = np.unique(np.random.default_rng(2).integers(0, 2**63 - 1, size=2 * n))
    pseudonyms = np.random.default_rng(3).permutation(pseudonyms)[:n]
    out = {}
    for name, table in tables.items():
        old = table["patient_id"].to_numpy()
        column = table.schema.get_field_index("patient_id")
        out[name] = table.set_column(column, "patient_id", pa.array(pseudonyms[old - 1]))
    return out


def write_store(tables: dict[str, pa.Table], path: Path) -> None:
    """A DuckDB database file laid out as the store's analysis layer (and written the
    same way: in ``patient_id`` order)."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA analysis")
    for table in TABLES.values():
        con.execute(analysis_ddl(table))
    for name, data in tables.items():
        con.register("incoming", data)
        insert_clustered(con, name, "SELECT * FROM incoming")
        con.unregister("incoming")
    con.execute("CHECKPOINT")
    con.close()


def connect(path: Path, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=True)
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def engine_memory(path: Path, memory_limit: str | None, part: int) -> dict[str, float]:
    """DuckDB's memory for one extraction, in a process doing nothing else (this one
    holds the generated tables and pandas frames, which would hide it)."""
    args = [sys.executable, __file__, "--memory-of", str(path), "--part-patients", str(part)]
    if memory_limit:
        args += ["--memory-limit", memory_limit]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def _status_mib(field: str) -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith(field)).split()[1]) / 1024


def rss_mib() -> float:
    """This process's resident memory now (Linux)."""
    return _status_mib("VmRSS:")


def high_water_mib() -> float:
    """This process's peak resident memory (Linux). Not ``ru_maxrss``: Linux carries that
    across fork and exec, so a child started by a big parent reports the parent's size."""
    return _status_mib("VmHWM:")


def measure_memory(path: Path, memory_limit: str | None, part: int) -> None:
    """Child side of :func:`engine_memory`: prints (MiB) the RSS before the extraction and
    the peak RSS while it writes the dataset part by part to a Parquet file (as
    ``fivesafes generate-dataset`` does), and the table blocks DuckDB still keeps cached
    at the end. (DuckDB's profiler is not used: profiling a run costs gigabytes itself.)"""
    con = connect(path, memory_limit)
    before = rss_mib()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        engine = DuckDBEngine(con, part_patients=part)
        rows = write_tables(engine.dataset_parts(definition().query()), Path(tmp) / "out.parquet")
        seconds = time.perf_counter() - started
    peak = high_water_mib()
    cached = con.execute(
        "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"
    ).fetchall()[0][0]
    print(
        json.dumps(
            {
                "before": before,
                "peak": peak,
                "cached": cached / 2**20,
                "rows": rows,
                "seconds": seconds,
            }
        )
    )


def print_memory(memory: dict[str, float], memory_limit: str | None) -> None:
    limit = f", memory_limit {memory_limit}" if memory_limit else ""
    print(
        f"  memory   peak RSS {memory['peak']:,.0f} MiB writing {memory['rows']:,} rows to "
        f"Parquet part by part in a process of its own{limit} ({memory['before']:,.0f} MiB "
        f"before: the extraction's share {memory['peak'] - memory['before']:,.0f} MiB; "
        f"that run {memory['seconds']:.2f} s)"
    )


def bench_memory(n: int, memory_limit: str | None, ids: str, part: int) -> None:
    """Only the memory of extracting ``n`` patients (no timings, no pandas)."""
    query = definition().query()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.duckdb"
        tables = make_tables(n, query, ids)
        rows = sum(t.num_rows for t in tables.values())
        write_store(tables, path)
        del tables
        print(f"\n{n:,} patients ({rows:,} rows), memory only:")
        print_memory(engine_memory(path, memory_limit, part), memory_limit)


def bench(n: int, repeats: int, memory_limit: str | None, ids: str, part: int) -> None:
    query = definition().query()
    started = time.perf_counter()
    tables = make_tables(n, query, ids)
    made = time.perf_counter() - started
    rows = {k: v.num_rows for k, v in tables.items()}
    print(f"\n{n:,} patients: {sum(rows.values()):,} rows in {made:.1f} s from")
    print(
        "  fivesafes.query.dummy.candidate_tables (model distributions, seed 1), "
        f"patient ids {'1..n' if ids == 'dense' else 'random 63-bit, like the store'}:"
    )
    for name, count in rows.items():
        print(f"  {name:<24}{count:>12,}")
    frames = {k: v.to_pandas(date_as_object=False) for k, v in tables.items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.duckdb"
        started = time.perf_counter()
        write_store(tables, path)
        print(f"  written in patient_id order in {time.perf_counter() - started:.1f} s")
        del tables
        con = connect(path, memory_limit)
        engine = DuckDBEngine(con, part_patients=part)
        parts = len(engine.parts())
        ours, theirs, hand = [], [], []
        for _ in range(repeats):
            started = time.perf_counter()
            result = engine.dataset(query)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            floor = con.sql(FLOOR_SQL).to_arrow_table()
            hand.append(time.perf_counter() - started)
            started = time.perf_counter()
            expected = pandas_version(frames)
            theirs.append(time.perf_counter() - started)
        con.close()
        memory = engine_memory(path, memory_limit, part)
    agree = _agree(result, expected)
    best_ours, best_theirs = min(ours), min(theirs)
    print(
        f"  duckdb   {best_ours:7.2f} s  ({result.num_rows:,} rows in {parts} part(s) of up to "
        f"~{part:,} patients; best of {repeats})"
    )
    print(f"  pandas   {best_theirs:7.2f} s  (best of {repeats})")
    same = [c for c in result.column_names if result[c].equals(floor[c])]
    print(
        f"  floor    {min(hand):7.2f} s  (hand-written DuckDB SQL, best of {repeats}; ours is "
        f"{best_ours / min(hand):.2f}x the floor; {len(same)} of {result.num_columns} columns "
        "identical, the rest differ only where the floor breaks ties arbitrarily)"
    )
    print(f"  ratio    {best_theirs / best_ours:7.1f}x faster than pandas; results agree: {agree}")
    print_memory(memory, memory_limit)


def _agree(result: pa.Table, expected: pd.DataFrame) -> bool:
    ours = result.to_pandas(date_as_object=False).set_index("patient_id")
    try:
        for column in expected.columns:
            pd.testing.assert_series_equal(
                ours[column].astype(float if column in ("last_bmi", "imd_quintile") else object),
                expected[column].astype(
                    float if column in ("last_bmi", "imd_quintile") else object
                ),
                check_names=False,
                check_index_type=False,
            )
    except AssertionError as e:
        print(f"  disagree: {e}")
        return False
    return True


def bench_dummy(n: int) -> None:
    """Dummy data for the definition, in a fresh process: its time and peak memory."""
    args = [sys.executable, __file__, "--dummy-memory-of", str(n)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    found = json.loads(out.splitlines()[-1])
    print(
        f"\ndummy data: {found['rows']:,} patients in {found['seconds']:.2f} s, "
        f"peak RSS {found['peak_mib']:.0f} MiB ({found['before_mib']:.0f} MiB before)"
    )


def measure_dummy(n: int) -> None:
    """Child side of :func:`bench_dummy`: makes ``n`` dummy patients and writes them part by
    part to a Parquet file (as ``fivesafes generate-dataset --dummy`` can), printing the
    time and the peak RSS (MiB)."""
    query = definition().query()
    before = rss_mib()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        rows = write_tables(dummy_dataset_parts(query, n), Path(tmp) / "dummy.parquet")
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {"rows": rows, "seconds": seconds, "before_mib": before, "peak_mib": high_water_mib()}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dummy", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 500MB")
    parser.add_argument(
        "--ids", choices=["store", "dense"], default="store", help="patient ids (see make_tables)"
    )
    parser.add_argument(
        "--part-patients",
        type=lambda v: int(float(v)),
        default=PART_PATIENTS,
        help="patients per DuckDB query (the engine's part size)",
    )
    parser.add_argument(
        "--memory-patients", type=int, nargs="*", default=[], help="sizes for memory only"
    )
    parser.add_argument("--memory-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dummy-memory-of", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dummy_memory_of:
        measure_dummy(args.dummy_memory_of)
        return
    if args.memory_of:
        measure_memory(args.memory_of, args.memory_limit, args.part_patients)
        return
    for n in args.patients:
        bench(n, args.repeats, args.memory_limit, args.ids, args.part_patients)
    for n in args.memory_patients:
        bench_memory(n, args.memory_limit, args.ids, args.part_patients)
    for n in args.dummy:
        bench_dummy(n)


if __name__ == "__main__":
    main()
