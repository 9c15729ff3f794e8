"""Counts fit for anyone to read on their own: the catalogue's row and patient counts, code usage.

A catalogue is published again every time it is read, so its counts are differenced by time
(what a load added) as well as by place: a count under the profile's threshold is suppressed,
and every other count is rounded to the profile's base — by the profile's own rounding, or to
the nearest multiple of the base when the profile rounds nothing (tables checked one at a time
may go out exact, a figure republished after every load may not). Zero stays zero: it says
nobody is there, which hides no person. Dates are published as months, and only months that
hold at least the threshold of people: the first and last event dates are one person's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.suppression import round_counts


def _rounding(profile: Profile) -> Profile:
    return profile if profile.rounding != "none" else replace(profile, rounding="nearest")


def public_count(n: int, profile: Profile) -> int | None:
    """A count as anyone may see it: None (suppressed) when under the threshold, else rounded."""
    if n == 0:
        return 0
    if n < profile.threshold:
        return None
    return int(round_counts(np.array([float(n)]), _rounding(profile))[0])


def public_share(part: int | None, whole: int | None) -> float | None:
    """A share computed from public counts only (so it says nothing they do not), to two
    places; None when either is suppressed or the whole is zero."""
    if part is None or not whole:
        return None
    return round(min(part / whole, 1.0), 2)


def public_months(
    months: Sequence[tuple[str, int]], profile: Profile
) -> tuple[str | None, str | None]:
    """The first and last month (``YYYY-MM``) holding at least the threshold of people, from
    (month, people) in any order; None for both when no month does."""
    enough = sorted(month for month, n in months if n >= profile.threshold)
    return (enough[0], enough[-1]) if enough else (None, None)
