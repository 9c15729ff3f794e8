"""Arithmetic done the way R does it, where the last bit decides a verdict.

An SPC point exactly on the mean is on neither side of it, so it breaks a run; whether a
constant series' values sit *on* their mean depends on how the mean is rounded. numpy's
``mean`` sums pairwise in double precision: 47 copies of 87.3 average to 87.30000000000003,
every point then lies below the mean, and all 47 are flagged as a run. R's ``mean()`` (and so
``NHSRplotthedots::ptd_spc()``) adds the values one by one in long double (80-bit extended
precision on x86-64), divides, then adds back the mean of the residuals, and returns exactly
87.3. :func:`r_mean` does the same with numpy's ``longdouble`` (R's ``summary.c``, described in
``?mean``), so an analyst comparing the two sees the same verdicts. On a platform where
``longdouble`` is plain double (for example Windows or Apple silicon) it is as exact as R is
there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def r_mean(values: Sequence[float] | NDArray[np.float64]) -> float:
    """The arithmetic mean as R's ``mean()`` computes it (NaN for no values)."""
    y = np.asarray(values, dtype=float)
    if y.size == 0:
        return float("nan")
    n = np.longdouble(y.size)
    # cumsum adds in order, as R's loop does; a plain sum would add pairwise
    total = np.cumsum(y, dtype=np.longdouble)[-1] / n
    if np.isfinite(total):
        total = total + np.cumsum(y.astype(np.longdouble) - total)[-1] / n
    return float(total)
