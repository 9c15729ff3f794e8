"""Small-number suppression with secondary suppression, and rounding, for tables of counts.

Primary suppression hides every cell under the threshold. When the true row and column totals
are published that is not enough: a lone hidden cell in a row is its total minus the rest. The
complementary cells chosen here are the smallest that leave every primary cell undetermined by
the published totals — checked by solving the totals as linear equations (``audit``), not by a
rule of thumb, so patterns such as two hidden blocks joined by one cell (whose value the totals
still fix) are caught and broken too.
"""

from __future__ import annotations

import numpy as np

from fivesafes.disclosure.audit import determined_units, pinned_units
from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.tables import Published


def primary_mask(counts: np.ndarray, profile: Profile) -> np.ndarray:
    """Cells that are too small to publish: under the threshold, and not zero unless so set."""
    small = counts < profile.threshold
    return small if profile.suppress_zeros else small & (counts > 0)


MAX_ROUNDS = 8
"""Rounds of the general search; a table still leaking after them is sparse enough that its
categories need merging, and the final check reports it as not releasable."""


def exposed(
    counts: np.ndarray, hidden: np.ndarray, targets: np.ndarray, published: Published
) -> np.ndarray:
    """Which ``targets`` (hidden cells that must stay hidden) the published totals give away:
    fixed by them, as sums of non-negative counts (``audit.pinned_units``)."""
    equations = published.equations(hidden)
    positions = np.flatnonzero(hidden.ravel())
    wanted = np.flatnonzero(targets.ravel()[positions])
    values = counts.ravel()[positions].astype(float)
    if (values > 0).all():  # the true counts are inside: the linear answer is the answer
        fixed = determined_units(equations, wanted)
    else:
        fixed = pinned_units(equations, equations @ values, wanted)
    result = np.zeros(counts.size, dtype=bool)
    result[positions[wanted[fixed]]] = True
    return result.reshape(counts.shape)


def _cheapest(
    counts: np.ndarray,
    cells: np.ndarray,
    in_row: np.ndarray,
    in_col: np.ndarray,
) -> tuple[int, int] | None:
    """The cell of ``cells`` (an array of positions) that costs the reader least to hide:
    non-zero first (a hidden zero protects little), then one whose row or column holds a lone
    hidden cell (so one cell pairs two), then the smallest. ``in_row``/``in_col``: how many
    cells each row and column already hides."""
    if len(cells) == 0:
        return None
    rows, cols = cells[:, 0], cells[:, 1]
    values = counts[rows, cols]
    partnered = (in_row[rows] == 1) | (in_col[cols] == 1)
    best = np.lexsort((values, ~partnered, values == 0))[0]
    return int(rows[best]), int(cols[best])


def _pair_lone_cells(counts: np.ndarray, hidden: np.ndarray, published: Published) -> np.ndarray:
    """Give every published total holding exactly one hidden cell a second one (cheap, and
    always needed: a lone hidden cell is its total minus the published cells). Totals are
    taken rows first, then columns, then the grand total; counts of hidden cells per row and
    column are kept as cells are added, so this stays linear in the table."""
    hidden = hidden.copy()
    in_row, in_col = hidden.sum(axis=1), hidden.sum(axis=0)
    done_rows: set[int] = set()  # totals of a single cell, which nothing can partner
    done_cols: set[int] = set()
    done_total = not published.grand_total_line
    while True:
        rows = [
            int(r) for r in np.flatnonzero(published.rows & (in_row == 1)) if r not in done_rows
        ]
        cols = [
            int(c) for c in np.flatnonzero(published.columns & (in_col == 1)) if c not in done_cols
        ]
        if rows:
            r = rows[0]
            options = np.argwhere(~hidden[r])
            cells = np.column_stack([np.full(len(options), r), options[:, 0]])
            done = done_rows, r
        elif cols:
            c = cols[0]
            options = np.argwhere(~hidden[:, c])
            cells = np.column_stack([options[:, 0], np.full(len(options), c)])
            done = done_cols, c
        elif not done_total and int(in_row.sum()) == 1:
            cells, done = np.argwhere(~hidden), None
            done_total = True
        else:
            return hidden
        partner = _cheapest(counts, cells.reshape(-1, 2), in_row, in_col)
        if partner is None:
            if done is not None:
                done[0].add(done[1])
        else:
            hidden[partner] = True
            in_row[partner[0]] += 1
            in_col[partner[1]] += 1


def _bridges(hidden: np.ndarray) -> list[tuple[int, int]]:
    """Hidden cells that are bridges of the graph joining each hidden cell's row and column.

    With every row and column total published and no hidden zero, the totals fix a hidden cell
    exactly when it is a bridge (it lies on no cycle of hidden cells, so nothing can be moved
    round a cycle through it). Tarjan's bridge-finding, iteratively.
    """
    n_rows = hidden.shape[0]
    cells = [(int(r), int(c)) for r, c in np.argwhere(hidden)]
    adjacent: list[list[tuple[int, int]]] = [[] for _ in range(n_rows + hidden.shape[1])]
    for k, (r, c) in enumerate(cells):
        adjacent[r].append((n_rows + c, k))
        adjacent[n_rows + c].append((r, k))
    order = [-1] * len(adjacent)
    low = [0] * len(adjacent)
    found = []
    clock = 0
    for start in range(len(adjacent)):
        if order[start] != -1 or not adjacent[start]:
            continue
        order[start] = low[start] = clock
        clock += 1
        stack = [(start, -1, iter(adjacent[start]))]
        while stack:
            vertex, via, edges = stack[-1]
            for other, k in edges:
                if k == via:
                    continue
                if order[other] == -1:
                    order[other] = low[other] = clock
                    clock += 1
                    stack.append((other, k, iter(adjacent[other])))
                    break
                low[vertex] = min(low[vertex], order[other])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[vertex])
                    if low[vertex] > order[parent]:
                        found.append(cells[via])
    return found


