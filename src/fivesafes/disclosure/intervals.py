"""Category labels that are ranges of a number (age bands), so overlapping bandings can be compared.

Differencing between releases most often comes from bands that almost coincide: ``0-17`` in one
table and ``0-15`` in the next reveal the 16- and 17-year-olds. Parsing bands into half-open
intervals of whole numbers lets the checker cut every banding into common pieces.
"""

from __future__ import annotations

import itertools
import math
import re

Interval = tuple[float, float]

_NUMBER = r"(-?\d+(?:\.\d+)?)"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^{_NUMBER}\s*(?:-|–|to)\s*{_NUMBER}$"), "range"),
    (re.compile(rf"^{_NUMBER}\s*(?:\+|and over|or over|and older|or more)$"), "from"),
    (re.compile(rf"^(?:>=|≥)\s*{_NUMBER}$"), "from"),
    (re.compile(rf"^(?:<|under|less than)\s*{_NUMBER}$"), "below"),
    (re.compile(rf"^{_NUMBER}$"), "single"),
)


def parse_interval(label: str) -> Interval | None:
    """``'16-17'`` → ``(16, 18)``; ``'65+'`` → ``(65, inf)``; ``'<5'`` → ``(-inf, 5)``; else None.

    Bands are of whole numbers, as age bands are: ``16-17`` holds 16 and 17, so ends at 18.
    """
    text = label.strip().lower()
    for pattern, kind in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        low = float(match.group(1))
        if kind == "range":
            high = float(match.group(2)) + 1
            return (low, high) if high > low else None
        if kind == "from":
            return (low, math.inf)
        if kind == "below":
            return (-math.inf, low)
        return (low, low + 1)
    return None


def parse_banding(labels: tuple[str, ...]) -> list[Interval] | None:
    """Every label as an interval, or None when any label is not a number range."""
    parsed = [parse_interval(label) for label in labels]
    return None if any(p is None for p in parsed) else parsed  # type: ignore[return-value]


def pieces(bandings: list[list[Interval]]) -> list[Interval]:
    """The common refinement: the smallest intervals every band of every banding is a union of."""
    cuts = sorted({end for banding in bandings for band in banding for end in band})
    return list(itertools.pairwise(cuts))


def covers(band: Interval, piece: Interval) -> bool:
    return band[0] <= piece[0] and piece[1] <= band[1]
