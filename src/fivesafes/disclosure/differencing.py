"""Differencing: can subtracting a new table from earlier releases expose a small group?

Tables are compared on a common set of *atoms*: every combination of the finest categories any
of them uses — overlapping age bands are cut at every band edge, and each variable has a piece
for the values no table shows (the people a table over some categories leaves out) — and, since
the checker cannot know how two tables' populations relate, every way they could:

- **the same population**, each table covering the categories it shows: a table over ethnic
  groups A and B is the A and B people of a table over A, B and C, and a table over four
  regions is the three of another plus the fourth (subsets and unions of categories);
- **the new population inside the earlier one**, or **the earlier inside the new**, each adding
  a segment of people in one population only (a numerator and its denominator, a cohort and a
  cohort less those who moved away).

Everything a table published is a known sum of atoms: its cells, and its totals where they are
published. A hidden cell is a sum whose value is unknown to the attacker, and to the checks:
even where the environment suppressed the cell itself and keeps its true count, no verdict
depends on that count, or a refusal would tell it. The new table is refused when, under a
hypothesis the published counts do not rule out, those sums fix

- a cell any of the tables hid (for being small, or to protect one that was), or
- the number of people in a group of atoms (a run of bands × a category, in one segment) to a
  value between 1 and the threshold — the 16-17-year-olds between ``0-17`` and ``0-15``, or
  the three people between two nested populations.

The new table is compared with each earlier one in turn under all three hypotheses, then with
the earlier releases together as one population (what takes three tables to see), as many of
them as fit in ``MAX_ATOMS`` atoms.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from fivesafes.disclosure.audit import always_zero, determined
from fivesafes.disclosure.history import ReleasedTable
from fivesafes.disclosure.intervals import Interval, covers, parse_interval, pieces
from fivesafes.disclosure.tables import Dimension

MAX_ATOMS = 6000
"""Atoms of one comparison; beyond it a pair is compared on identical categories only."""
MAX_GROUP_ENTRIES = 8_000_000
"""Groups × atoms held at once: runs of bands are dropped first, then combinations of axes."""
MAX_RUN_PIECES = 30
HYPOTHESES = (
    "same population",
    "new population inside the earlier one",
    "earlier population inside the new one",
)
OTHER = "(other)"
"""The label of the piece holding a variable's values that no table shows."""


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
    """One variable cut into pieces: bands (ordered, cut at every edge), named categories, and
    the rest. ``members`` gives each label's pieces; ``bands`` the interval of each band piece."""

    name: str
    atoms: tuple[str, ...]
    members: dict[str, frozenset[int]]
    bands: tuple[Interval, ...]
    rest: frozenset[int]
    """The pieces no label covers: values below and above every band, and other categories."""

    @property
    def every(self) -> frozenset[int]:
        return frozenset(range(len(self.atoms)))


def _variables(dim: Dimension) -> list[tuple[str, tuple[str, ...]]]:
    """A dimension as the variables it is made of: a long file's joined rows (``age_band &
    sex``, labels ``0-17 / F``) are two variables again."""
    names = dim.name.split(" & ")
    if len(names) > 1:
        parts = [tuple(label.split(" / ")) for label in dim.labels]
        if all(len(p) == len(names) for p in parts):
            return [(n, tuple(p[k] for p in parts)) for k, n in enumerate(names)]
    return [(dim.name, dim.labels)]


def _table_variables(release: ReleasedTable) -> list[tuple[str, tuple[str, ...]]]:
    return [v for dim in release.table.dimensions for v in _variables(dim)]