def _reach(
    hidden: np.ndarray, row: int | None, col: int | None, bridge: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns reached through hidden cells from one row (or column), never
    crossing ``bridge``."""
    rows = np.zeros(hidden.shape[0], dtype=bool)
    cols = np.zeros(hidden.shape[1], dtype=bool)
    frontier_rows = [row] if row is not None else []
    frontier_cols = [col] if col is not None else []
    rows[frontier_rows] = True
    cols[frontier_cols] = True
    while frontier_rows or frontier_cols:
        new_cols = {
            int(c)
            for r in frontier_rows
            for c in np.flatnonzero(hidden[r])
            if not cols[c] and (r, int(c)) != bridge
        }
        new_rows = {
            int(r)
            for c in frontier_cols
            for r in np.flatnonzero(hidden[:, c])
            if not rows[r] and (int(r), c) != bridge
        }
        cols[list(new_cols)] = True
        rows[list(new_rows)] = True
        frontier_rows, frontier_cols = list(new_rows), list(new_cols)
    return rows, cols


def _break_bridges(
    counts: np.ndarray, hidden: np.ndarray, primary: np.ndarray, published: Published
) -> np.ndarray:
    """For a table with all its totals published: while a primary cell is a bridge, hide the
    cheapest cell joining the two sides it separates, which puts it on a cycle."""
    while True:
        hidden = _pair_lone_cells(counts, hidden, published)
        bridges = [cell for cell in _bridges(hidden) if primary[cell]]
        if not bridges:
            return hidden
        bridge = bridges[0]
        rows_a, cols_a = _reach(hidden, bridge[0], None, bridge)
        rows_b, cols_b = _reach(hidden, None, bridge[1], bridge)
        # a cell with its row on one side and its column on the other closes a cycle
        crossing = (rows_a[:, None] & cols_b[None, :]) | (rows_b[:, None] & cols_a[None, :])
        crossing &= ~hidden
        choice = _cheapest(counts, np.argwhere(crossing), hidden.sum(axis=1), hidden.sum(axis=0))
        if choice is None:
            return hidden
        hidden[choice] = True


def secondary_mask(counts: np.ndarray, primary: np.ndarray, published: Published) -> np.ndarray:
    """Primary cells plus the complementary cells that keep each of them undetermined.

    With every total published and no hidden zero (the usual table), bridges of the hidden
    cells' graph say exactly which cells the totals fix, so they are broken directly; the
    general loop below then confirms by linear algebra (or linear programming with hidden
    zeros) and handles tables whose file shows only some totals. It gives up after
    ``MAX_ROUNDS``; the caller's own check (``exposed``) then reports the table.
    """
    hidden = primary.copy()
    if not hidden.any() or not published:
        return hidden
    if published.rows.all() and published.columns.all() and (counts[primary] > 0).all():
        hidden = _break_bridges(counts, hidden, primary, published)
    for _ in range(MAX_ROUNDS):
        hidden = _pair_lone_cells(counts, hidden, published)
        leaks = exposed(counts, hidden, primary, published)
        if not leaks.any() or hidden.all():
            return hidden
        added = False
        for cell in (tuple(int(v) for v in c) for c in np.argwhere(leaks)):
            near = np.zeros(hidden.shape, dtype=bool)
            near[cell[0], :] = near[:, cell[1]] = True
            options = [np.argwhere(near & ~hidden), np.argwhere(~near & ~hidden)]
            in_row, in_col = hidden.sum(axis=1), hidden.sum(axis=0)
            chosen = next(
                (c for c in (_cheapest(counts, k, in_row, in_col) for k in options) if c), None
            )
            if chosen is not None:
                hidden[chosen] = added = True
        if not added:
            break
    return hidden  # still exposed: the caller checks again and reports the table unsafe


def round_counts(values: np.ndarray, profile: Profile) -> np.ndarray:
    """Published counts after the profile's rounding (``nan`` stays ``nan``).

    ``nearest``: to the nearest multiple of the base, halves up (OpenSAFELY: nearest 5).
    ``midpoint6``: zero stays zero; otherwise the midpoint of the band of six holding the count,
    ``ceil(x / 6) * 6 - 3`` (1–6 → 3, 7–12 → 9), which is unbiased on average.
    """
    if profile.rounding == "nearest":
        base = profile.rounding_base
        return np.floor(values / base + 0.5) * base
    if profile.rounding == "midpoint6":
        return np.where(values == 0, 0.0, np.ceil(values / 6) * 6 - 3)
    return values.astype(float)
