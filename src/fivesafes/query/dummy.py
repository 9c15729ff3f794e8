"""Dummy data from a definition: exactly the patients asked for, each satisfying it, looking
like the population the real extract will come from.

Generate, then test. Candidate patients are drawn table by table as the environment's
published summary says its population is (``published.py``: which share of patients has
rows in each table and each code, their values' percentiles, the months dates span) and
as the data model declares (types, categories, ranges, age bands). The candidate tables
are loaded into an in-memory DuckDB and the definition itself runs on them: the patients
it returns are by construction in the population and typed exactly as the real extract
will be. So a condition in 6% of the population is in about 6% of dummy patients, and
an output's small numbers, and the disclosure checks on them, behave as they will on
the real data.

Only when the population is rare (fewer than ``LOW_ACCEPTANCE`` of candidates qualify)
are candidates drawn toward what the *population condition* looks for (its codes, dates
near the dates it names, values near its thresholds, ages near its age limits), more
strongly batch by batch (``BIAS_STEPS``) -- so a rare population costs time, not
patients, and the columns keep the population's own shape wherever the population does
not decide them. Only an unsatisfiable population fails, with a message.

Candidates are made and tested in batches of at most ``BATCH_PATIENTS``, each loaded
into the one in-memory store in place of the last, and the patients found are yielded as
they come (``dummy_dataset_parts``): memory does not grow with the size asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fivesafes.model import TABLES, Column, ColumnType, Table, TableKind
from fivesafes.model.codes import CodeSystem, verhoeff_check_digit
from fivesafes.model.lookups import load_lsoa_geography
from fivesafes.query import model as m
from fivesafes.query.dataset import DatasetQuery, MeasureQuery
from fivesafes.query.engines import (
    DuckDBEngine,
    dataset_schema,
    fill,
    in_memory_store,
    measures_table,
)
from fivesafes.query.errors import DefinitionError
from fivesafes.query.published import PublishedSummary, Share, published_summary

DEFAULT_REFERENCE = date(2024, 1, 1)
COVERAGE_START = date(2000, 1, 1)
"""Where event dates start when the summary gives a table no span."""
EVENTS_PER_PATIENT = 4.0
"""Rows per patient of a table the summary does not describe."""
HINT_SHARE = 0.7
"""The strongest pull toward what a population looks for: the share of values drawn from it."""
BIAS_STEPS = (0.0, 0.05, 0.2, HINT_SHARE)
LOW_ACCEPTANCE = 0.02
"""Below this share of candidates in the population, the next batch leans toward it."""
BATCH_PATIENTS = 20_000
PROBE_PATIENTS = 500
"""Candidates in a batch that measures how many qualify before leaning further toward them."""
MAX_CANDIDATES_PER_PATIENT = 1000
CODE_POOL = 50
"""How many different codes a column the summary and the definition say nothing about has."""
NULL_SHARE = 0.15
EPISODES = {"hospital_admissions": ("admission_date", "discharge_date", 0)}
"""Tables whose rows are episodes of care (start column, end column, gap between episodes of
one spell), besides any a definition makes spells of: their dummy rows end after they start."""
STAY_DAYS = (0.35, 1.0, 0.9)
"""Length of stay: the share of day cases (0 nights), else a log-normal number of nights
(mu, sigma: a median of about 3, a long tail), roughly as HES admitted patient care has it."""
LINKED_SHARE = 0.2
"""The share of episodes that continue the one before (a transfer to another consultant or
ward): they start when it ends, so spells are made of more than one episode."""
STILL_IN_SHARE = 0.02
"""The share of patients whose latest episode has not ended (still in hospital)."""

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
    episodes: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    """Tables a definition makes spells of: their start and end columns and the widest gap."""

    @property
    def reference(self) -> date:
        """The latest date the definition names: 'today' for ages and events."""
        return max(self.all_dates, default=DEFAULT_REFERENCE)


_COMPARISONS = frozenset({m.Fn.EQ, m.Fn.NE, m.Fn.LT, m.Fn.LE, m.Fn.GT, m.Fn.GE})


def _column_key(node: m.Series) -> tuple[str, str] | None:
    """The table column a series reads; a spell's start and end are read as its episodes'
    (a spell starts at its first episode's start, and ends at its last's end)."""
    if not isinstance(node, m.Column):
        return None
    origin = m.origin(node.source)
    if isinstance(origin, m.TableFrame):
        return origin.table, node.name
    bound = {"start_date": origin.start, "end_date": origin.end}.get(node.name)
    return _column_key(bound) if bound is not None else None


def collect_hints(nodes: list[m.Series], intervals: tuple[tuple[date, date], ...] = ()) -> Hints:
    """What ``nodes`` look for; ``intervals`` are a measure's, whose dates stand in for
    ``INTERVAL.start_date`` / ``end_date`` wherever a column is compared with them."""
    hints = Hints()
    hints.all_dates.update(d for span in intervals for d in span)
    for root in nodes:
        for node in m.walk(root):
            if isinstance(node, m.Value) and isinstance(node.value, date):
                hints.all_dates.add(node.value)
            if isinstance(node, m.Spells):
                _episode_hints(hints, node)
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


def _episode_hints(hints: Hints, spells: m.Spells) -> None:
    """A table made into spells: its rows are episodes, from the start to the end column."""
    start, end = _column_key(spells.start), _column_key(spells.end)
    if start is None or end is None or start[0] != end[0]:
        return  # spells of computed dates: the columns keep their own shapes
    known = hints.episodes.get(start[0])
    gap = max(spells.gap, known[2]) if known else spells.gap
    hints.episodes[start[0]] = (start[1], end[1], gap)


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


def _month(text: str, end: bool) -> int:
    """A 'YYYY-MM' month as days since 1970: its first day, or its last when ``end``."""
    year, month = (int(p) for p in text.split("-"))
    if not end:
        return _days(date(year, month, 1))
    following = date(year + month // 12, month % 12 + 1, 1)
    return _days(following) - 1


def _to_dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("int32"), pa.int32()).cast(pa.date32())


_AREA_CODES = {
    CodeSystem.LOCAL_AUTHORITY: "lad_code",
    CodeSystem.SUB_ICB: "sub_icb_code",
    CodeSystem.ICB: "icb_code",
}
"""Area code systems and their column in the ONS lookup: dummy data draws real codes."""


@cache
def _area_codes(system: CodeSystem) -> list[str]:
    """England's real codes of one kind of area, sorted (from the shipped ONS lookup)."""
    return sorted(set(load_lsoa_geography()[_AREA_CODES[system]].to_pylist()))


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
    if system in _AREA_CODES:
        return list(rng.choice(_area_codes(system), size=n))
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
    return np.asarray(rng.uniform(low, high))