def _axis(name: str, labels: list[str]) -> _Axis:
    banded = {label: parse_interval(label) for label in labels}
    bands = [b for b in banded.values() if b is not None]
    band_pieces = pieces([bands]) if bands else []
    if band_pieces:
        low, high = band_pieces[0][0], band_pieces[-1][1]
        band_pieces = [
            *([(-math.inf, low)] if low > -math.inf else []),
            *band_pieces,
            *([(high, math.inf)] if high < math.inf else []),
        ]
    named = [label for label, band in banded.items() if band is None]
    atoms = [_piece_label(p) for p in band_pieces] + named + [OTHER]
    members = {}
    for label, band in banded.items():
        if band is None:
            members[label] = frozenset({len(band_pieces) + named.index(label)})
        else:
            members[label] = frozenset(k for k, p in enumerate(band_pieces) if covers(band, p))
    covered = frozenset().union(*members.values())
    rest = frozenset(range(len(atoms))) - covered
    return _Axis(name, tuple(atoms), members, tuple(band_pieces), rest)


def _axes(releases: list[ReleasedTable], keep: set[str] | None = None) -> list[_Axis]:
    labels: dict[str, list[str]] = {}
    for release in releases:
        for name, values in _table_variables(release):
            if keep is None or name in keep:
                known = labels.setdefault(name, [])
                known += [v for v in dict.fromkeys(values) if v not in known]
    return [_axis(name, values) for name, values in labels.items()]


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
        self.by_name = {ax.name: ax for ax in axes}
        self.shape = (*(len(ax.atoms) for ax in axes), segments)
        self.size = int(np.prod(self.shape))

    def rest(self) -> np.ndarray:
        """Atoms holding a value no table shows on some axis."""
        mask = np.zeros(self.size, dtype=bool)
        for ax in self.axes:
            others = {ax.name: ax.rest}
            mask |= self.vector(others, frozenset(range(self.segments))).astype(bool)
        return mask

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


@dataclass
class _Sums:
    """Everything one table says, as sums of atoms: each sum's vector, value (nan: unknown),
    name and position, whether it was published, and whether it must stay hidden."""

    vectors: list[np.ndarray]
    values: list[float]
    names: list[str]
    positions: list[tuple[int, int]]
    published: list[bool]
    protected: list[bool]


def _sums(
    release: ReleasedTable, space: _Space, segments: frozenset[int], restricted: bool
) -> _Sums:
    """Every sum a release made, cells and totals. With ``restricted`` a total covers only the
    categories the table shows (its population is the shared one, cut to them); without, it
    covers every atom of its segments (its own population, nobody outside its categories)."""
    table = release.table
    dims = table.dimensions
    per_dim = [_variables(d) for d in dims]

    def choice(picked: tuple[int | None, ...]) -> dict[str, frozenset[int]]:
        out: dict[str, frozenset[int]] = {}
        for variables, index in zip(per_dim, picked, strict=False):
            for name, labels in variables:
                axis = space.by_name[name]
                if index is not None:
                    out[name] = axis.members[labels[index]]
                elif restricted:
                    out[name] = frozenset().union(*(axis.members[v] for v in labels))
        return out

    sums = _Sums([], [], [], [], [], [])

    def add(
        picked: tuple[int | None, ...],
        value: float,
        name: str,
        pos: tuple[int, int],
        shown: bool,
        protect: bool,
    ) -> None:
        sums.vectors.append(space.vector(choice(picked), segments))
        sums.values.append(value)
        sums.names.append(name)
        sums.positions.append(pos)
        sums.published.append(shown)
        sums.protected.append(protect)

    counts, withheld, protected = table.counts, release.withheld, release.protected
    for i, j in itertools.product(range(counts.shape[0]), range(counts.shape[1])):
        value = math.nan if withheld[i, j] else float(counts[i, j])
        cell: tuple[int | None, ...] = (i, j) if table.columns is not None else (i,)
        hidden = bool(release.hidden[i, j])
        add(cell, value, table.cell_name(i, j), (i, j), not hidden, bool(protected[i, j]))
    for picked, value, name, position in _totals(release):
        add(picked, value, name, position, True, False)
    return sums


