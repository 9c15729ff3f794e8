"""Area profiles for commissioners, as Fingertips and the NHS RightCare packs lay them out.

For each area and indicator: the value with its 95% limits, the England value, and whether the
area is significantly higher, lower or similar (the area's interval wholly above, wholly
below, or holding the England value, as Fingertips compares with a benchmark), read as better
or worse through the indicator's polarity.

The **spine chart** shows, per indicator, the spread of all areas of the same type (worst,
25th and 75th centiles, best) with England in the middle and the local area as a dot. Values
are rescaled as Fingertips' ``spine_rescaler`` (fingertipscharts) rescales a high-is-good
indicator: the scale is centred on England and reaches as far either side as the farther of
the lowest and highest areas, so England always sits at 0.5 and one end at 0 or 1. A
low-is-good indicator gets the mirror image (``1 − position``), so that worse is always on
the left and better on the right, as the Fingertips pages draw it. Centiles are R's default
(type 7) quantiles, as there.

**Similar areas** are the nearest neighbours of an area on the features that shape its need
(its age structure and deprivation, say): each feature standardised across areas (z-scores)
and areas ranked by Euclidean distance, in the spirit of the CIPFA nearest neighbours and the
ONS "similar areas" comparators.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from fivesafes.stats.indicators import IndicatorValue

Polarity = Literal["high_is_good", "low_is_good", "no_judgement"]
Comparison = Literal["Higher", "Lower", "Similar", "Not compared"]


def compare_with_benchmark(
    lower: float | None, upper: float | None, benchmark: float | None
) -> Comparison:
    """Higher when the interval is wholly above the benchmark, lower when wholly below."""
    if lower is None or upper is None or benchmark is None:
        return "Not compared"
    if lower > benchmark:
        return "Higher"
    if upper < benchmark:
        return "Lower"
    return "Similar"


def judged(comparison: Comparison, polarity: Polarity) -> str:
    """The comparison read through the polarity: better, worse, similar, or (without a
    judgement) higher and lower as they are."""
    if comparison in ("Similar", "Not compared") or polarity == "no_judgement":
        return comparison
    good = "Higher" if polarity == "high_is_good" else "Lower"
    return "Better" if comparison == good else "Worse"


@dataclass(frozen=True, slots=True)
class SpineRow:
    """One indicator of a spine chart, rescaled to 0-1 with England at 0.5 and better to the
    right; the raw values are kept beside the positions."""

    indicator: str
    polarity: Polarity
    england: float
    local: float | None
    worst: float
    q25: float
    q75: float
    best: float
    worst_at: float
    q25_at: float
    q75_at: float
    best_at: float
    local_at: float | None


def spine_row(
    indicator: str,
    values: Sequence[float],
    england: float,
    local: float | None,
    polarity: Polarity = "high_is_good",
) -> SpineRow:
    """Rescale the areas' ``values`` (one per area of the type, the local one included)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        raise ValueError(f"{indicator}: no area has a value")
    low, q25, q75, high = (float(q) for q in np.quantile(v, [0, 0.25, 0.75, 1]))
    reach = max(england - low, high - england)
    scale_min, scale_max = england - reach, england + reach

    def at(x: float) -> float:
        if scale_max == scale_min:
            return 0.5
        position = (x - scale_min) / (scale_max - scale_min)
        return 1 - position if polarity == "low_is_good" else position

    flip = polarity == "low_is_good"
    worst, best = (high, low) if flip else (low, high)
    return SpineRow(
        indicator,
        polarity,
        england,
        local,
        worst,
        q25 if not flip else q75,
        q75 if not flip else q25,
        best,
        at(worst),
        at(q25 if not flip else q75),
        at(q75 if not flip else q25),
        at(best),
        None if local is None else at(local),
    )


def similar_areas(
    features: Mapping[str, Sequence[float]], area: str, k: int = 5
) -> list[tuple[str, float]]:
    """The ``k`` areas nearest ``area`` on the standardised ``features`` (each area's list in
    the same order), nearest first, with their distances; ties keep name order."""
    if area not in features:
        raise ValueError(f"{area!r} has no features")
    names = sorted(features)
    matrix = np.asarray([features[n] for n in names], dtype=float)
    if matrix.ndim != 2 or not np.all(np.isfinite(matrix)):
        raise ValueError("every area needs the same number of finite features")
    spread = matrix.std(axis=0)
    z = (matrix - matrix.mean(axis=0)) / np.where(spread > 0, spread, 1)
    distances = np.sqrt(((z - z[names.index(area)]) ** 2).sum(axis=1))
    ranked = sorted(
        ((float(d), n) for d, n in zip(distances, names, strict=True) if n != area),
        key=lambda item: (item[0], item[1]),
    )
    return [(n, d) for d, n in ranked[:k]]


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One area's value of one indicator against England."""

    area: str
    indicator: str
    value: float | None
    lower: float | None
    upper: float | None
    england: float | None
    comparison: Comparison
    verdict: str
    polarity: Polarity


@dataclass(frozen=True, slots=True)
class AreaProfile:
    """A profile of one local area among its peers: every area's rows, the spine chart of the
    local area, and its similar areas."""

    local_area: str
    rows: tuple[ProfileRow, ...]
    spine: tuple[SpineRow, ...]
    similar: tuple[tuple[str, float], ...]

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.rows]

    def spine_records(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.spine]


def area_profile(
    values: Mapping[str, Mapping[str, IndicatorValue]],
    england: Mapping[str, IndicatorValue],
    local_area: str,
    *,
    polarity: Mapping[str, Polarity] | None = None,
    features: Mapping[str, Sequence[float]] | None = None,
    neighbours: int = 5,
) -> AreaProfile:
    """Put ``values`` (indicator → area → value) beside the ``england`` value of each
    indicator, and draw the ``local_area``'s spine chart and similar areas (from ``features``,
    when given)."""
    polarities = polarity or {}
    rows = []
    spine = []
    for indicator in sorted(values):
        by_area = values[indicator]
        benchmark = england.get(indicator)
        pole = polarities.get(indicator, "no_judgement")
        england_value = None if benchmark is None else benchmark.value
        for area in sorted(by_area):
            v = by_area[area]
            comparison = compare_with_benchmark(v.lower, v.upper, england_value)
            rows.append(ProfileRow(area, indicator, v.value, v.lower, v.upper, england_value,
                                   comparison, judged(comparison, pole), pole))  # fmt: skip
        published = [v.value for v in by_area.values() if v.value is not None]
        if england_value is not None and published:
            local = by_area.get(local_area)
            spine.append(spine_row(indicator, published, england_value,
                                   None if local is None else local.value, pole))  # fmt: skip
    similar = () if features is None else tuple(similar_areas(features, local_area, neighbours))
    return AreaProfile(local_area, tuple(rows), tuple(spine), similar)
