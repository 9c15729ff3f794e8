"""The scaling table: synthesis, load, incremental load and extraction at growing populations.

For each size (default 100k and 1M; add 10M with ``--patients 100000 1000000 10000000`` on a
machine with the disk for it, see below) this runs, each stage in a fresh process so its peak
memory is its own (the process and every worker it starts, sampled from /proc):

- ``synth``: ``fivesafes.synth.generate`` on every core;
- ``load``: the whole pipeline into a fresh store (``fivesafes.store.load.load``: read,
  validate, whole-load checks in SQL, merge, analysis layer, commit), resources per second;
  beside it the floor, DuckDB's own ``read_json`` of the same NDJSON files into tables (no
  validation, no checks, no analysis layer): the least any loader on this engine can cost;
- ``incremental``: 1% of records loaded again into that store -- new records (an existing
  record under a new id) and changed ones (a patient's gender changed) -- which must cost
  about 1% of the full load, not the full load again. Loads run as ``fivesafes load`` runs
  them, into a new version of the store (:mod:`fivesafes.store.versions`), so the time inside
  ``load`` is shown beside the copy of the store and the checkpoint that every write pays;
- ``extract``: the bench definition of bench_query.py on the DuckDB engine over the store,
  beside the floor (bench_query's hand-written SQL on the same database); with ``--spark``
  also the Spark engine in local mode over the store's Parquet export
  (:mod:`fivesafes.store.layout`), with the export's own time.

It prints the table: seconds, peak RSS (MiB) and cost per million patients for every stage,
the floors and our ratio to them, the store's size on disk. Peak memory should be flat
across sizes (the load is held to ``FIVESAFES_LOAD_MEMORY``). Timings are taken once per
size (a 1M load takes minutes); run it on a quiet machine, and never two at once.

Disk: a population takes about 7.8 KiB of NDJSON per patient and its store about 3.4 KiB
(the identifiable layer keeps each resource as received, compressed), plus the load's spill:
100k needs ~1.5 GiB, 1M ~15 GiB, 10M ~150 GiB. ``--keep`` leaves the folders in ``--work``
for a second look.

    .venv/bin/python bench/bench_scale.py                          # 100k and 1M
    .venv/bin/python bench/bench_scale.py --patients 20000         # a quick run
    .venv/bin/python bench/bench_scale.py --patients 100000 --spark
    .venv/bin/python bench/bench_scale.py --spark-only --patients 1000000   # Spark's time

``--spark-only`` skips synthesis and loading: it makes the analysis tables directly (as
bench_query.py does), exports them, and times the bench definition on DuckDB, on Spark in
local mode (in parts, and as one query) and on a standalone cluster of one and of two workers
on loopback, so where Spark's time goes (JVM start, the export, the query) is visible.

Needs the ``bench`` extra (pandas, for bench_query's definition): ``pip install -e .[bench]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson

BENCH = Path(__file__).resolve().parent
STAGE_CODE = {
    "synth": """
from pathlib import Path
from fivesafes.synth import generate
summary = generate(Path(ARGS[0]), int(ARGS[1]), seed=1)
RESULT = {"records": summary.records}
""",
    "load": """
import time
from datetime import date
from pathlib import Path
from fivesafes.store.config import DataDir
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from fivesafes.store.versions import writing
root = Path(ARGS[1])
if not (root / "key").exists():  # made once, as `fivesafes environment init` makes it
    create_key(root / "key")
started = time.perf_counter()
with writing(DataDir(root, root / "key")) as store:  # as fivesafes load: a new version
    copied = time.perf_counter()
    report = load(store, [Path(ARGS[0])], today=date(2026, 1, 1))
    loaded = time.perf_counter()
renamed = time.perf_counter()
totals = report.totals
RESULT = {"resources": sum(totals[o] for o in ("loaded", "updated", "unchanged")),
          "loaded": totals["loaded"], "updated": totals["updated"],
          "quarantined": totals["quarantined"], "copy_seconds": copied - started,
          "load_seconds": loaded - copied, "checkpoint_seconds": renamed - loaded}