def _totals(
    release: ReleasedTable,
) -> list[tuple[tuple[int | None, ...], float, str, tuple[int, int]]]:
    """The totals a release published, with their values: the file's own when it came in with
    hidden cells, else the true totals when the profile publishes them (recomputed totals are
    sums of published cells and add nothing)."""
    table = release.table
    if not release.true_totals:
        return []
    rows, cols = table.rows, table.columns
    shown = table.published()
    if table.file_totals is not None:
        row_values = table.file_totals.rows
        col_values = table.file_totals.columns
        grand = table.file_totals.total
    else:
        row_values = table.counts.sum(axis=1).astype(float)
        col_values = table.counts.sum(axis=0).astype(float)
        grand = float(table.counts.sum())
    found: list[tuple[tuple[int | None, ...], float, str, tuple[int, int]]] = []
    if cols is not None:
        for i in np.flatnonzero(shown.rows):
            name = f"total for {rows.name}={rows.labels[i]}"
            found.append(((int(i), None), float(row_values[i]), name, (int(i), -1)))
        for j in np.flatnonzero(shown.columns):
            name = f"total for {cols.name}={cols.labels[j]}"
            found.append(((None, int(j)), float(col_values[j]), name, (-1, int(j))))
    if (shown.total or shown.rows.any() or shown.columns.any()) and not math.isnan(grand):
        found.append(((None, None), grand, "grand total", (-1, -1)))
    return found


def _run_label(axis: _Axis, first: int, end: int) -> str:
    return _piece_label((axis.bands[first][0], axis.bands[end - 1][1]))


def _axis_options(ax: _Axis, runs: bool) -> list[tuple[frozenset[int], str]]:
    """The groups of one axis worth protecting: any value, each piece, and (if ``runs``) each
    run of neighbouring bands."""
    options: list[tuple[frozenset[int], str]] = [(ax.every, f"any {ax.name}")]
    n_bands = len(ax.bands)
    spans = (
        [(a, b) for a in range(n_bands) for b in range(a + 2, n_bands + 1) if b - a < n_bands]
        if runs and n_bands <= MAX_RUN_PIECES
        else []
    )
    options += [(frozenset(range(a, b)), f"{ax.name} {_run_label(ax, a, b)}") for a, b in spans]
    options += [(frozenset({k}), f"{ax.name} {atom}") for k, atom in enumerate(ax.atoms)]
    return options


def _groups(space: _Space) -> tuple[np.ndarray, list[str]]:
    """Small groups worth protecting: runs of bands (or single categories) × each segment,
    as many as ``MAX_GROUP_ENTRIES`` allows (runs go first, then combinations of axes)."""
    budget = max(1, MAX_GROUP_ENTRIES // max(1, space.size))
    per_axis = [_axis_options(ax, runs=True) for ax in space.axes]
    if math.prod(len(o) for o in per_axis) * space.segments > budget:
        per_axis = [_axis_options(ax, runs=False) for ax in space.axes]
    combos: list[tuple[tuple[frozenset[int], str], ...]]
    if math.prod(len(o) for o in per_axis) * space.segments <= budget:
        combos = list(itertools.product(*per_axis))
    else:  # one axis at a time, the others any value
        combos = []
        for k, options in enumerate(per_axis):
            for option in options:
                chosen = [o[0] for o in per_axis]
                chosen[k] = option
                combos.append(tuple(chosen))
    vectors, names = [], []
    segment_names = ("in both populations", "in one population only")
    for combo in combos:
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
    restricted: bool,
) -> list[Exposure]:
    """Exposures when ``tables`` (the new one first, each with the population segments it
    covers) are all published together; none when their known counts rule the hypothesis out.

    First on the assumption an analyst's own knowledge allows — nobody holds a value no table
    shows (a table over four ethnic groups made from everyone covers everyone) — and, if the
    known counts rule that out, without it."""
    sums = [_sums(table, space, segments, restricted) for table, segments in tables]
    for unseen in (space.rest(), np.zeros(space.size, dtype=bool)):
        found = _audit_sums(tables, sums, space, threshold, hypothesis, earlier, unseen)
        if found is not None:
            return found
    return []