def _from_percentiles(rng: np.random.Generator, points: list[float], n: int) -> np.ndarray:
    """Values spread as published percentiles say: a tenth between each pair of deciles, and
    the tenths beyond the first and last as far out again as their neighbours."""
    edges = np.array([2 * points[0] - points[1], *points, 2 * points[-1] - points[-2]])
    band = rng.integers(0, len(edges) - 1, n)
    return np.asarray(rng.uniform(edges[band], edges[band + 1]))


def _strings(values: list[str], index: np.ndarray) -> pa.Array:
    """``values[index]`` as an Arrow string array, without a Python loop over rows."""
    dictionary = pa.array(values, pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), dictionary).cast(pa.string())


@dataclass
class _Drawer:
    """Draws values as the summary and model say, leaning toward ``hints`` by ``bias``."""

    rng: np.random.Generator
    hints: Hints
    summary: PublishedSummary
    bias: float = 0.0

    def _hinted(self, n: int) -> np.ndarray:
        return np.asarray(self.rng.random(n) < self.bias)

    def span(self, table: str) -> tuple[int, int]:
        """The days a table's dates run between: the summary's months, else the model's."""
        published = self.summary.spans.get(table)
        if published:
            return _month(published[0], end=False), _month(published[1], end=True)
        return _days(COVERAGE_START), _days(self.hints.reference)

    def dates(self, key: tuple[str, str], low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Days since 1970, between ``low`` and ``high`` per row, some near the hints."""
        n = len(low)
        span = np.maximum(high - low, 0)
        out = low + (self.rng.random(n) * (span + 1)).astype(np.int64)
        near = sorted(self.hints.dates.get(key, set()) or self.hints.all_dates)
        if near and self.bias > 0:
            centre = np.array([_days(d) for d in near])[self.rng.integers(0, len(near), n)]
            # Most hinted dates land near a date the definition names; some exactly on it,
            # so one-day windows ("on the index date") are met without a long search.
            jitter = self.rng.integers(-400, 400, n)
            jitter = np.where(self.rng.random(n) < 0.25, 0, jitter)
            near_days = centre + jitter
            fits = (near_days >= low) & (near_days <= high)
            out = np.where(self._hinted(n) & fits, near_days, out)
        return np.asarray(out)

    def code_shares(self, key: tuple[str, str]) -> dict[str, Share]:
        """Each code this column may hold, with its share of patients: the published codes,
        and the definition's own at the floor share (more, when leaning toward them)."""
        published = self.summary.codes.get(f"{key[0]}.{key[1]}", {})
        shares = dict(published)
        for code in sorted(self.hints.codes.get(key, set())):
            base = shares.get(code, Share(self.summary.floor))
            shares[code] = Share(max(base.share, self.bias), base.rows)
        return shares

    def codes(self, key: tuple[str, str], column: Column, n: int) -> pa.Array:
        """Codes for rows whose code does not decide the rows: as often as the summary says
        each is held, else well-formed others."""
        shares = self.code_shares(key)
        if not shares:
            pool = _well_formed_codes(column.code_system, self.rng, CODE_POOL)
            return _strings(pool, self.rng.integers(0, CODE_POOL, n))
        names = list(shares)
        weights = np.array([s.share * s.rows for s in shares.values()])
        return _strings(names, self.rng.choice(len(names), n, p=weights / weights.sum()))

    def numbers(
        self, key: tuple[str, str], column: Column, n: int, codes: pa.Array | None
    ) -> np.ndarray:
        """Numbers as the summary's percentiles say (per code, when it gives them for the
        row's code), else as the model's distribution or range does."""
        if column.distribution and column.distribution.bands:
            values = _from_bands(self.rng, column.distribution.bands, n)
        else:
            low = float(column.minimum) if isinstance(column.minimum, int | float) else 0.0
            high = float(column.maximum) if isinstance(column.maximum, int | float) else 100.0
            values = self.rng.uniform(low, high, n)
        published = self.summary.values.get(f"{key[0]}.{key[1]}", {})
        if "*" in published:
            values = _from_percentiles(self.rng, published["*"], n)
        if codes is not None:
            row_codes = np.asarray(codes.to_pylist(), dtype=object)
            for code, points in published.items():
                rows = np.flatnonzero(row_codes == code)
                values[rows] = _from_percentiles(self.rng, points, len(rows))
        near = sorted(self.hints.numbers.get(key, set()))
        if near and self.bias > 0:
            centre = np.array(near)[self.rng.integers(0, len(near), n)]
            values = np.where(self._hinted(n), centre + self.rng.normal(0, 2, n), values)
        if isinstance(column.minimum, int | float):
            values = np.maximum(values, column.minimum)
        if isinstance(column.maximum, int | float):
            values = np.minimum(values, column.maximum)
        return np.asarray(np.round(values, 1))

    def categories(self, table: str, column: Column, n: int) -> pa.Array:
        """Values from the column's categories, in the published shares (else the model's)."""
        assert column.categories is not None
        published = self.summary.categories.get(f"{table}.{column.name}", {})
        weights = [published.get(c, 0.0) for c in column.categories] if published else []
        if not any(weights):
            weights = list(column.distribution.weights) if column.distribution else []
        p = np.array(weights) / sum(weights) if weights and sum(weights) else None
        return _strings(list(column.categories), self.rng.choice(len(column.categories), n, p=p))


def _column_values(
    table: Table,
    column: Column,
    drawer: _Drawer,
    owners: np.ndarray,
    people: _People,
    given: dict[str, pa.Array],
) -> pa.Array:
    """One column of a table's rows (``owners`` the patient of each row; ``given`` the
    columns already made, such as the code each row was made for)."""
    n = len(owners)
    key = (table.name, column.name)
    rng = drawer.rng
    if column.name in given:
        return given[column.name]
    if column.type is ColumnType.PATIENT_ID:
        return pa.array(owners, pa.int64())
    if column.type is ColumnType.DATE:
        first, last = drawer.span(table.name)
        born, died = people.born[owners], people.died[owners]
        low = np.maximum(born, first) if table.kind is TableKind.EVENT else born
        high = np.minimum(np.where(died >= 0, died, last), last)
        array = _to_dates(drawer.dates(key, low, np.maximum(high, low)))
    elif column.categories:
        array = drawer.categories(table.name, column, n)
    elif column.type is ColumnType.CODE:
        array = drawer.codes(key, column, n)
    elif column.type in (ColumnType.FLOAT, ColumnType.INTEGER):
        codes = next(iter(given.values()), None)  # the code each row was made for, if any
        values = drawer.numbers(key, column, n, codes)
        array = pa.array(values.astype(np.int64) if column.type is ColumnType.INTEGER else values)
    elif column.type is ColumnType.BOOLEAN:
        array = pa.array(rng.random(n) < 0.5)
    else:
        names = [f"{column.name} {i}" for i in range(1, 8)]
        array = _strings(names, rng.integers(0, len(names), n))
    if column.nullable:
        array = pc.if_else(pa.array(rng.random(n) < NULL_SHARE), pa.nulls(n, array.type), array)
    return array


@dataclass
class _People:
    """A batch's patients: their ids, and dates of birth and death (days since 1970, -1 for
    none) indexed by patient id."""

    table: pa.Table
    born: np.ndarray
    died: np.ndarray


def _patients(first_id: int, n: int, drawer: _Drawer) -> _People:
    """The ``patients`` table: ages from the model's age bands, deaths for some of the old."""
    table = TABLES["patients"]
    rng = drawer.rng
    reference = _days(drawer.hints.reference)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    bands = table.column("date_of_birth").distribution
    ages = _from_bands(rng, bands.bands, n) if bands else rng.uniform(0, 100, n)
    if drawer.hints.ages and drawer.bias > 0:
        near = np.array(sorted(drawer.hints.ages))[rng.integers(0, len(drawer.hints.ages), n)]
        near_ages = np.clip(near + rng.uniform(-3, 3, n), 0, 105)
        ages = np.where(rng.random(n) < drawer.bias / 2, near_ages, ages)
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
        "sex": drawer.categories("patients", table.column("sex"), n),
        "date_of_birth": _to_dates(born),
        "date_of_death": pc.if_else(pa.array(dies), _to_dates(died), pa.nulls(n, pa.date32())),
        "ethnicity": drawer.codes(("patients", "ethnicity"), table.column("ethnicity"), n),
    }
    by_id = np.full(first_id + n, -1, dtype=np.int64)
    born_by_id = by_id.copy()
    born_by_id[ids] = born
    by_id[ids] = np.where(dies, died, -1)
    return _People(pa.table(columns), born_by_id, by_id)


