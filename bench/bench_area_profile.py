"""Benchmark the area profile at a million patients beside the floor, timed alternately, at
each level: region, ICB, Sub ICB Location and local authority.

The patients (each living in a real LSOA drawn by its population, so with its real local
authority, Sub ICB Location, ICB and region; IMD decile, five-year age band and five
indicators, with prevalence rising with age and deprivation) are made with numpy and held as a
DuckDB table, as an extraction would leave them. Both sides produce the same figures: for
every area of the level and indicator the directly standardised rate (ESP 2013) with Dobson's
95% limits, England's, and each area's comparison with England.

* **ours** — the board pack's way: a ``GROUP BY`` of counts (what would be released), then
  ``fivesafes.stats.profile_at_level`` (``dsr`` per area and indicator, and
  ``area_profile``);
* **floor** — one hand-written DuckDB query computing the same DSRs, Dobson limits (Byar's
  limits of the total count inside) and comparisons in SQL. No peer: PHEindicatormethods, the
  R package the methods come from, is not on Debian.

    .venv/bin/python bench/bench_area_profile.py
    .venv/bin/python bench/bench_area_profile.py --patients 200000 --repeats 3 --levels sub_icb
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable

import duckdb
import numpy as np

from fivesafes.model.lookups import load_icbs, load_lsoa_geography, load_lsoa_population
from fivesafes.stats import AREA_LEVELS, ESP2013, ESP2013_BANDS, profile_at_level

INDICATORS = ("diabetes", "asthma", "emergency_admitted", "bmi_recorded", "flu_vaccinated")
Z = 1.959963984540054


def patients(n: int, seed: int = 3) -> duckdb.DuckDBPyConnection:
    rng = np.random.default_rng(seed)
    geo = load_lsoa_geography()
    population = np.asarray(load_lsoa_population()["population"].to_pylist(), dtype=float)
    # both lookups are sorted by LSOA code: a person's LSOA gives every level's area
    lsoa = rng.choice(len(population), n, p=population / population.sum())
    region_of = dict(zip(*(load_icbs()[c].to_pylist() for c in ("icb_code", "region")),
                         strict=True))  # fmt: skip
    areas = {
        "local_authority_code": np.asarray(geo["lad_code"].to_pylist())[lsoa],
        "sub_icb_code": np.asarray(geo["sub_icb_code"].to_pylist())[lsoa],
        "icb_code": np.asarray(geo["icb_code"].to_pylist())[lsoa],
    }
    areas["region"] = np.asarray([region_of[c] for c in areas["icb_code"].tolist()])
    band = rng.choice(19, n, p=np.asarray(ESP2013) / sum(ESP2013))
    decile = rng.integers(1, 11, n)
    risk = 0.01 + 0.012 * band / 18 * 10 + 0.004 * (10 - decile)
    columns = {
        f: rng.random(n) < np.clip(risk * k, 0, 0.9)
        for f, k in zip(INDICATORS, (1.0, 0.8, 0.5, 2.0, 3.0), strict=True)
    }
    con = duckdb.connect()
    frame = {**areas, "band": band, "imd_decile": decile, **columns}
    con.register("frame", frame)
    con.execute("CREATE TABLE dataset AS SELECT * FROM frame")
    return con


def ours(con: duckdb.DuckDBPyConnection, level: str) -> object:
    column = AREA_LEVELS[level]
    sums = ", ".join(f"count(*) FILTER (WHERE {i}) AS {i}" for i in INDICATORS)
    counts = con.execute(
        f"SELECT {column}, band, count(*) AS population, {sums} FROM dataset "
        "GROUP BY ALL ORDER BY 1, 2"
    )
    names = [d[0] for d in counts.description]
    rows = [dict(zip(names, r, strict=True)) for r in counts.fetchall()]
    for row in rows:
        row["age_band"] = ESP2013_BANDS[row.pop("band")]
    return profile_at_level(rows, level, INDICATORS)


def floor(con: duckdb.DuckDBPyConnection, level: str) -> object:
    column = AREA_LEVELS[level]
    weights = " UNION ALL ".join(f"SELECT {b} AS band, {w} AS w" for b, w in enumerate(ESP2013))
    parts = []
    for indicator in INDICATORS:
        parts.append(f"""
        SELECT '{indicator}' AS indicator, coalesce({column}, 'England') AS area,
               sum(w * x / n) / sum(w) AS value,
               sum(w * w * x / (n * n)) / (sum(w) * sum(w)) AS var, sum(x) AS o
        FROM (SELECT {column}, band, count(*) FILTER (WHERE {indicator}) AS x, count(*) AS n
              FROM dataset GROUP BY GROUPING SETS (({column}, band), (band))) c
        JOIN ({weights}) s USING (band)
        GROUP BY {column}""")
    query = f"""
    WITH d AS ({" UNION ALL ".join(parts)}),
    l AS (SELECT *, o * power(1 - 1 / (9 * o) - {Z} / (3 * sqrt(o)), 3) AS ol,
                 (o + 1) * power(1 - 1 / (9 * (o + 1)) + {Z} / (3 * sqrt(o + 1)), 3) AS ou
          FROM d WHERE o >= 10),
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
    parser.add_argument("--levels", default=",".join(AREA_LEVELS))
    args = parser.parse_args()
    con = patients(args.patients)
    for level in args.levels.split(","):
        jobs: dict[str, Callable[[], object]] = {
            "ours": lambda level=level: ours(con, level),
            "floor": lambda level=level: floor(con, level),
        }
        # the two agree on the figures before either is timed
        profile = ours(con, level)
        sql = {(r[0], r[1]): r for r in floor(con, level)}  # type: ignore[attr-defined]
        areas = set()
        for row in profile.rows:  # type: ignore[attr-defined]
            areas.add(row.area)
            if row.value is None:  # fewer than 10 events: not published on either side
                assert (row.indicator, row.area) not in sql
                continue
            theirs = sql[row.indicator, row.area]
            assert abs(row.value - theirs[2]) < 1e-6 * row.value and row.comparison == theirs[5]
        best: dict[str, float] = {}
        for _ in range(args.repeats):
            for name, work in jobs.items():
                begin = time.perf_counter()
                work()
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - begin)
        print(
            f"area profile of {args.patients:,} patients by {level}: {len(areas)} areas x "
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