def _audit_sums(
    tables: list[tuple[ReleasedTable, frozenset[int]]],
    sums: list[_Sums],
    space: _Space,
    threshold: int,
    hypothesis: str,
    earlier: str,
    empty: np.ndarray,
) -> list[Exposure] | None:
    """The audit of one set of sums with the ``empty`` atoms taken to hold nobody; None when
    the published counts cannot hold then.

    Only published counts decide anything here, never the true counts of cells the
    environment hid: a verdict that depended on them would be an oracle (a table of ``C,10``
    refused only when the hidden C is 10 tells another project's analyst that it is)."""
    every = np.vstack([np.array(s.vectors) for s in sums])
    every[:, empty] = 0
    values = np.concatenate([np.array(s.values) for s in sums])
    shown = np.concatenate([np.array(s.published, dtype=bool) for s in sums])
    if not _possible(every[shown], values[shown]):
        return None
    published = every[shown]
    shown_values = values[shown]
    zero = always_zero(published, shown_values) | empty
    published[:, zero] = 0
    new = sums[0]
    new_rows = [k for k in range(len(new.vectors)) if new.published[k]]
    found = []

    def blame(what: str, group: np.ndarray) -> Exposure:
        weights = _fewest_sums(published, group)
        involved = [k for n, k in enumerate(new_rows) if abs(weights[n]) > 1e-6]
        return Exposure(
            earlier,
            hypothesis,
            what,
            tuple(new.names[k] for k in involved),
            tuple(new.positions[k] for k in involved),
        )

    protected = np.concatenate([np.array(s.protected, dtype=bool) for s in sums])
    if protected.any():
        names = [
            name if n == 0 else f"{table.label}: {name}"
            for n, ((table, _), s) in enumerate(zip(tables, sums, strict=True))
            for name in s.names
        ]
        hidden = every[protected].copy()
        hidden[:, zero] = 0
        leaks = determined(published, hidden) & (hidden.sum(axis=1) > 0)
        for k in np.flatnonzero(leaks):
            found.append(blame(f"suppressed cell {np.array(names)[protected][k]}", hidden[k]))
    groups, group_names = _groups(space)
    groups[:, zero] = 0
    fixed = determined(published, groups) & (groups.sum(axis=1) > 0)
    if fixed.any():
        weights = np.linalg.lstsq(published.T, groups[fixed].T, rcond=None)[0]
        for k, amount in zip(np.flatnonzero(fixed), weights.T @ shown_values, strict=True):
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
        # nested populations are tried with each table covering every atom of its segments
        # (nobody outside its categories) and, when their categories differ, covering only
        # its categories (a subset of one population against another population)
        coverings = (True,) if hypothesis == HYPOTHESES[0] else (False, True)
        for restricted in coverings[: 1 if not _categories_differ(new, earlier) else 2]:
            found += _audit(tables, space, threshold, hypothesis, earlier.label, restricted)
    seen = {e.what for e in found}
    return found + [e for e in _unions(new, earlier, threshold) if e.what not in seen]


def _categories_differ(one: ReleasedTable, other: ReleasedTable) -> bool:
    """Whether a variable both tables show has other categories in one than in the other."""
    labels = dict(_table_variables(one))
    return any(
        name in labels and set(labels[name]) != set(values)
        for name, values in _table_variables(other)
    )


_Key = frozenset[tuple[str, str]]
"""The categories a sum is restricted to, ``{(variable, label), …}``."""
_Shown = dict[_Key, tuple[float, str, tuple[int, int]]]
"""A table's published sums by their categories: value, name, position."""

MAX_UNION_LABELS = 6
"""Categories of a variable whose unions are compared one by one (2^6 - 2 of them at most)."""