def _driver(table: Table, drawer: _Drawer) -> Column | None:
    """The coded column whose codes decide a table's rows (a row is made for each code a
    patient holds), when the summary or the definition names codes for it."""
    for column in table.columns:
        if column.type is ColumnType.CODE and drawer.code_shares((table.name, column.name)):
            return column
    return None


def _event_table(
    table: Table, ids: np.ndarray, drawer: _Drawer, people: _People, one_each: bool = False
) -> pa.Table:
    """Rows of ``table`` for patients ``ids`` (``one_each``: exactly one row each)."""
    rng = drawer.rng
    given: dict[str, pa.Array] = {}
    driver = None if one_each else _driver(table, drawer)
    if one_each:
        owners = ids
    elif driver is not None:
        shares = drawer.code_shares((table.name, driver.name))
        names = list(shares)
        held = rng.random((len(ids), len(names))) < np.array([s.share for s in shares.values()])
        extra = np.array([max(s.rows - 1, 0.0) for s in shares.values()])
        at_least = drawer.hints.counts.get(table.name, 0.0) if drawer.bias > 0 else 0.0
        if at_least:  # a population counting rows: its codes' holders have that many
            looked_for = drawer.hints.codes.get((table.name, driver.name), set())
            wanted = np.array([not looked_for or c in looked_for for c in names])
            extra = np.where(wanted, np.maximum(extra, at_least - 1), extra)
        counts = np.where(held, 1 + rng.poisson(extra, held.shape), 0).ravel()
        owners = np.repeat(np.repeat(ids, len(names)), counts)
        which = np.repeat(np.tile(np.arange(len(names)), len(ids)), counts)
        given[driver.name] = _strings(names, which)
    else:
        published = drawer.summary.tables.get(table.name, Share(1.0, EVENTS_PER_PATIENT))
        rate = max(published.rows, drawer.hints.counts.get(table.name, 0.0) * drawer.bias)
        has = rng.random(len(ids)) < published.share
        counts = np.where(has, 1 + rng.poisson(max(rate - 1, 0.0), len(ids)), 0)
        if table.name == "practice_registrations":
            counts = np.maximum(counts, 1)
        owners = np.repeat(ids, counts)
    arrays = [_column_values(table, c, drawer, owners, people, given) for c in table.columns]
    data = pa.table(arrays, names=list(table.column_names))
    if table.name == "practice_registrations":
        data = _registration_periods(data, rng)
    episodes = drawer.hints.episodes.get(table.name) or EPISODES.get(table.name)
    if episodes is not None and len(data):
        data = _episodes(table, data, episodes, drawer, people)
    return data


