"""Benchmark the area profile at a million patients beside the floor, timed alternately.

The patients (region, IMD decile, five-year age band and five indicators, with prevalence
rising with age and deprivation) are made with numpy and held as a DuckDB table, as an
extraction would leave them. Both sides produce the same figures: for every region and
indicator the directly standardised rate (ESP 2013) with Dobson's 95% limits, England's, and
each region's comparison with England.

* **ours** — the board pack's way: a ``GROUP BY`` of counts (what would be released), then
  ``fivesafes.stats`` (``dsr`` per area and indicator, and ``area_profile``);
* **floor** — one hand-written DuckDB query computing the same DSRs, Dobson limits (Byar's
  limits of the total count inside) and comparisons in SQL. No peer: PHEindicatormethods, the
  R package the methods come from, is not on Debian.

    .venv/bin/python bench/bench_area_profile.py
    .venv/bin/python bench/bench_area_profile.py --patients 200000 --repeats 3
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable

import duckdb
import numpy as np

from fivesafes.model.tables import REGIONS
from fivesafes.stats import ESP2013, ESP2013_BANDS, dsr
from fivesafes.stats.area_profile import area_profile

INDICATORS = ("diabetes", "asthma", "emergency_admitted", "bmi_recorded", "flu_vaccinated")
Z = 1.959963984540054


def patients(n: int, seed: int = 3) -> duckdb.DuckDBPyConnection:
    rng = np.random.default_rng(seed)
    band = rng.choice(19, n, p=np.asarray(ESP2013) / sum(ESP2013))
    decile = rng.integers(1, 11, n)
    region = rng.integers(0, len(REGIONS), n)
    risk = 0.01 + 0.012 * band / 18 * 10 + 0.004 * (10 - decile)
    columns = {
        f: rng.random(n) < np.clip(risk * k, 0, 0.9)
        for f, k in zip(INDICATORS, (1.0, 0.8, 0.5, 2.0, 3.0), strict=True)
    }
    con = duckdb.connect()
    frame = {"region": np.asarray(REGIONS)[region], "band": band, "imd_decile": decile, **columns}
    con.register("frame", frame)
    con.execute("CREATE TABLE dataset AS SELECT * FROM frame")
    return con


def ours(con: duckdb.DuckDBPyConnection) -> object:
    sums = ", ".join(f"count(*) FILTER (WHERE {i})" for i in INDICATORS)
    rows = con.execute(
        f"SELECT region, band, count(*), {sums} FROM dataset GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    areas: dict[str, list[tuple[object, ...]]] = {}
    for row in rows:
        areas.setdefault(str(row[0]), []).append(row)
    values = {}
    england = {}
    for k, indicator in enumerate(INDICATORS):
        values[indicator] = {
            a: dsr([float(r[3 + k]) for r in rs], [float(r[2]) for r in rs])  # type: ignore[arg-type]
            for a, rs in areas.items()
        }
        by_band = [sum(float(r[3 + k]) for r in rows if r[1] == b) for b in range(19)]  # type: ignore[arg-type]
        pops = [sum(float(r[2]) for r in rows if r[1] == b) for b in range(19)]  # type: ignore[arg-type]
        england[indicator] = dsr(by_band, pops)
    return area_profile(values, england, REGIONS[0])


def floor(con: duckdb.DuckDBPyConnection) -> object:
    weights = " UNION ALL ".join(f"SELECT {b} AS band, {w} AS w" for b, w in enumerate(ESP2013))
    parts = []
    for indicator in INDICATORS:
        parts.append(f"""
        SELECT '{indicator}' AS indicator, coalesce(region, 'England') AS area,
               sum(w * x / n) / sum(w) AS value,
               sum(w * w * x / (n * n)) / (sum(w) * sum(w)) AS var, sum(x) AS o
        FROM (SELECT region, band, count(*) FILTER (WHERE {indicator}) AS x, count(*) AS n
              FROM dataset GROUP BY GROUPING SETS ((region, band), (band))) c
        JOIN ({weights}) s USING (band)
        GROUP BY region""")
    query = f"""
    WITH d AS ({" UNION ALL ".join(parts)}),
    l AS (SELECT *, o * power(1 - 1 / (9 * o) - {Z} / (3 * sqrt(o)), 3) AS ol,
                 (o + 1) * power(1 - 1 / (9 * (o + 1)) + {Z} / (3 * sqrt(o + 1)), 3) AS ou
          FROM d),
    c AS (SELECT indicator, area, value * 1e5 AS value,
                 (value + sqrt(var / o) * (ol - o)) * 1e5 AS lower,
                 (value + sqrt(var / o) * (ou - o)) * 1e5 AS upper FROM l)
    SELECT c.*, CASE WHEN c.lower > e.value THEN 'Higher' WHEN c.upper < e.value THEN 'Lower'
                     ELSE 'Similar' END AS comparison
    FROM c JOIN c e ON e.indicator = c.indicator AND e.area = 'England'
    """
    return con.execute(query).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    con = patients(args.patients)
    jobs: dict[str, Callable[[], object]] = {"ours": lambda: ours(con), "floor": lambda: floor(con)}
    # the two agree on the figures before either is timed
    profile = ours(con)
    sql = {(r[0], r[1]): r for r in floor(con)}  # type: ignore[attr-defined]
    for row in profile.rows:  # type: ignore[attr-defined]
        theirs = sql[row.indicator, row.area]
        assert abs(row.value - theirs[2]) < 1e-6 * row.value and row.comparison == theirs[5]
    best: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, work in jobs.items():
            begin = time.perf_counter()
            work()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - begin)
    print(
        f"area profile of {args.patients:,} patients: {len(REGIONS)} regions x "
        f"{len(INDICATORS)} indicators x {len(ESP2013_BANDS)} age bands, DSR with Dobson "
        f"limits and comparison with England (best of {args.repeats}; figures agree)"
    )
    for name, seconds in best.items():
        tracemalloc.start()
        jobs[name]()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"  {name:6s} {seconds:8.3f} s  x{seconds / best['floor']:6.2f} of the floor  "
            f"Python peak {peak / 2**20:6.1f} MiB"
        )


if __name__ == "__main__":
    main()
