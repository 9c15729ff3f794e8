"""Differencing: can subtracting a new table from an earlier release expose a small group?

Two tables from one project are compared on a common set of *atoms*: every combination of the
finest categories both use (overlapping age bands are cut at every band edge of either) and,
because the checker cannot know how the two populations relate, every way they could: the same
people, the new population inside the old, or the old inside the new — each adding a segment of
people in one population only. Everything either table published is a known sum of atoms. The
new table is refused when, under any of those hypotheses, those sums fix

- a cell either table suppressed as too small, or
- the number of people in a group of atoms (a run of bands × a category, in one segment) to a
  value between 1 and the threshold — e.g. the 16–17-year-olds between ``0-17`` and ``0-15``,
  or the three people between two nested populations.

The new table is compared with each earlier one in turn under all three hypotheses, then with
all related earlier releases at once as one population (what takes three tables to see).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from fivesafes.disclosure.audit import always_zero, determined
from fivesafes.disclosure.history import ReleasedTable
from fivesafes.disclosure.intervals import covers, parse_banding, pieces

MAX_ATOMS = 6000
MAX_RUN_PIECES = 30
HYPOTHESES = (
    "same population",
    "new population inside the earlier one",
    "earlier population inside the new one",
)


@dataclass(frozen=True)
class Exposure:
    """One way the new table gives something away; ``cells`` are the new table's sums involved."""

    earlier: str
    hypothesis: str
    what: str
    cells: tuple[str, ...]
    positions: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Axis:
    name: str
    atoms: tuple[str, ...]
    members: dict[str, frozenset[int]]
    ordered: bool


def _axes(releases: list[ReleasedTable]) -> list[_Axis]:
    names: dict[str, list[str]] = {}
    for release in releases:
        for dim in release.table.dimensions:
            names.setdefault(dim.name, [])
            names[dim.name] += [label for label in dim.labels if label not in names[dim.name]]
    axes = []
    for name, labels in names.items():
        banding = parse_banding(tuple(labels))
        if banding is None:
            members = {label: frozenset({k}) for k, label in enumerate(labels)}
            axes.append(_Axis(name, tuple(labels), members, ordered=False))
            continue
        parts = pieces([banding])
        members = {
            label: frozenset(k for k, p in enumerate(parts) if covers(band, p))
            for label, band in zip(labels, banding, strict=True)
        }
        axes.append(_Axis(name, tuple(_piece_label(p) for p in parts), members, True))
    return axes


def _piece_label(piece: tuple[float, float]) -> str:
    """A piece of whole numbers as an analyst writes it: ``16-17``, ``65+``, ``<5``."""
    low, high = piece
    if high == math.inf:
        return f"{low:g}+"
    if low == -math.inf:
        return f"<{high:g}"
    return f"{low:g}" if high - low == 1 else f"{low:g}-{high - 1:g}"


class _Space:
    """Atoms: one index per (piece of each axis…, segment)."""

    def __init__(self, axes: list[_Axis], segments: int) -> None:
        self.axes = axes
        self.segments = segments
        self.shape = (*(len(ax.atoms) for ax in axes), segments)
        self.size = int(np.prod(self.shape))

    def vector(self, choice: dict[str, frozenset[int]], segments: frozenset[int]) -> np.ndarray:
        """The atoms inside one sum: a set of pieces per named axis (absent: all) and segments."""
        grids = [
            np.isin(np.arange(len(ax.atoms)), sorted(choice[ax.name]))
            if ax.name in choice
            else np.ones(len(ax.atoms), dtype=bool)
            for ax in self.axes
        ]
        grids.append(np.isin(np.arange(self.segments), sorted(segments)))
        mask = grids[0]
        for grid in grids[1:]:
            mask = np.multiply.outer(mask, grid)
        return mask.ravel().astype(float)


def _sums(
    release: ReleasedTable, space: _Space, segments: frozenset[int]
) -> tuple[list[np.ndarray], list[float], list[str], list[tuple[int, int]], list[bool]]:
    """Every sum a release published, and for each: value, name, position, primary-hidden."""
    table = release.table
    rows, cols = table.rows, table.columns
    vectors, values, names, positions, primary = [], [], [], [], []

    def choice(i: int | None, j: int | None) -> dict[str, frozenset[int]]:
        axis = {ax.name: ax for ax in space.axes}
        picked = {}
        if i is not None:
            picked[rows.name] = axis[rows.name].members[rows.labels[i]]
        if cols is not None and j is not None:
            picked[cols.name] = axis[cols.name].members[cols.labels[j]]
        return picked

    def add(i: int | None, j: int | None, value: float, name: str, pos: tuple, hidden: bool):
        vectors.append(space.vector(choice(i, j), segments))
        values.append(float(value))
        names.append(name)
        positions.append(pos)
        primary.append(hidden)

    counts = table.counts
    for i, j in itertools.product(range(counts.shape[0]), range(counts.shape[1])):
        add(i, j, counts[i, j], table.cell_name(i, j), (i, j), bool(release.primary[i, j]))
    if release.true_totals:
        if table.row_totals_published:
            for i, label in enumerate(rows.labels):
                add(i, None, counts[i].sum(), f"total for {rows.name}={label}", (i, -1), False)
        if table.column_totals_published and cols is not None:
            for j, label in enumerate(cols.labels):
                add(None, j, counts[:, j].sum(), f"total for {cols.name}={label}", (-1, j), False)
        add(None, None, counts.sum(), "grand total", (-1, -1), False)
    return vectors, values, names, positions, primary