def _episodes(
    table: Table, data: pa.Table, episode: tuple[str, str, int], drawer: _Drawer, people: _People
) -> pa.Table:
    """Rows as episodes of care: each patient's in order of start, each ending a stay's
    length after it starts (never before), some continuing the one before (starting on its
    last day, or within ``gap`` days of it) so that spells join them, and a few patients'
    latest still open, as is one that would end after the table's last date; none ends after
    its patient died."""
    start_name, end_name, gap = episode
    rng = drawer.rng
    owners = data["patient_id"].to_numpy()
    starts = data[start_name].combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)
    order = np.lexsort((starts, owners))
    data, owners, starts = data.take(order), owners[order], starts[order].astype(np.int64)
    n = len(starts)
    day_case, mu, sigma = STAY_DAYS
    stays = np.where(
        rng.random(n) < day_case, 0, np.ceil(rng.lognormal(mu, sigma, n)).astype(np.int64)
    )
    follows = np.concatenate(([False], owners[1:] == owners[:-1])) & (rng.random(n) < LINKED_SHARE)
    after = rng.integers(0, gap + 1, n)
    ends = np.empty(n, dtype=np.int64)
    last_day = drawer.span(table.name)[1]
    for k in range(n):  # each episode's start may move to the one before's end
        if follows[k] and ends[k - 1] + after[k] <= last_day:
            starts[k] = ends[k - 1] + after[k]
        ends[k] = starts[k] + stays[k]
    died = people.died[owners]
    ends = np.where((died >= 0) & (ends > died), np.maximum(died, starts), ends)
    starts = np.minimum(starts, ends)
    latest = np.concatenate((owners[1:] != owners[:-1], [True]))
    open_ = latest & (died < 0) & (rng.random(n) < STILL_IN_SHARE)
    open_ |= ends > last_day
    if not table.column(end_name).nullable:
        ends, open_ = np.minimum(ends, np.maximum(last_day, starts)), np.zeros(n, dtype=bool)
    end_dates = pc.if_else(pa.array(open_), pa.nulls(n, pa.date32()), _to_dates(ends))
    data = data.set_column(data.schema.get_field_index(start_name), start_name, _to_dates(starts))
    return data.set_column(data.schema.get_field_index(end_name), end_name, end_dates)


