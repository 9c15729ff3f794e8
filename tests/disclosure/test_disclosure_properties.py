"""Property tests of the privacy promises, each checked by an attacker written independently of
the checker: a linear programme over the true per-person counts, fed everything published."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from fivesafes.disclosure import (
    FrequencyTable,
    MemoryReleaseHistory,
    check_frequency,
    crosstab,
    profile,
)
from fivesafes.disclosure.tables import Dimension

PROFILES = ("default", "ons", "opensafely", "opensafely-midpoint6")


def interval(lp_rows: list[np.ndarray], lp_values: list[float], target: np.ndarray) -> tuple:
    """Smallest and largest value of ``target · x`` over non-negative x meeting the sums."""
    a = np.array(lp_rows) if lp_rows else None
    b = np.array(lp_values) if lp_values else None
    ends = []
    for sign in (1.0, -1.0):
        result = linprog(sign * target, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        if result.status == 3:  # unbounded: nothing published limits it
            ends.append(sign * np.inf)
            continue
        assert result.status == 0, result.message
        ends.append(sign * result.fun)
    return ends[0], ends[1]


tables = st.integers(1, 6).flatmap(
    lambda r: st.integers(1, 6).flatmap(
        lambda c: st.lists(
            st.one_of(st.integers(0, 12), st.integers(0, 200)), min_size=r * c, max_size=r * c
        ).map(lambda v: np.array(v, dtype=np.int64).reshape(r, c))
    )
)


def as_table(counts: np.ndarray) -> FrequencyTable:
    rows = Dimension("region", tuple(f"r{i}" for i in range(counts.shape[0])))
    cols = Dimension("group", tuple(f"g{j}" for j in range(counts.shape[1])))
    return FrequencyTable(rows, cols, counts)


@settings(max_examples=100, deadline=None)
@given(counts=tables, name=st.sampled_from(PROFILES))
def test_no_safe_table_shows_a_nonzero_cell_under_the_threshold(counts, name):
    rules = profile(name)
    report, _ = check_frequency(as_table(counts), rules)
    if not report.releasable:
        return
    safe = report.safe
    shown = [safe.values[~safe.hidden]]
    shown += [m for m in (safe.row_totals, safe.column_totals) if m is not None]
    shown = np.concatenate([np.ravel(s) for s in shown])
    shown = shown[~np.isnan(shown)]
    assert not ((shown > 0) & (shown < rules.threshold)).any()


@settings(max_examples=120, deadline=None)
@given(counts=tables)
def test_no_suppressed_cell_can_be_solved_from_the_totals(counts):
    rules = profile("ons")
    report, record = check_frequency(as_table(counts), rules)
    if not report.releasable:
        return
    cells = [tuple(p) for p in np.argwhere(record.hidden)]
    index = {cell: k for k, cell in enumerate(cells)}
    rows, values = [], []
    lines = []
    if counts.shape[1] > 1:
        lines += [[(i, j) for j in range(counts.shape[1])] for i in range(counts.shape[0])]
    if counts.shape[0] > 1:
        lines += [[(i, j) for i in range(counts.shape[0])] for j in range(counts.shape[1])]
    for line in lines:
        hidden = [c for c in line if c in index]
        if hidden:
            row = np.zeros(len(cells))
            row[[index[c] for c in hidden]] = 1
            rows.append(row)
            values.append(float(sum(counts[c] for c in hidden)))
    for i, j in np.argwhere(record.primary):
        target = np.zeros(len(cells))
        target[index[(i, j)]] = 1
        low, high = interval(rows, values, target)
        assert high - low >= 1, f"cell {(i, j)} pinned to {low}"


AGES = 40


@st.composite
def studies(draw):
    """People with an age and sex; a second population that is the first minus a few people;
    two age bandings cut at different places."""
    n = draw(st.integers(60, 260))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ages = rng.integers(0, AGES, n)
    sexes = rng.choice(["F", "M"], n)
    left_out = draw(st.integers(0, 4))
    in_second = np.ones(n, dtype=bool)
    in_second[rng.choice(n, left_out, replace=False)] = False
    bandings = [
        sorted(draw(st.sets(st.integers(1, AGES - 1), min_size=1, max_size=4))) for _ in range(2)
    ]
    two_way = draw(st.booleans())
    return ages, sexes, in_second, bandings, two_way


def band_labels(ages: np.ndarray, cuts: list[int]) -> list[str]:
    edges = [0, *cuts, AGES]
    names = [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(edges)]
    return [names[int(np.searchsorted(edges, a, side="right")) - 1] for a in ages]


def release_sums(record, atom_of: np.ndarray, bands: list[str], sexes, members) -> tuple:
    """What one release published, as sums over atoms (age, sex, population segment)."""
    table = record.table
    rows, values = [], []

    def add(mask: np.ndarray) -> None:
        vector = np.zeros(atom_of.max() + 1)
        vector[np.unique(atom_of[mask])] = 1
        rows.append(vector)
        values.append(float(mask.sum()))

    for i, label in enumerate(table.rows.labels):
        for j in range(table.counts.shape[1]):
            in_cell = members & (np.array(bands) == label)
            if table.columns is not None:
                in_cell &= sexes == table.columns.labels[j]
            if not record.hidden[i, j]:
                add(in_cell)
    if record.true_totals:
        if table.row_totals_published:
            for label in table.rows.labels:
                add(members & (np.array(bands) == label))
        if table.column_totals_published and table.columns is not None:
            for label in table.columns.labels:
                add(members & (sexes == label))
        add(members)
    return rows, values


def publish_two(study: tuple, rules: str) -> tuple[list, list, list, np.ndarray]:
    """Release two tables of the study through the checker (the second checked against the
    first); return what was released and everything published, as sums over atoms — one per
    (age, sex, population segment), finer than anything published."""
    ages, sexes, in_second, bandings, two_way = study
    history = MemoryReleaseHistory()
    populations = (np.ones(len(ages), dtype=bool), in_second)
    released = []
    for k in range(2):
        bands = band_labels(ages, bandings[k])
        keep = populations[k]
        records = pa.table({"age_band": np.array(bands)[keep], "sex": sexes[keep]})
        table = crosstab(records, "age_band", "sex" if (two_way or k == 0) else None)
        report, record = check_frequency(table, profile(rules), f"release {k}", history)
        if report.releasable:
            history.record(record)
            released.append((record, bands, keep))
    atom_of = ages * 4 + (sexes == "M") * 2 + in_second
    rows, values = [], []
    for record, bands, keep in released:
        r, v = release_sums(record, atom_of, bands, sexes, keep)
        rows += r
        values += v
    return released, rows, values, atom_of


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(study=studies(), rules=st.sampled_from(("ons", "default")))
def test_no_cell_suppressed_in_one_release_is_recovered_from_another(study, rules):
    sexes = study[1]
    released, rows, values, atom_of = publish_two(study, rules)
    for record, bands, keep in released:
        for i, j in np.argwhere(record.primary):
            in_cell = keep & (np.array(bands) == record.table.rows.labels[i])
            if record.table.columns is not None:
                in_cell &= sexes == record.table.columns.labels[j]
            target = np.zeros(atom_of.max() + 1)
            target[np.unique(atom_of[in_cell])] = 1
            low, high = interval(rows, values, target)
            assert high - low >= 1, f"{record.name}: {record.table.cell_name(i, j)} recovered"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(study=studies())
def test_no_small_group_is_exposed_by_subtracting_releases(study):
    """Every group an attacker could isolate — people in one piece of the two bandings, of one
    sex or either, in both populations or only the larger — is never pinned to 1..9."""
    ages, sexes, in_second, bandings, _ = study
    _, rows, values, atom_of = publish_two(study, "ons")
    if not rows:
        return
    edges = sorted({0, AGES, *bandings[0], *bandings[1]})
    for low_age, high_age in itertools.pairwise(edges):
        for sex in ("F", "M", None):
            for segment in (False, True):
                member = (ages >= low_age) & (ages < high_age) & (in_second == segment)
                if sex is not None:
                    member &= sexes == sex
                if not member.any():
                    continue
                target = np.zeros(atom_of.max() + 1)
                target[np.unique(atom_of[member])] = 1
                low, high = interval(rows, values, target)
                pinned = high - low < 0.5
                assert not (pinned and 0.5 < low < 9.5), (low_age, high_age, sex, segment, low)
