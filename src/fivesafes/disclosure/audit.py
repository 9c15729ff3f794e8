"""What an attacker can work out from published sums: the linear-algebra heart of every check.

Everything a table publishes (cells, row and column totals, grand totals, and the cells of every
earlier release) is a known sum of unknown non-negative counts. A hidden quantity is *exposed*
when those sums fix it to one value. Over the reals that happens exactly when the quantity's
coefficient vector lies in the row space of the published sums, i.e. is orthogonal to their
null space; with non-negative counts, a published zero also fixes every count inside it to zero,
and an interval can collapse onto a bound, which only linear programming sees. Secondary
suppression and differencing both ask these questions, so they are answered here once.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

TOLERANCE = 1e-7


def row_space(published: np.ndarray) -> np.ndarray:
    """An orthonormal basis (as rows) of everything the published sums let anyone compute."""
    if published.shape[0] == 0:
        return np.zeros((0, published.shape[1]))
    _, singular, vt = np.linalg.svd(published, full_matrices=False)
    rank = int((singular > TOLERANCE * max(1.0, float(singular[0]))).sum())
    return vt[:rank]


def determined(published: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """For each row of ``hidden`` (a sum over the same unknowns): is it fixed by ``published``?

    A sum is fixed when it is a combination of the published sums: its projection onto their
    row space is all of it.
    """
    basis = row_space(published)
    projected = hidden @ basis.T
    residual = (hidden * hidden).sum(axis=1) - (projected * projected).sum(axis=1)
    return residual < 1e-6


def forced_zero(published: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Unknowns inside any published sum of zero: non-negative counts adding to 0 are all 0."""
    zero_rows = np.isclose(values, 0)
    if not zero_rows.any():
        return np.zeros(published.shape[1], dtype=bool)
    return (published[zero_rows] != 0).any(axis=0)


def bounds(published: np.ndarray, values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """The smallest and largest value each hidden sum can take given non-negative unknowns.

    Exact where :func:`determined` is not: it also sees an interval pinned by zeros. Costs two
    linear programmes per hidden sum, so it is the final word on small systems and in tests.
    """
    unknowns = published.shape[1]
    result = np.empty((hidden.shape[0], 2))
    for i, target in enumerate(hidden):
        for side, sign in ((0, 1.0), (1, -1.0)):
            solution = linprog(
                sign * target,
                A_eq=published if published.shape[0] else None,
                b_eq=values if published.shape[0] else None,
                bounds=[(0, None)] * unknowns,
                method="highs",
            )
            if solution.status != 0:
                raise ValueError(f"published sums are inconsistent: {solution.message}")
            result[i, side] = sign * solution.fun
    return result
