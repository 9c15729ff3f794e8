"""Dummy data from a definition: exactly the patients asked for, each satisfying it.

Generate, then test. Candidate patients are drawn table by table from what the
data model declares (types, categories, ranges, distributions) *biased toward what
the definition looks for*: codes from the code lists it uses on each column, dates
near the dates it compares with, values near its numeric thresholds. The candidate
tables are loaded into an in-memory DuckDB and the definition itself runs on them:
the patients it returns are by construction in the population and typed exactly as
the real extract will be. More candidates are drawn until there are enough (the
batch grows with the rejection rate), so a rare population costs time, not patients;
only an unsatisfiable one fails, with a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fivesafes.model import TABLES, Column, ColumnType, Table, TableKind
from fivesafes.model.codes import CodeSystem, verhoeff_check_digit
from fivesafes.query import model as m
from fivesafes.query.dataset import DatasetQuery, MeasureQuery
from fivesafes.query.engines import DuckDBEngine
from fivesafes.query.errors import DefinitionError
from fivesafes.store.database import analysis_ddl

DEFAULT_REFERENCE = date(2024, 1, 1)
COVERAGE_START = date(2000, 1, 1)
EVENTS_PER_PATIENT = 4.0
HINT_SHARE = 0.7
"""Share of values drawn from what the definition looks for, the rest from the model."""
MAX_CANDIDATES_PER_PATIENT = 1000
CODE_POOL = 50
"""How many different codes a column the definition does not look into draws from."""

_EPOCH = date(1970, 1, 1)


@dataclass
class Hints:
    """What a definition looks for, per (table, column) and overall."""

    codes: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    dates: dict[tuple[str, str], set[date]] = field(default_factory=dict)
    numbers: dict[tuple[str, str], set[float]] = field(default_factory=dict)
    all_dates: set[date] = field(default_factory=set)
    ages: set[float] = field(default_factory=set)
    counts: dict[str, float] = field(default_factory=dict)

    @property
    def reference(self) -> date:
        """The latest date the definition names: 'today' for ages and events."""
        return max(self.all_dates, default=DEFAULT_REFERENCE)


_COMPARISONS = frozenset({m.Fn.EQ, m.Fn.NE, m.Fn.LT, m.Fn.LE, m.Fn.GT, m.Fn.GE})


def _column_key(node: m.Series) -> tuple[str, str] | None:
    if isinstance(node, m.Column):
        return m.root_table(node.source).table, node.name
    return None


def collect_hints(nodes: list[m.Series], intervals: tuple[tuple[date, date], ...] = ()) -> Hints:
    """What ``nodes`` look for; ``intervals`` are a measure's, whose dates stand in for
    ``INTERVAL.start_date`` / ``end_date`` wherever a column is compared with them."""
    hints = Hints()
    hints.all_dates.update(d for span in intervals for d in span)
    for root in nodes:
        for node in m.walk(root):
            if isinstance(node, m.Value) and isinstance(node.value, date):
                hints.all_dates.add(node.value)
            if isinstance(node, m.IsIn) and (key := _column_key(node.series)):
                hints.codes.setdefault(key, set()).update(str(v) for v in node.values)
            if isinstance(node, m.Apply) and node.fn in _COMPARISONS:
                for col, other in (node.args, node.args[::-1]):
                    _shape_hints(hints, col, other)
                    key = _column_key(col)
                    if key is not None and isinstance(other, m.IntervalBound):
                        bounds = {span[other.end] for span in intervals}
                        hints.dates.setdefault(key, set()).update(bounds)
                    if key is None or not isinstance(other, m.Value) or other.value is None:
                        continue
                    value = other.value
                    if isinstance(value, date):
                        hints.dates.setdefault(key, set()).add(value)
                    elif isinstance(value, bool):
                        continue
                    elif isinstance(value, int | float):
                        hints.numbers.setdefault(key, set()).add(float(value))
                    elif isinstance(value, str) and col.kind is m.Kind.CODE:
                        hints.codes.setdefault(key, set()).add(value)
    return hints


def _shape_hints(hints: Hints, value: m.Series, other: m.Series) -> None:
    """Ages and counts compared with numbers: draw ages near them, and enough events."""
    if not isinstance(other, m.Value) or not isinstance(other.value, int | float):
        return
    number = float(other.value)
    if isinstance(value, m.Apply) and value.fn is m.Fn.DIFF_YEARS:
        born = _column_key(value.args[1])
        if born == ("patients", "date_of_birth"):
            hints.ages.add(number)
    if isinstance(value, m.Aggregate) and value.agg in (m.Agg.COUNT, m.Agg.COUNT_DISTINCT):
        source = (
            value.source if isinstance(value.source, m.FRAME_TYPES) else m.domain_of(value.source)
        )
        if source is not None:
            table = m.root_table(source).table
            hints.counts[table] = max(hints.counts.get(table, 0.0), number + 2)


def referenced_tables(nodes: list[m.Series]) -> list[str]:
    """The patient-level tables a definition reads, in model order (dummy data makes these)."""
    used = {n.table for node in nodes for n in m.walk(node) if isinstance(n, m.TableFrame)}
    tables = [t for t in TABLES if t in used and TABLES[t].is_patient_level]
    return tables or ["patients"]


# --- drawing values ----------------------------------------------------------------------


def _days(d: date) -> int:
    return (d - _EPOCH).days


def _to_dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("int32"), pa.int32()).cast(pa.date32())


def _well_formed_codes(system: CodeSystem | None, rng: np.random.Generator, n: int) -> list[str]:
    """Codes of the right shape for a column with no code list in the definition."""
    if system in (CodeSystem.SNOMEDCT, CodeSystem.DMD, None):
        bodies = [f"{b}00" for b in rng.integers(100000, 999999, size=n)]
        return [b + str(verhoeff_check_digit(b)) for b in bodies]
    if system is CodeSystem.ICD10:
        return [
            f"{chr(65 + a)}{b:02d}"
            for a, b in zip(rng.integers(0, 26, n), rng.integers(0, 100, n), strict=True)
        ]
    if system is CodeSystem.OPCS4:
        return [
            f"{'ABCDEFGHJKLMNPQRST'[a]}{b:02d}"
            for a, b in zip(rng.integers(0, 18, n), rng.integers(0, 100, n), strict=True)
        ]
    if system is CodeSystem.ETHNIC_CATEGORY:
        return list(rng.choice(list("ABCDEFGHJKLMNPRSZ"), size=n))
    if system is CodeSystem.LSOA:
        return [f"E01{x:06d}" for x in rng.integers(0, 35000, n)]
    if system is CodeSystem.ODS:
        return [f"A{x:05d}" for x in rng.integers(81000, 81100, n)]
    return [f"{x}-{x % 10}" for x in rng.integers(1000, 99999, n)]


def _from_bands(
    rng: np.random.Generator, bands: tuple[tuple[float, float, float], ...], n: int
) -> np.ndarray:
    weights = np.array([w for _, _, w in bands], dtype=float)
    pick = rng.choice(len(bands), size=n, p=weights / weights.sum())
    low = np.array([b[0] for b in bands])[pick]
    high = np.array([b[1] for b in bands])[pick]
    return rng.uniform(low, high)


@dataclass
class _Drawer:
    rng: np.random.Generator
    hints: Hints

    def _hinted(self, n: int) -> np.ndarray:
        return self.rng.random(n) < HINT_SHARE

    def dates(self, key: tuple[str, str], low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Days since 1970, between ``low`` and ``high`` per row, often near the hints."""
        n = len(low)
        span = np.maximum(high - low, 0)
        out = low + (self.rng.random(n) * (span + 1)).astype(np.int64)
        near = sorted(self.hints.dates.get(key, set()) or self.hints.all_dates)
        if near:
            centre = np.array([_days(d) for d in near])[self.rng.integers(0, len(near), n)]
            # Most hinted dates land near a date the definition names; some exactly on it,
            # so one-day windows ("on the index date") are met without a long search.
            jitter = self.rng.integers(-400, 400, n)
            jitter = np.where(self.rng.random(n) < 0.25, 0, jitter)
            near_days = centre + jitter
            fits = (near_days >= low) & (near_days <= high)
            out = np.where(self._hinted(n) & fits, near_days, out)
        return out

    def codes(self, key: tuple[str, str], column: Column, n: int) -> pa.Array:
        """Mostly the definition's codes for this column; else well-formed others."""
        wanted = sorted(self.hints.codes.get(key, set()))
        pool = wanted + _well_formed_codes(column.code_system, self.rng, CODE_POOL)
        index = len(wanted) + self.rng.integers(0, CODE_POOL, n)
        if wanted:
            chosen = self.rng.integers(0, len(wanted), n)
            index = np.where(self._hinted(n) | (self.rng.random(n) < 0.5), chosen, index)
        return _strings(pool, index)

    def numbers(self, key: tuple[str, str], column: Column, n: int) -> np.ndarray:
        if column.distribution and column.distribution.bands:
            values = _from_bands(self.rng, column.distribution.bands, n)
        else:
            low = float(column.minimum) if isinstance(column.minimum, int | float) else 0.0
            high = float(column.maximum) if isinstance(column.maximum, int | float) else 100.0
            values = self.rng.uniform(low, high, n)
        near = sorted(self.hints.numbers.get(key, set()))
        if near:
            centre = np.array(near)[self.rng.integers(0, len(near), n)]
            values = np.where(self._hinted(n), centre + self.rng.normal(0, 2, n), values)
        if isinstance(column.minimum, int | float):
            values = np.maximum(values, column.minimum)
        if isinstance(column.maximum, int | float):
            values = np.minimum(values, column.maximum)
        return np.round(values, 1)

    def categories(self, column: Column, n: int) -> pa.Array:
        assert column.categories is not None
        weights = column.distribution.weights if column.distribution else ()
        p = np.array(weights) / sum(weights) if weights else None
        return _strings(list(column.categories), self.rng.choice(len(column.categories), n, p=p))