def _published(release: ReleasedTable, positions: list[tuple[int, int]]) -> np.ndarray:
    return np.array(
        [pos[0] < 0 or pos[1] < 0 or not release.hidden[pos] for pos in positions], dtype=bool
    )


def _run_label(axis: _Axis, first: int, end: int) -> str:
    if end - first == 1:
        return axis.atoms[first]
    low = axis.atoms[first].split("-")[0].rstrip("+")
    high = axis.atoms[end - 1]
    high = high.split("-")[-1] if not high.endswith("+") else "+"
    return f"{low}+" if high == "+" else f"{low}-{high}"


def _groups(space: _Space) -> tuple[np.ndarray, list[str]]:
    """Small groups worth protecting: runs of bands (or single categories) × each segment."""
    per_axis = []
    for ax in space.axes:
        n = len(ax.atoms)
        options: list[tuple[frozenset[int], str]] = [(frozenset(range(n)), f"any {ax.name}")]
        if ax.ordered and n <= MAX_RUN_PIECES:
            runs = [(a, b) for a in range(n) for b in range(a + 1, n + 1) if b - a < n]
        else:
            runs = [(a, a + 1) for a in range(n)] if n > 1 else []
        for a, b in runs:
            options.append((frozenset(range(a, b)), f"{ax.name} {_run_label(ax, a, b)}"))
        per_axis.append(options)
    vectors, names = [], []
    segment_names = ("in both populations", "in one population only")
    for combo in itertools.product(*per_axis):
        for s in range(space.segments):
            picked = {ax.name: option[0] for ax, option in zip(space.axes, combo, strict=True)}
            vectors.append(space.vector(picked, frozenset({s})))
            where = ", ".join(option[1] for option in combo)
            names.append(where + (f", {segment_names[s]}" if space.segments > 1 else ""))
    return np.array(vectors), names


def _audit(
    tables: list[tuple[ReleasedTable, frozenset[int]]],
    space: _Space,
    threshold: int,
    hypothesis: str,
    earlier: str,
) -> list[Exposure] | None:
    """Exposures when ``tables`` (the new one first, each with the population segments it
    covers) are all published together; None when their true counts rule the hypothesis out."""
    sums = [_sums(table, space, segments) for table, segments in tables]
    every = np.vstack([np.array(v) for v, *_ in sums])
    if not _possible(every, np.concatenate([val for _, val, *_ in sums])):
        return None
    shown = np.concatenate([_published(t, s[3]) for (t, _), s in zip(tables, sums, strict=True)])
    values = np.concatenate([val for _, val, *_ in sums])[shown]
    published = every[shown]
    zero = always_zero(published, values)
    published[:, zero] = 0
    new_count = len(sums[0][0])
    new_rows = [k for k in range(new_count) if shown[k]]
    _, _, new_names, new_positions, _ = sums[0]
    found = []

    def blame(what: str, group: np.ndarray) -> Exposure:
        weights = _fewest_sums(published, group)
        involved = [k for n, k in enumerate(new_rows) if abs(weights[n]) > 1e-6]
        return Exposure(
            earlier,
            hypothesis,
            what,
            tuple(new_names[k] for k in involved),
            tuple(new_positions[k] for k in involved),
        )

    primary = np.concatenate([np.array(s[4], dtype=bool) for s in sums])
    if primary.any():
        names = [
            name if n == 0 else f"{table.name}: {name}"
            for n, ((table, _), s) in enumerate(zip(tables, sums, strict=True))
            for name in s[2]
        ]
        hidden = every[primary].copy()
        hidden[:, zero] = 0
        leaks = determined(published, hidden) & (hidden.sum(axis=1) > 0)
        for k in np.flatnonzero(leaks):
            found.append(blame(f"suppressed cell {np.array(names)[primary][k]}", hidden[k]))
    groups, group_names = _groups(space)
    groups[:, zero] = 0
    fixed = determined(published, groups) & (groups.sum(axis=1) > 0)
    if fixed.any():
        weights = np.linalg.lstsq(published.T, groups[fixed].T, rcond=None)[0]
        for k, amount in zip(np.flatnonzero(fixed), weights.T @ values, strict=True):
            if 0.5 <= amount < threshold - 0.5 + 1e-9:
                found.append(blame(f"the group {group_names[k]}", groups[k]))
    return found