def _unions(new: ReleasedTable, earlier: ReleasedTable, threshold: int) -> list[Exposure]:
    """A table of people cut to some categories of a variable it does not show (a table by sex
    of ethnic groups A and D) against a table that shows that variable: each published sum of
    the one, beside the sum of the other's published cells over a union of the categories
    (with the same other categories), differs by the people in one and not the other — a small
    group when the difference is under the threshold, and the cut possible."""
    found: list[Exposure] = []
    for one, other in ((new, earlier), (earlier, new)):
        shown, _ = _keyed(one)
        parts, _ = _keyed(other)
        names = {d.name for d in one.table.dimensions}
        for dim in other.table.dimensions:
            if dim.name in names or not 2 <= len(dim.labels) <= MAX_UNION_LABELS:
                continue
            for size in range(1, len(dim.labels)):
                for union in itertools.combinations(dim.labels, size):
                    found += _union_differences(
                        one is new, shown, parts, dim.name, union, earlier.label, threshold
                    )
    return found


def _union_differences(
    new_first: bool,
    shown: _Shown,
    parts: _Shown,
    variable: str,
    union: tuple[str, ...],
    earlier: str,
    threshold: int,
) -> list[Exposure]:
    """The small differences between one table's sums and another's over one union, when the
    one's people could be the other's in the union plus (or less) some: every difference then
    has the same sign. Differences of both signs rule the cut out (neither population can
    hold the other), as unrelated tables over the same months mostly do."""
    compared = []
    for key, (value, name, position) in shown.items():
        pieces = [parts.get(key | {(variable, label)}) for label in union]
        if all(p is not None for p in pieces):
            compared.append(
                (value - sum(p[0] for p in pieces if p is not None), name, position, pieces)
            )
    differences = [d for d, *_ in compared]
    if not (all(d >= 0 for d in differences) or all(d <= 0 for d in differences)):
        return []
    found = []
    categories = ", ".join(union)
    for difference, name, position, pieces in compared:
        if not 0 < abs(difference) < threshold:
            continue
        what = f"the people between {name} and {variable} in {{{categories}}}"
        if new_first:
            found.append(Exposure(earlier, "a union of categories", what, (name,), (position,)))
        else:
            cells = tuple(p[1] for p in pieces if p is not None)
            where = tuple(p[2] for p in pieces if p is not None)
            found.append(Exposure(earlier, "a union of categories", what, cells, where))
    return found


def _joint_variables(new: ReleasedTable, history: list[ReleasedTable]) -> set[str]:
    """The variables of the joint solve: the new table's, then the others the most earlier
    tables use, while their atoms stay within ``MAX_ATOMS``."""
    chosen = {name for name, _ in _table_variables(new)}
    if _Space(_axes([new, *history], chosen), 1).size > MAX_ATOMS:
        return chosen
    uses = Counter(name for e in history for name in {n for n, _ in _table_variables(e)})
    for name, _ in uses.most_common():
        if name in chosen:
            continue
        if _Space(_axes([new, *history], chosen | {name}), 1).size <= MAX_ATOMS:
            chosen.add(name)
    return chosen


def check_together(
    new: ReleasedTable, history: list[ReleasedTable], threshold: int
) -> list[Exposure]:
    """All releases at once, as one population: sums that need three or more tables.

    Every earlier table takes part whose variables fit in the joint solve's atoms (the new
    table's variables, then those most used); a table over variables left out cannot."""
    if len(history) < 2:
        return []
    keep = _joint_variables(new, history)
    related = [e for e in history if {name for name, _ in _table_variables(e)} <= keep]
    if len(related) < 2:
        return []
    space = _Space(_axes([new, *related]), 1)
    if space.size > MAX_ATOMS:
        return []
    tables = [(new, frozenset({0})), *((e, frozenset({0})) for e in related)]
    everyone = f"{len(related)} earlier tables together"
    return _audit(tables, space, threshold, "same population", everyone, restricted=True)