def _strings(values: list[str], index: np.ndarray) -> pa.Array:
    """``values[index]`` as an Arrow string array, without a Python loop over rows."""
    dictionary = pa.array(values, pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), dictionary).cast(pa.string())


def _column_values(
    table: Table,
    column: Column,
    drawer: _Drawer,
    owners: np.ndarray,
    born: np.ndarray,
    reference: int,
) -> pa.Array:
    n = len(owners)
    key = (table.name, column.name)
    rng = drawer.rng
    if column.type is ColumnType.PATIENT_ID:
        return pa.array(owners, pa.int64())
    if column.type is ColumnType.DATE:
        low = np.maximum(
            born[owners], _days(COVERAGE_START) if table.kind is TableKind.EVENT else born[owners]
        )
        values = drawer.dates(key, low, np.full(n, reference))
        array = _to_dates(values)
    elif column.categories:
        array = drawer.categories(column, n)
    elif column.type is ColumnType.CODE:
        array = drawer.codes(key, column, n)
    elif column.type in (ColumnType.FLOAT, ColumnType.INTEGER):
        values = drawer.numbers(key, column, n)
        array = pa.array(values.astype(np.int64) if column.type is ColumnType.INTEGER else values)
    elif column.type is ColumnType.BOOLEAN:
        array = pa.array(rng.random(n) < 0.5)
    else:
        names = [f"{column.name} {i}" for i in range(1, 8)]
        array = _strings(names, rng.integers(0, len(names), n))
    if column.nullable:
        array = pc.if_else(pa.array(rng.random(n) < 0.15), pa.nulls(n, array.type), array)
    return array


