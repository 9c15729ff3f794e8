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
    return np.asarray(residual < 1e-6)


def determined_units(published: np.ndarray, unknowns: np.ndarray) -> np.ndarray:
    """``determined`` for single unknowns (the index of each): whether the published sums fix
    it, without building a unit vector per unknown — the projection of a unit vector onto the
    row space is a column of the basis, so this holds memory to the size of the sums."""
    basis = row_space(published)
    return np.asarray(1.0 - (basis[:, unknowns] ** 2).sum(axis=0) < 1e-6)


def always_zero(published: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Unknowns that are zero in *every* non-negative solution of the published sums.

    One linear programme over the solutions scaled by any ``t >= 1`` (``A y = t b``): maximise
    the sum of ``s`` with ``0 <= s <= y`` and ``s <= 1``. The solutions form a convex set, so an
    average of solutions that each make some unknown positive makes them all positive at once,
    and scaling it up lifts each of those to at least 1: the optimum sets ``s = 1`` on every
    unknown some solution makes positive and ``s = 0`` exactly on the rest. (Without the
    scaling, seven people over eighteen unknowns could lift only seven of them to 1, and the
    other eleven would pass for always zero.) Once those are removed, the true counts sit
    strictly inside the rest and the linear test (:func:`determined`) is the whole answer — so
    this and one linear-algebra solve replace a pair of programmes per hidden value.
    """
    n = published.shape[1]
    if published.shape[0] == 0:
        return np.zeros(n, dtype=bool)
    from scipy import sparse  # deferred: scipy costs a second or more of every command's start
    from scipy.optimize import linprog

    # variables [y, s, t]: A y - b t = 0, s - y <= 0, 0 <= s <= 1, y >= 0, t >= 1; sparse, so
    # the programme holds memory to the size of the sums, not the square of the unknowns
    identity = sparse.identity(n, format="csr")
    no_t = sparse.csr_matrix((n, 1))
    result = linprog(
        np.concatenate([np.zeros(n), -np.ones(n), [0.0]]),
        A_ub=sparse.hstack([-identity, identity, no_t], format="csr"),
        b_ub=np.zeros(n),
        A_eq=sparse.hstack(
            [
                sparse.csr_matrix(published),
                sparse.csr_matrix(published.shape),
                sparse.csr_matrix(-np.asarray(values, dtype=float).reshape(-1, 1)),
            ],
            format="csr",
        ),
        b_eq=np.zeros(published.shape[0]),
        bounds=[(0, None)] * n + [(0, 1)] * n + [(1, None)],
        method="highs",
    )
    if result.status != 0 or result.x is None:
        raise ValueError(f"published sums are inconsistent: {result.message}")
    return np.asarray(result.x[n : 2 * n] < 0.5)


def pinned_units(published: np.ndarray, values: np.ndarray, unknowns: np.ndarray) -> np.ndarray:
    """For each unknown (by index): do the published sums of non-negative unknowns fix it?
    One that is zero in every solution is fixed (at zero); the others as ``determined``."""
    zero = always_zero(published, values)
    kept = np.flatnonzero(~zero)
    fixed = zero[unknowns].copy()
    position = {int(k): n for n, k in enumerate(kept)}
    rest = [n for n, k in enumerate(unknowns) if not zero[k]]
    if rest:
        columns = np.array([position[int(unknowns[n])] for n in rest])
        fixed[rest] = determined_units(published[:, kept], columns)
    return np.asarray(fixed)
