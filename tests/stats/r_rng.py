"""R's default random number generator, so tests can rebuild the data of R test suites.

NHSRplotthedots' tests build their data with ``set.seed(123); rnorm(20)``. Rather than paste
those numbers in, we regenerate them the way R does: Mersenne-Twister seeded through R's
``set.seed`` scrambling (an LCG, 69069 * s + 1), and normal deviates by R's default
"Inversion" method (two uniforms joined for 2^-54 precision, then the normal quantile).
Implemented from the algorithm descriptions in R's ``?RNGkind`` documentation.

fingertipscharts' tests build theirs with ``set.seed(42)`` and ``sample(..., replace = T)``,
so :meth:`RRandom.sample` draws as R's default ``sample.kind`` ("Rejection", R 3.6.0 on) does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import ndtri

_N = 624
_MASK32 = 0xFFFFFFFF
_TWO_POW_27 = 134217728
_I2_32M1 = 2.328306437080797e-10  # 1 / (2^32 - 1)


class RRandom:
    """A stream of uniforms and normals equal to R's after ``set.seed(seed)``."""

    def __init__(self, seed: int) -> None:
        s = seed & _MASK32
        for _ in range(50):
            s = (69069 * s + 1) & _MASK32
        state = []
        for _ in range(_N + 1):
            s = (69069 * s + 1) & _MASK32
            state.append(s)
        self._mt = state[1:]
        self._mti = _N

    def _next_int(self) -> int:
        if self._mti >= _N:
            self._twist()
        y = self._mt[self._mti]
        self._mti += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y & _MASK32

    def _twist(self) -> None:
        mt = self._mt
        for k in range(_N):
            y = (mt[k] & 0x80000000) | (mt[(k + 1) % _N] & 0x7FFFFFFF)
            mt[k] = mt[(k + 397) % _N] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
        self._mti = 0

    def unif(self) -> float:
        value = self._next_int() * 2.3283064365386963e-10
        if value <= 0.0:
            return 0.5 * _I2_32M1
        if 1.0 - value <= 0.0:
            return 1.0 - 0.5 * _I2_32M1
        return value

    def rnorm(self, n: int, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
        out = np.empty(n)
        for i in range(n):
            u = self.unif()
            u = int(_TWO_POW_27 * u) + self.unif()
            out[i] = mean + sd * float(ndtri(u / _TWO_POW_27))
        return out

    def sample(self, values: Sequence[int], size: int) -> list[int]:
        """``sample(values, size, replace = TRUE)`` as R's "Rejection" kind draws it: each index
        is ``ceil(log2(n))`` random bits, taken 16 at a time from uniforms (``floor(u * 65536)``),
        drawn again while it is ``n`` or more."""
        n = len(values)
        bits = math.ceil(math.log2(n))
        out = []
        for _ in range(size):
            index = n
            while index >= n:
                index = 0
                for _ in range(bits // 16 + 1):
                    index = 65536 * index + int(self.unif() * 65536)
                index &= (1 << bits) - 1
            out.append(values[index])
        return out