def _patients(
    first_id: int, n: int, drawer: _Drawer, reference: int
) -> tuple[pa.Table, np.ndarray]:
    """The ``patients`` table: ages from the model's age bands, deaths for some of the old."""
    table = TABLES["patients"]
    rng = drawer.rng
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    bands = table.column("date_of_birth").distribution
    ages = _from_bands(rng, bands.bands, n) if bands else rng.uniform(0, 100, n)
    if drawer.hints.ages:
        near = np.array(sorted(drawer.hints.ages))[rng.integers(0, len(drawer.hints.ages), n)]
        near_ages = np.clip(near + rng.uniform(-3, 3, n), 0, 105)
        ages = np.where(rng.random(n) < HINT_SHARE / 2, near_ages, ages)
    born_days = reference - (ages * 365.25).astype(np.int64)
    born = np.array(
        born_days.astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    death_chance = np.clip((ages - 60) / 60, 0.01, 0.6) * 0.3
    dies = rng.random(n) < death_chance
    died = born + ((reference - born) * rng.uniform(0.8, 1.02, n)).astype(np.int64)
    died = np.maximum(died, born)
    columns = {
        "patient_id": pa.array(ids),
        "sex": drawer.categories(table.column("sex"), n),
        "date_of_birth": _to_dates(born),
        "date_of_death": pc.if_else(pa.array(dies), _to_dates(died), pa.nulls(n, pa.date32())),
        "ethnicity": drawer.codes(("patients", "ethnicity"), table.column("ethnicity"), n),
    }
    by_id = np.zeros(first_id + n, dtype=np.int64)
    by_id[ids] = born
    return pa.table(columns), by_id


def _event_table(
    table: Table, ids: np.ndarray, drawer: _Drawer, born: np.ndarray, reference: int
) -> pa.Table:
    rng = drawer.rng
    rate = 1.3 if table.name == "practice_registrations" else EVENTS_PER_PATIENT
    rate = max(rate, drawer.hints.counts.get(table.name, 0.0))
    counts = rng.poisson(rate, len(ids))
    if table.name == "practice_registrations":
        counts = np.maximum(counts, 1)
    owners = np.repeat(ids, counts)
    arrays = [_column_values(table, c, drawer, owners, born, reference) for c in table.columns]
    data = pa.table(arrays, names=list(table.column_names))
    if table.name == "practice_registrations":
        data = _registration_periods(data, rng)
    return data


def _registration_periods(data: pa.Table, rng: np.random.Generator) -> pa.Table:
    """End dates after start dates; most registrations still current."""
    start = data["start_date"].combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)
    length = rng.integers(30, 6000, len(start))
    ends = _to_dates(start + length)
    current = pa.array(rng.random(len(start)) < 0.75)
    end_date = pc.if_else(current, pa.nulls(len(start), pa.date32()), ends)
    return data.set_column(data.schema.get_field_index("end_date"), "end_date", end_date)