""",
    "floor_load": """
import duckdb
from pathlib import Path
con = duckdb.connect(str(Path(ARGS[1]) / "floor.duckdb"))
con.execute("SET memory_limit = '1GiB'")
rows = 0
for path in sorted(Path(ARGS[0]).glob("*.ndjson")):
    name = path.stem
    con.execute(
        f"CREATE TABLE \\"{name}\\" AS SELECT * FROM read_json('{path}', "
        "format = 'newline_delimited', union_by_name = true, maximum_object_size = 16777216)"
    )
    rows += con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
con.close()
RESULT = {"resources": rows}
""",
    "extract": """
import sys, time
sys.path.insert(0, ARGS[2])
import duckdb
from bench_query import FLOOR_SQL, definition
from fivesafes.query.engines import DuckDBEngine
con = duckdb.connect(ARGS[0], read_only=True)
started = time.perf_counter()
ours = DuckDBEngine(con).dataset(definition().query())
ours_s = time.perf_counter() - started
started = time.perf_counter()
floor = con.sql(FLOOR_SQL).to_arrow_table()
floor_s = time.perf_counter() - started
RESULT = {"rows": ours.num_rows, "seconds": ours_s, "floor_seconds": floor_s,
          "floor_rows": floor.num_rows}
""",
    "spark": """
import sys, time
sys.path.insert(0, ARGS[2])
from pathlib import Path
import duckdb
from bench_query import definition
from fivesafes.query.engines import SparkEngine
from fivesafes.store.layout import export_layout, read_layout
con = duckdb.connect(ARGS[0], read_only=True)
started = time.perf_counter()
layout = export_layout(con, Path(ARGS[1]))
export_s = time.perf_counter() - started
con.close()
from pyspark.sql import SparkSession
started = time.perf_counter()
spark = (SparkSession.builder.master("local[2]").appName("bench-scale")
         .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
         .config("spark.driver.memory", "2g").config("spark.ui.showConsoleProgress", "false")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
start_s = time.perf_counter() - started
engine = SparkEngine(spark)
engine.read_layout(read_layout(layout.folder, verify=False))
started = time.perf_counter()
rows = engine.dataset(definition().query()).num_rows
run_s = time.perf_counter() - started
spark.stop()
RESULT = {"rows": rows, "seconds": run_s, "jvm_seconds": start_s, "export_seconds": export_s}
""",
}
RUNNER = """
import orjson, sys
ARGS = sys.argv[2:]
exec(compile(sys.argv[1], "stage", "exec"))
sys.stdout.write("RESULT " + orjson.dumps(RESULT).decode() + "\\n")
"""


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it (forkserver workers, a JVM)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_stage(stage: str, *args: str) -> dict[str, float]:
    """Run one stage in a fresh process; its result, wall seconds and peak tree RSS (MiB)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", RUNNER, STAGE_CODE[stage], *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(_rss_kib(p) for p in _tree(child.pid)))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, _ = child.communicate()
    except BaseException:  # Ctrl-C: the stage (and its workers) end with us
        child.kill()
        raise
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"stage {stage} failed with exit code {child.returncode}")
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = {**orjson.loads(line[7:]), "wall": seconds, "peak_mib": peak / 1024}
    print(f"    ({stage}: {result})", flush=True)  # as it comes: a long run shows its progress
    return result


def make_increment(source: Path, out: Path, share: float = 0.01) -> int:
    """1% of the records as a new load: every 100th record again under a new id (new), and
    every 100th patient with the other gender (changed). Returns how many records."""
    out.mkdir(parents=True, exist_ok=True)
    step = round(1 / share)
    count = 0
    for path in sorted(source.glob("*.ndjson")):
        if path.stem in ("Organization", "Location", "HealthcareService"):
            continue
        lines = []
        with path.open("rb") as handle:
            for n, line in enumerate(handle):
                if n % step:
                    continue
                record = orjson.loads(line)
                if record["resourceType"] == "Patient":
                    record["gender"] = "male" if record["gender"] == "female" else "female"
                elif record["resourceType"] != "Encounter":  # procedures point at encounters
                    record["id"] = f"{record['id']}-again"
                else:
                    continue
                lines.append(orjson.dumps(record) + b"\n")
        (out / path.name).write_bytes(b"".join(lines))
        count += len(lines)
    return count