def _registration_periods(data: pa.Table, rng: np.random.Generator) -> pa.Table:
    """End dates after start dates; most registrations still current."""
    start = data["start_date"].combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)
    length = rng.integers(30, 6000, len(start))
    ends = _to_dates(start + length)
    current = pa.array(rng.random(len(start)) < 0.75)
    end_date = pc.if_else(current, pa.nulls(len(start), pa.date32()), ends)
    return data.set_column(data.schema.get_field_index("end_date"), "end_date", end_date)


def candidate_tables(
    tables: list[str],
    first_id: int,
    n: int,
    rng: np.random.Generator,
    hints: Hints,
    bias: float = HINT_SHARE,
    summary: PublishedSummary | None = None,
) -> dict[str, pa.Table]:
    """One batch of made-up patients for the tables a definition reads, leaning toward what
    ``hints`` look for by ``bias`` (0: the published population as it is)."""
    drawer = _Drawer(rng, hints, summary or published_summary(), bias)
    people = _patients(first_id, n, drawer)
    ids = people.table["patient_id"].to_numpy()
    out = {"patients": people.table}
    for name in tables:
        table = TABLES[name]
        if name == "patients":
            continue
        if name == "deaths":  # registered deaths are the deaths of the patients table
            died = ids[people.died[ids] >= 0]
            rows = _event_table(table, died, drawer, people, one_each=True)
            day = _to_dates(people.died[died])
            out[name] = rows.set_column(rows.schema.get_field_index("date"), "date", day)
        elif table.kind is TableKind.PATIENT:
            share = drawer.summary.tables.get(name, Share(0.5)).share
            keep = ids[rng.random(len(ids)) < max(share, bias)]
            rows = _event_table(table, keep, drawer, people)
            # one row per patient: keep each patient's first
            first = np.unique(rows["patient_id"].to_numpy(), return_index=True)[1]
            out[name] = rows.take(first)
        else:
            out[name] = _event_table(table, ids, drawer, people)
    return out