def candidate_tables(
    tables: list[str], first_id: int, n: int, rng: np.random.Generator, hints: Hints
) -> dict[str, pa.Table]:
    """One batch of made-up patients for the tables a definition reads."""
    drawer = _Drawer(rng, hints)
    reference = _days(hints.reference)
    people, born = _patients(first_id, n, drawer, reference)
    ids = people["patient_id"].to_numpy()
    out = {"patients": people}
    for name in tables:
        table = TABLES[name]
        if name == "patients":
            continue
        if table.kind is TableKind.PATIENT:
            keep = ids[rng.random(len(ids)) < 0.5]
            out[name] = _event_table(table, keep, drawer, born, reference)
            # one row per patient: keep each patient's first
            first = np.unique(out[name]["patient_id"].to_numpy(), return_index=True)[1]
            out[name] = out[name].take(first)
        else:
            out[name] = _event_table(table, ids, drawer, born, reference)
    return out


def _load(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> None:
    for name, data in tables.items():
        con.register("incoming", data)
        con.execute(f'INSERT INTO analysis."{name}" SELECT * FROM incoming')
        con.unregister("incoming")


def _empty_store() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB laid out as the store's analysis layer, with no rows."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA analysis")
    for table in TABLES.values():
        con.execute(analysis_ddl(table))
    return con


def dummy_dataset(query: DatasetQuery, patients: int | None = None, seed: int = 1) -> pa.Table:
    """Exactly ``patients`` rows (default: the definition's configured size) of the dataset,
    run on generated data; raises DefinitionError when no generated patient qualifies."""
    wanted = query.dummy_patients if patients is None else patients
    nodes = [query.population, *(s for _, s in query.columns)]
    tables = referenced_tables(nodes)
    hints = collect_hints(nodes)
    rng = np.random.default_rng(seed)
    con = _empty_store()
    engine = DuckDBEngine(con)
    found: list[pa.Table] = []
    have, next_id, batch = 0, 1, max(int(wanted * 1.3), 16)
    while have < wanted:
        _load(con, candidate_tables(tables, next_id, batch, rng, hints))
        result = engine.dataset(query)
        for name in tables:
            con.execute(f'DELETE FROM analysis."{name}"')
        con.execute('DELETE FROM analysis."patients"')
        found.append(result)
        have += result.num_rows
        next_id += batch
        if next_id > MAX_CANDIDATES_PER_PATIENT * wanted + 10_000:
            raise DefinitionError(
                f"after {next_id - 1:,} made-up patients only {have:,} met the population "
                "condition, so it may never be true",
                "check the population condition (for example two conditions that exclude each "
                "other, or dates that cannot happen), or ask for fewer patients",
            )
        rate = max(result.num_rows / batch, 1 / MAX_CANDIDATES_PER_PATIENT)
        batch = int(min(max((wanted - have) / rate * 1.2, 16), 4 * wanted + 1000))
    return pa.concat_tables(found).slice(0, wanted)


def dummy_measures(query: MeasureQuery, patients: int | None = None, seed: int = 1) -> pa.Table:
    """Every measure of ``query`` computed by the DuckDB engine on ``patients`` made-up
    patients (default: the configured size), drawn like dummy datasets' candidates with
    event dates near the measures' intervals -- so a script reading the measures' output
    runs unchanged on the real one. Measures have no population: every made-up patient
    counts wherever the denominator says."""
    wanted = query.dummy_patients if patients is None else patients
    nodes = [
        node
        for ms in query.measures
        for node in (ms.numerator, ms.denominator, *(s for _, s in ms.group_by))
    ]
    intervals = tuple(sorted({span for ms in query.measures for span in ms.intervals}))
    rng = np.random.default_rng(seed)
    tables = candidate_tables(
        referenced_tables(nodes), 1, wanted, rng, collect_hints(nodes, intervals)
    )
    con = _empty_store()
    _load(con, tables)
    return DuckDBEngine(con).measures(query)