def _size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def bench(n: int, work: Path, spark: bool) -> dict[str, dict[str, float]]:
    """Every stage at ``n`` patients; the folders are left in ``work``."""
    source, store, floor = work / "source", work / "store", work / "floor"
    floor.mkdir(parents=True, exist_ok=True)
    results = {"synth": run_stage("synth", str(source), str(n))}
    results["synth"]["mib_on_disk"] = _size_mib(source)
    results["load"] = run_stage("load", str(source), str(store))
    results["load"]["mib_on_disk"] = _size_mib(store)
    increment = work / "increment"
    make_increment(source, increment)
    results["incremental"] = run_stage("load", str(increment), str(store))
    database = str(store / "store.duckdb")
    results["extract"] = run_stage("extract", database, str(work / "unused"), str(BENCH))
    if spark:
        results["spark"] = run_stage("spark", database, str(work / "export"), str(BENCH))
    results["floor_load"] = run_stage("floor_load", str(source), str(floor))  # last: the
    shutil.rmtree(floor)  # stages above are ours, and a long run shows them first
    return results


def report(n: int, r: dict[str, dict[str, float]]) -> None:
    per_m = 1e6 / n

    def row(stage: str, seconds: float, extra: str = "", floor: float | None = None) -> None:
        ratio = f"{seconds / floor:6.1f}x" if floor else "      "
        peak = r[stage]["peak_mib"] if stage in r else float("nan")
        print(
            f"  {stage:<22}{seconds:9.1f} s {seconds * per_m:10.1f} s/M {peak:8.0f} MiB "
            f"{ratio}  {extra}"
        )

    load, floor, inc = r["load"], r["floor_load"], r["incremental"]
    print(f"\n{n:,} patients: {r['synth']['records']:,} records")
    print(f"  {'stage':<22}{'time':>11} {'per million':>14} {'peak RSS':>12} {'vs floor':>7}")
    row("synth", r["synth"]["wall"], f"{r['synth']['mib_on_disk']:,.0f} MiB of NDJSON/CSV")
    row(
        "load",
        load["wall"],
        f"{load['resources'] / load['wall']:,.0f} resources/s, store "
        f"{load['mib_on_disk']:,.0f} MiB",
        floor["wall"],
    )
    row("floor_load", floor["wall"], "DuckDB read_json of the same NDJSON (no checks)")
    row(
        "incremental",
        inc["wall"],
        f"{inc['resources']:,} resources ({inc['loaded']:,} new, {inc['updated']:,} changed): "
        f"{inc['wall'] / load['wall']:.1%} of the full load's time; in load() "
        f"{inc['load_seconds']:.1f} s ({inc['load_seconds'] / load['load_seconds']:.1%}), "
        f"the store's copy {inc['copy_seconds']:.1f} s and checkpoint "
        f"{inc['checkpoint_seconds']:.1f} s (store.versions)",
    )
    ext = r["extract"]
    print(
        f"  {'extract (DuckDB)':<22}{ext['seconds']:9.2f} s {ext['seconds'] * per_m:10.2f} s/M "
        f"{ext['peak_mib']:8.0f} MiB {ext['seconds'] / ext['floor_seconds']:6.1f}x  "
        f"{ext['rows']:,} rows; floor (hand-written SQL) {ext['floor_seconds']:.2f} s"
    )
    if "spark" in r:
        s = r["spark"]
        print(
            f"  {'extract (Spark local)':<22}{s['seconds']:9.2f} s {s['seconds'] * per_m:10.2f} s/M"
            f" {s['peak_mib']:8.0f} MiB {s['seconds'] / ext['seconds']:6.1f}x DuckDB  "
            f"{s['rows']:,} rows; JVM start {s['jvm_seconds']:.1f} s, Parquet export "
            f"{s['export_seconds']:.1f} s"
        )


