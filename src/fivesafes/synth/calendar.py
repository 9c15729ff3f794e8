"""The generator's fixed clock: study window, "today", and fast day-number formatting.

Synthetic data must be byte-identical for a seed, so nothing here reads the real
clock. Days are held as integers (days since 1970-01-01) so numpy can sample and
compare them in bulk; :func:`iso` turns one back into a FHIR date through a
pre-built table, which is far cheaper than ``date.isoformat`` per record.
"""

from __future__ import annotations

from datetime import date

import numpy as np

_EPOCH = date(1970, 1, 1)
_TABLE_START = date(1900, 1, 1)
_TABLE_END = date(2100, 12, 31)


def day(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - _EPOCH).days


STUDY_START = day(date(2016, 1, 1))
"""First day of generated activity (registrations and diagnoses may start earlier)."""
STUDY_END = day(date(2025, 12, 31))
"""Last day of generated activity."""
TODAY = day(date(2026, 1, 1))
"""The generator's "today": ages are measured at this day and nothing happens on or after it."""
HISTORY_START = day(date(2000, 1, 1))
"""Earliest date a long-term condition is recorded as diagnosed."""
FUTURE_YEAR = 2099
"""Year of the ``future_date`` fault: in the future for the generator and for any real clock."""

YEAR = 365.25

_OFFSET = day(_TABLE_START)
_ISO: list[str] = (
    np.arange(np.datetime64(_TABLE_START), np.datetime64(_TABLE_END) + 1).astype(str).tolist()
)


def iso(days: int) -> str:
    """The ISO 8601 date (YYYY-MM-DD) of a day number."""
    return _ISO[days - _OFFSET]


def years_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Length of each interval in years (zero when it is empty)."""
    return np.maximum(end - start, 0) / YEAR


def uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day drawn uniformly from each closed interval ``[lo, hi]`` (callers ensure lo <= hi)."""
    return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)