def _fewest_sums(published: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Weights on the published sums that add up to ``group`` using as few of them as a linear
    programme finds (least total weight), so a report names the cells actually subtracted."""
    from scipy.optimize import linprog  # deferred: scipy costs a second or more of each start

    m = published.shape[0]
    result = linprog(
        np.ones(2 * m),
        A_eq=np.hstack([published.T, -published.T]),
        b_eq=group,
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0 or result.x is None:
        return np.asarray(np.linalg.lstsq(published.T, group, rcond=None)[0])
    return np.asarray(result.x[:m] - result.x[m:])


def _possible(sums: np.ndarray, values: np.ndarray) -> bool:
    """Whether some non-negative counts of atoms give every known sum its value.

    When none do (a numerator that is larger than its denominator cannot hold the same people),
    the hypothesis is false and what it would expose is not real. Hidden cells constrain
    nothing: an attacker does not know them, so neither may the verdict.
    """
    if sums.shape[0] == 0:
        return True
    from scipy.optimize import linprog  # deferred: scipy costs a second or more of each start

    result = linprog(
        np.zeros(sums.shape[1]), A_eq=sums, b_eq=values, bounds=(0, None), method="highs"
    )
    return bool(result.status == 0)


def _keyed(release: ReleasedTable) -> tuple[_Shown, dict[_Key, str]]:
    """A release's published sums and protected cells, each keyed by the categories it is
    restricted to — ``{(variable, label), …}``, empty for the grand total — so two tables'
    sums can be matched without atoms."""
    table = release.table
    names = [d.name for d in table.dimensions]

    def key(picked: tuple[int | None, ...]) -> frozenset[tuple[str, str]]:
        return frozenset(
            (name, dim.labels[index])
            for name, dim, index in zip(names, table.dimensions, picked, strict=False)
            if index is not None
        )

    shown: _Shown = {}
    hidden: dict[_Key, str] = {}
    for i, j in itertools.product(range(table.counts.shape[0]), range(table.counts.shape[1])):
        cell = key((i, j) if table.columns is not None else (i,))
        if release.protected[i, j]:
            hidden[cell] = table.cell_name(i, j)
        elif not release.hidden[i, j]:
            shown[cell] = (float(table.counts[i, j]), table.cell_name(i, j), (i, j))
    for picked, value, name, position in _totals(release):
        shown[key(picked)] = (value, name, position)
    return shown, hidden


def _same_cells(new: ReleasedTable, earlier: ReleasedTable, threshold: int) -> list[Exposure]:
    """For tables too large to cut into atoms: published sums with the same categories (cells,
    totals) whose difference is a small non-zero number, and cells one table hid that the
    other shows."""
    (before, hidden_before), (now, hidden_now) = _keyed(earlier), _keyed(new)
    found = []
    for key, (value, name, position) in now.items():
        if key in before and 0 < abs(value - before[key][0]) < threshold:
            what = f"the difference between {name} and {earlier.label}'s {before[key][1]}"
            found.append(Exposure(earlier.label, "same categories", what, (name,), (position,)))
        if key in hidden_before:
            what = f"suppressed cell {earlier.label}: {hidden_before[key]}"
            found.append(Exposure(earlier.label, "same categories", what, (name,), (position,)))
    for key, name in hidden_now.items():
        if key in before:
            what = f"suppressed cell {name}"
            found.append(Exposure(earlier.label, "same categories", what, (), ()))
    return found


def check_history(
    new: ReleasedTable, history: list[ReleasedTable], threshold: int
) -> list[Exposure]:
    """Exposures between a new table and each table released before, then all of them
    together; each exposure reported once. A table without a cell (none is read or released
    now, but a history is kept for ever) publishes nothing to subtract."""
    if not new.table.counts.size:
        return []
    history = [earlier for earlier in history if earlier.table.counts.size]
    found = [e for earlier in history for e in check_against(new, earlier, threshold)]
    seen = {(e.hypothesis, e.what) for e in found}
    together = check_together(new, history, threshold)
    return found + [e for e in together if (e.hypothesis, e.what) not in seen]