def _best(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def spark_table(n: int, repeats: int) -> None:
    """Where Spark's time goes at ``n`` patients, beside DuckDB on the same data: the analysis
    tables made directly (bench_query's generator, as the store lays them out), exported as
    Parquet, then the bench definition on DuckDB, on Spark in local mode (in parts and as one
    query), and on a standalone cluster on loopback with one worker and with two (one core
    each), each the best of ``repeats`` after a first warm-up run."""
    sys.path.insert(0, str(BENCH))
    import duckdb
    from pyspark.sql import SparkSession

    from bench_query import definition, make_tables, write_store
    from fivesafes.query.engines import DuckDBEngine, SparkEngine
    from fivesafes.query.spark_cluster import cluster_session, standalone_cluster
    from fivesafes.store.layout import export_layout

    query = definition().query()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.duckdb"
        write_store(make_tables(n, query, "store"), path)
        con = duckdb.connect(str(path), read_only=True)
        started = time.perf_counter()
        layout = export_layout(con, Path(tmp) / "export")
        export_s = time.perf_counter() - started
        duck = DuckDBEngine(con)
        expected = duck.dataset(query).to_pylist()
        duck_s = _best(lambda: duck.dataset(query), repeats)
        print(f"\n{n:,} patients, {len(layout.ranges)} parts; Parquet export {export_s:.1f} s")
        print(f"  {'engine':<34}{'seconds':>9}{'vs DuckDB':>11}")
        print(f"  {'DuckDB (store file)':<34}{duck_s:9.2f}{1:10.1f}x")

        def timed(label: str, engine: SparkEngine) -> None:
            engine.read_layout(layout)
            same = engine.dataset(query).to_pylist() == expected  # the warm-up run
            seconds = _best(lambda: engine.dataset(query), repeats)
            print(f"  {label:<34}{seconds:9.2f}{seconds / duck_s:10.1f}x  same rows: {same}")

        started = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]").appName("bench-spark")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "2g")
            .getOrCreate()
        )  # fmt: skip
        spark.sparkContext.setLogLevel("ERROR")
        print(f"  (JVM start, local mode: {time.perf_counter() - started:.1f} s)")
        timed("Spark local[2], in parts", SparkEngine(spark, parts=True))
        timed("Spark local[2], one query", SparkEngine(spark, parts=False))
        spark.stop()
        for workers in (1, 2):
            with standalone_cluster(workers=workers) as cluster:
                session = cluster_session(cluster, "bench-spark-cluster")
                session.sparkContext.setLogLevel("ERROR")
                try:
                    timed(f"standalone, {workers} worker(s), parts", SparkEngine(session))
                finally:
                    session.stop()
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--spark", action="store_true", help="also extract on Spark (local)")
    parser.add_argument("--work", type=Path, default=None, help="where to keep the folders")
    parser.add_argument("--keep", action="store_true", help="keep the folders afterwards")
    parser.add_argument(
        "--spark-only",
        action="store_true",
        help="only where Spark's time goes: local and standalone beside DuckDB (no synth/load)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine (--spark-only)")
    args = parser.parse_args()
    if args.spark_only:
        for n in args.patients:
            spark_table(n, args.repeats)
        return
    budget = os.environ.get("FIVESAFES_LOAD_MEMORY", "default")
    print(f"{os.cpu_count()} cores; FIVESAFES_LOAD_MEMORY={budget}")
    base = args.work or Path(tempfile.mkdtemp(prefix="fivesafes-bench-scale-"))
    try:
        for n in args.patients:
            work = base / f"p{n}"
            shutil.rmtree(work, ignore_errors=True)
            report(n, bench(n, work, args.spark))
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
