"""The area profile at each level (region, ICB, Sub ICB Location, local authority) and the
breakdown by ethnic group, on a synthetic population loaded into a real store: the profile made
from counts agrees with one hand-written DuckDB query computing the same DSRs, Dobson limits
and comparisons, and the groups' rates add back up to the whole."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivesafes.model.codes import ETHNIC_GROUP_ORDER, ETHNIC_GROUPS
from fivesafes.stats import AREA_LEVELS, breakdown, profile_at_level
from fivesafes.stats.breakdown import ALL
from fivesafes.stats.indicators import esp2013_weights
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from fivesafes.synth import generate

INDEX = "2024-04-01"
BANDS = ("0-64", "65+")
Z = 1.959963984540054


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """One row per person registered on the index date: the areas of every level, an age band,
    an ethnic group and one indicator (any vaccination in the year before) - an extraction."""
    root = tmp_path_factory.mktemp("profile-levels")
    generate(root / "synth", 3000, seed=2)
    data = DataDir(root / "data", root / "key")
    create_key(data.key_file)
    groups = " ".join(f"WHEN '{c}' THEN '{g}'" for c, g in ETHNIC_GROUPS.items())
    with Store.open(data) as store:
        load(store, [root / "synth"], today=date(2026, 1, 1))
        rows = store.con.execute(f"""
            SELECT r.region, r.icb_code, r.sub_icb_code, r.local_authority_code,
                   CASE WHEN date_diff('year', p.date_of_birth, DATE '{INDEX}') < 65
                        THEN '0-64' ELSE '65+' END AS age_band,
                   CASE p.ethnicity {groups} ELSE 'Not stated' END AS ethnic_group,
                   EXISTS (SELECT 1 FROM analysis.vaccinations v WHERE v.patient_id = p.patient_id
                           AND v.date BETWEEN DATE '{INDEX}' - INTERVAL 1 YEAR
                           AND DATE '{INDEX}') AS vaccinated
            FROM analysis.practice_registrations r JOIN analysis.patients p USING (patient_id)
            WHERE r.start_date <= DATE '{INDEX}'
              AND (r.end_date IS NULL OR r.end_date >= DATE '{INDEX}')
              AND (p.date_of_death IS NULL OR p.date_of_death > DATE '{INDEX}')
            QUALIFY row_number() OVER (PARTITION BY r.patient_id ORDER BY r.start_date DESC) = 1
        """).fetchall()  # fmt: skip
    out = duckdb.connect()
    out.execute(
        "CREATE TABLE people (region VARCHAR, icb_code VARCHAR, sub_icb_code VARCHAR, "
        "local_authority_code VARCHAR, age_band VARCHAR, ethnic_group VARCHAR, vaccinated BOOLEAN)"
    )
    out.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return out


def _hand_written(
    con: duckdb.DuckDBPyConnection, table: str, column: str
) -> dict[str, tuple[float, ...]]:
    """DSR (ESP 2013 collapsed to the two bands), Dobson limits with Byar's limits of the total,
    and the comparison with England, in one query."""
    w_young, w_old = esp2013_weights(BANDS)
    rows = con.execute(f"""
        WITH c AS (SELECT coalesce({column}, 'England') AS area, age_band,
                          count(*) FILTER (WHERE vaccinated) AS x, count(*) AS n
                   FROM {table} GROUP BY GROUPING SETS (({column}, age_band), (age_band))),
        w AS (SELECT *, CASE age_band WHEN '0-64' THEN {w_young}.0 ELSE {w_old}.0 END AS w FROM c),
        d AS (SELECT area, sum(w * x / n) / sum(w) AS value,
                     sum(w * w * x / (n * n)) / (sum(w) * sum(w)) AS var, sum(x) AS o
              FROM w GROUP BY area),
        l AS (SELECT *, o * power(1 - 1 / (9 * o) - {Z} / (3 * sqrt(o)), 3) AS ol,
                     (o + 1) * power(1 - 1 / (9 * (o + 1)) + {Z} / (3 * sqrt(o + 1)), 3) AS ou
              FROM d WHERE o >= 10),
        r AS (SELECT area, value * 1e5 AS value, (value + sqrt(var / o) * (ol - o)) * 1e5 AS lo,
                     (value + sqrt(var / o) * (ou - o)) * 1e5 AS hi FROM l)
        SELECT r.area, r.value, r.lo, r.hi,
               CASE WHEN r.lo > e.value THEN 'Higher' WHEN r.hi < e.value THEN 'Lower'
                    ELSE 'Similar' END
        FROM r, r e WHERE e.area = 'England'
    """).fetchall()  # fmt: skip
    return {str(r[0]): r[1:] for r in rows}


@pytest.mark.parametrize("level", list(AREA_LEVELS))
def test_the_profile_at_each_level_agrees_with_a_hand_written_query(
    con: duckdb.DuckDBPyConnection, level: str
) -> None:
    column = AREA_LEVELS[level]
    # an area with people in one age band only has no DSR over both: both sides leave it out,
    # and England is then the areas kept
    con.execute(f"""
        CREATE OR REPLACE TABLE kept AS SELECT * FROM people WHERE {column} IN (
            SELECT {column} FROM people GROUP BY 1 HAVING count(DISTINCT age_band) = 2)
    """)  # fmt: skip
    counts = con.execute(
        f"SELECT {column}, age_band, count(*) AS population, "
        "count(*) FILTER (WHERE vaccinated) AS vaccinated FROM kept GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    rows = [dict(zip((column, "age_band", "population", "vaccinated"), r, strict=True))
            for r in counts]  # fmt: skip
    profile = profile_at_level(rows, level, ["vaccinated"], polarity={"vaccinated": "high_is_good"})
    sql = _hand_written(con, "kept", column)
    assert profile.level == level and len(profile.rows) >= 2
    assert any(r.value is not None for r in profile.rows)  # enough people for some DSRs
    for row in profile.rows:
        if row.value is None:
            assert row.area not in sql  # fewer than 10 events: not published on either side
            continue
        value, low, high, comparison = sql[row.area]
        assert row.value == pytest.approx(value, rel=1e-9)
        assert row.lower == pytest.approx(low, rel=1e-9)
        assert row.upper == pytest.approx(high, rel=1e-9)
        assert row.england == pytest.approx(sql["England"][0], rel=1e-9)
        assert row.comparison == comparison
    (spine,) = profile.spine
    assert spine.england == pytest.approx(sql["England"][0], rel=1e-9)
    assert spine.local_at is None or 0 <= spine.local_at <= 1


def test_the_breakdown_by_ethnic_group_adds_back_up_to_everyone(
    con: duckdb.DuckDBPyConnection,
) -> None:
    counts = con.execute(
        "SELECT ethnic_group, count(*), count(*) FILTER (WHERE vaccinated) FROM people GROUP BY 1"
    ).fetchall()
    rows = [{"ethnic_group": g, "population": n, "vaccinated": x} for g, n, x in counts]
    result = breakdown(rows, "ethnic_group", "vaccinated", order=ETHNIC_GROUP_ORDER)
    names = [g.group for g in result.groups]
    assert names == [g for g in ETHNIC_GROUP_ORDER if g in names]
    assert {"White", "Not stated"} <= set(names)
    total = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE vaccinated) FROM people"
    ).fetchone()
    assert total is not None
    # each group's percentage times its people is its count; the counts add up to everyone's
    assert sum((g.value.value or 0) / 100 * (g.population or 0) for g in result.groups) == (
        pytest.approx(total[1], rel=1e-9)
    )
    assert sum(g.population or 0 for g in result.groups) == total[0]
    # and the total's percentage is the population-weighted mean of the groups'
    weighted = sum((g.value.value or 0) * (g.population or 0) for g in result.groups) / total[0]
    assert result.total.group == ALL
    assert result.total.value.value == pytest.approx(weighted, rel=1e-9)
    assert result.total.value.value == pytest.approx(100 * total[1] / total[0], rel=1e-9)
    for g in result.groups:
        assert g.value.lower is not None and g.value.upper is not None
        assert g.value.lower <= (g.value.value or 0) <= g.value.upper


@given(
    st.lists(
        st.tuples(st.integers(1, 500), st.integers(0, 500), st.booleans()), min_size=1, max_size=6
    )
)
def test_a_suppressed_group_is_never_guessed_and_then_neither_is_the_total(
    groups: list[tuple[int, int, bool]],
) -> None:
    rows = [
        {"g": f"group {k}", "population": n, "x": None if hidden else min(x, n)}
        for k, (n, x, hidden) in enumerate(groups)
    ]
    result = breakdown(rows, "g", "x")
    for row, value in zip(rows, result.groups, strict=True):
        assert (value.value.value is None) == (row["x"] is None)
    if any(r["x"] is None for r in rows):
        assert result.total.value.value is None and result.total.count is None
    else:
        assert result.total.count == sum(r["x"] or 0 for r in rows)