# --- datasets and measures ------------------------------------------------------------------


def dummy_dataset_parts(
    query: DatasetQuery,
    patients: int | None = None,
    seed: int = 1,
    summary: PublishedSummary | None = None,
) -> Iterator[pa.Table]:
    """Exactly ``patients`` rows (default: the definition's configured size) of the dataset,
    run on generated data, in parts as they are found (each batch's patients); raises
    DefinitionError when no generated patient qualifies."""
    wanted = query.dummy_patients if patients is None else patients
    nodes = [query.population, *(s for _, s in query.columns)]
    tables = referenced_tables(nodes)
    hints = collect_hints([query.population])
    hints.all_dates = collect_hints(nodes).all_dates  # 'today' is the latest date named
    rng = np.random.default_rng(seed)
    con = in_memory_store()
    engine = DuckDBEngine(con)
    have, next_id, step = 0, 1, 0
    probe = min(max(int(wanted * 1.3), PROBE_PATIENTS), BATCH_PATIENTS)
    batch = probe
    while have < wanted:
        made = candidate_tables(tables, next_id, batch, rng, hints, BIAS_STEPS[step], summary)
        fill(con, made)
        found = engine.dataset(query)
        if found.num_rows:
            part = found.slice(0, wanted - have)
            have += part.num_rows
            yield part
        next_id += batch
        rate = found.num_rows / batch
        if next_id > MAX_CANDIDATES_PER_PATIENT * wanted + 10_000 and have < wanted:
            raise DefinitionError(
                f"after {next_id - 1:,} made-up patients only {have:,} met the population "
                "condition, so it may never be true",
                "check the population condition (for example two conditions that exclude each "
                "other, or dates that cannot happen), or ask for fewer patients",
            )
        if rate < LOW_ACCEPTANCE and step < len(BIAS_STEPS) - 1:
            step, batch = step + 1, probe  # lean further toward the population, and look again
        else:
            rate = max(rate, 1 / MAX_CANDIDATES_PER_PATIENT)
            batch = int(min(max((wanted - have) / rate * 1.2, 16), BATCH_PATIENTS))


def dummy_dataset(
    query: DatasetQuery,
    patients: int | None = None,
    seed: int = 1,
    summary: PublishedSummary | None = None,
) -> pa.Table:
    """The whole of :func:`dummy_dataset_parts`, as one table."""
    parts = list(dummy_dataset_parts(query, patients, seed, summary))
    return pa.concat_tables(parts) if parts else dataset_schema(query).empty_table()


def dummy_measures(
    query: MeasureQuery,
    patients: int | None = None,
    seed: int = 1,
    summary: PublishedSummary | None = None,
) -> pa.Table:
    """Every measure of ``query`` computed by the DuckDB engine on ``patients`` made-up
    patients (default: the configured size), drawn as the published population is (in
    batches, their numerators and denominators summed) -- so a script reading the
    measures' output runs unchanged on the real one. Measures have no population: every
    made-up patient counts wherever the denominator says."""
    wanted = query.dummy_patients if patients is None else patients
    nodes = [
        node
        for ms in query.measures
        for node in (ms.numerator, ms.denominator, *(s for _, s in ms.group_by))
    ]
    intervals = tuple(sorted({span for ms in query.measures for span in ms.intervals}))
    hints = collect_hints(nodes, intervals)
    rng = np.random.default_rng(seed)
    con = in_memory_store()
    engine = DuckDBEngine(con)
    parts: list[pa.Table] = []
    for first in range(1, wanted + 1, BATCH_PATIENTS):
        size = min(BATCH_PATIENTS, wanted + 1 - first)
        fill(con, candidate_tables(referenced_tables(nodes), first, size, rng, hints, 0.0, summary))
        parts.extend(engine.measures_parts(query))
    return measures_table(query, parts)
