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

from fivesafes.disclosure.audit import bounds, determined
from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.tables import Published


def primary_mask(counts: np.ndarray, profile: Profile) -> np.ndarray:
    """Cells that are too small to publish: under the threshold, and not zero unless so set."""
    small = counts < profile.threshold
    return small if profile.suppress_zeros else small & (counts > 0)


def _line_sums(hidden: np.ndarray, published: Published) -> np.ndarray:
    """The published totals as equations over the hidden cells (row-major order of ``hidden``)."""
    flat = hidden.ravel()
    rows = [line.ravel()[flat] for line in published.lines(hidden.shape)]
    rows = [r for r in rows if r.any()]
    return np.array(rows, dtype=float).reshape(len(rows), int(flat.sum()))


def exposed(
    counts: np.ndarray, hidden: np.ndarray, targets: np.ndarray, published: Published
) -> np.ndarray:
    """Which ``targets`` (hidden cells that must stay hidden) the published totals give away.

    When every hidden cell is non-zero a cell is exposed exactly when the totals fix it
    linearly; a hidden zero can pin an interval at its end, so then linear programming decides.
    """
    equations = _line_sums(hidden, published)
    positions = np.flatnonzero(hidden.ravel())
    wanted = targets.ravel()[positions]
    unit = np.eye(positions.size)[wanted]
    values = counts.ravel()[positions].astype(float)
    if (values > 0).all():
        fixed = determined(equations, unit)
    else:
        interval = bounds(equations, equations @ values, unit)
        fixed = interval[:, 1] - interval[:, 0] < 0.5
    result = np.zeros(counts.size, dtype=bool)
    result[positions[wanted][fixed]] = True
    return result.reshape(counts.shape)


def _candidates(counts: np.ndarray, hidden: np.ndarray, cell: tuple[int, int]) -> list[tuple]:
    """Cells to hide next to protect ``cell``: its own row and column first, then the rest;
    smallest non-zero first (a hidden zero protects little and a large cell costs the reader
    most), preferring cells whose other line has a lone hidden cell, so one hides two."""
    i, j = cell
    hidden_in_row = hidden.sum(axis=1)
    hidden_in_col = hidden.sum(axis=0)
    order = []
    for r, c in zip(*np.nonzero(~hidden), strict=True):
        near = 0 if (r == i or c == j) else 1
        partnered = 0 if (hidden_in_row[r] == 1 or hidden_in_col[c] == 1) else 1
        order.append(((near, counts[r, c] == 0, partnered, counts[r, c]), (int(r), int(c))))
    return [cell for _, cell in sorted(order)]


def _pair_lone_cells(counts: np.ndarray, hidden: np.ndarray, published: Published) -> np.ndarray:
    """Give every published total holding exactly one hidden cell a second one (cheap, and
    always needed: a lone hidden cell is its total minus the published cells)."""
    hidden = hidden.copy()
    lines = published.lines(hidden.shape)
    while True:
        for line in lines:
            if (hidden & line).sum() != 1:
                continue
            lone = tuple(int(v) for v in np.argwhere(hidden & line)[0])
            partners = [c for c in _candidates(counts, hidden, lone) if line[c]]
            if partners:
                hidden[partners[0]] = True
                break
        else:
            return hidden


def secondary_mask(counts: np.ndarray, primary: np.ndarray, published: Published) -> np.ndarray:
    """Primary cells plus the complementary cells that keep each of them undetermined."""
    hidden = primary.copy()
    if not hidden.any() or not published.lines(hidden.shape):
        return hidden
    while True:
        hidden = _pair_lone_cells(counts, hidden, published)
        leaks = exposed(counts, hidden, primary, published)
        if not leaks.any() or hidden.all():
            return hidden
        cell = tuple(int(v) for v in np.argwhere(leaks)[0])
        candidates = _candidates(counts, hidden, cell)
        if not candidates:
            return hidden  # nothing left to hide: the caller reports the cell as exposed
        chosen = candidates[0]
        for candidate in candidates:
            trial = hidden.copy()
            trial[candidate] = True
            if not exposed(counts, trial, primary, published)[cell]:
                chosen = candidate
                break
        hidden[chosen] = True


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