def check_against(new: ReleasedTable, earlier: ReleasedTable, threshold: int) -> list[Exposure]:
    """Every exposure between a new table and one earlier release, under each hypothesis."""
    axes = _axes([new, earlier])
    found: list[Exposure] = []
    for hypothesis in HYPOTHESES:
        segments = 1 if hypothesis == HYPOTHESES[0] else 2
        space = _Space(axes, segments)
        if space.size > MAX_ATOMS:
            return _same_cells(new, earlier, threshold)
        new_segments = frozenset({0}) if hypothesis != HYPOTHESES[2] else frozenset({0, 1})
        old_segments = frozenset({0}) if hypothesis != HYPOTHESES[1] else frozenset({0, 1})
        tables = [(new, new_segments), (earlier, old_segments)]
        found += _audit(tables, space, threshold, hypothesis, earlier.name) or []
    return found


def check_together(
    new: ReleasedTable, history: list[ReleasedTable], threshold: int
) -> list[Exposure]:
    """All releases at once, as one population: sums that need three or more tables.

    Only the earlier tables that share a variable with the new one take part, and only while
    their common atoms stay few enough to solve.
    """
    names = {d.name for d in new.table.dimensions}
    related = [e for e in history if names & {d.name for d in e.table.dimensions}]
    if len(related) < 2:
        return []
    space = _Space(_axes([new, *related]), 1)
    if space.size > MAX_ATOMS:
        return []
    tables = [(new, frozenset({0})), *((e, frozenset({0})) for e in related)]
    everyone = f"{len(related)} earlier releases together"
    return _audit(tables, space, threshold, "same population", everyone) or []


def _fewest_sums(published: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Weights on the published sums that add up to ``group`` using as few of them as a linear
    programme finds (least total weight), so a report names the cells actually subtracted."""
    m = published.shape[0]
    result = linprog(
        np.ones(2 * m),
        A_eq=np.hstack([published.T, -published.T]),
        b_eq=group,
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0:
        return np.linalg.lstsq(published.T, group, rcond=None)[0]
    return result.x[:m] - result.x[m:]


def _possible(sums: np.ndarray, values: np.ndarray) -> bool:
    """Whether some non-negative counts of atoms give every cell of both tables its true value.

    When none do (a numerator that is larger than its denominator cannot hold the same people),
    the hypothesis is false and what it would expose is not real.
    """
    result = linprog(
        np.zeros(sums.shape[1]), A_eq=sums, b_eq=values, bounds=(0, None), method="highs"
    )
    return result.status == 0


def _same_cells(new: ReleasedTable, earlier: ReleasedTable, threshold: int) -> list[Exposure]:
    """For tables too large to cut into atoms: published sums with the same categories (cells,
    totals) whose difference is a small non-zero number."""

    def published(release: ReleasedTable) -> dict[tuple, tuple[float, str, tuple[int, int]]]:
        table, out = release.table, {}
        cols = table.columns.labels if table.columns else (None,)
        for i, row in enumerate(table.rows.labels):
            for j, col in enumerate(cols):
                if not release.hidden[i, j]:
                    out[(row, col)] = (float(table.counts[i, j]), table.cell_name(i, j), (i, j))
            if release.true_totals and table.row_totals_published:
                out[(row, "*")] = (float(table.counts[i].sum()), f"total for {row}", (i, -1))
        if release.true_totals:
            out[("*", "*")] = (float(table.counts.sum()), "grand total", (-1, -1))
        return out

    before, now = published(earlier), published(new)
    found = []
    for key, (value, name, position) in now.items():
        if key in before and 0 < abs(value - before[key][0]) < threshold:
            what = f"the difference between {name} and {earlier.name}'s {before[key][1]}"
            found.append(Exposure(earlier.name, "same categories", what, (name,), (position,)))
    return found


def check_history(
    new: ReleasedTable, history: list[ReleasedTable], threshold: int
) -> list[Exposure]:
    """Exposures between a new table and each table the project released before, then all of
    them together; each exposure reported once."""
    found = [e for earlier in history for e in check_against(new, earlier, threshold)]
    seen = {(e.hypothesis, e.what) for e in found}
    together = check_together(new, history, threshold)
    return found + [e for e in together if (e.hypothesis, e.what) not in seen]
