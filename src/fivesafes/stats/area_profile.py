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

**Levels.** A profile compares areas of one type: NHS England regions, ICBs or Sub ICB
Locations (counted by the practice people are registered with, as Fingertips' GP-registered
ICB and sub-ICB profiles are) or local authorities (counted by where people live).
:func:`profile_at_level` takes released counts by area and age band at any of these levels
(:data:`AREA_LEVELS` names the column holding each level's areas) and makes the profile: each
area's directly standardised rate (ESP 2013 collapsed to the released bands, Dobson limits),
England's (given, or the sum of the areas), the comparison, the spine chart and similar areas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from fivesafes.stats.indicators import IndicatorValue, Interval, dsr, esp2013_weights

Polarity = Literal["high_is_good", "low_is_good", "no_judgement"]
Comparison = Literal["Higher", "Lower", "Similar", "Not compared"]
AreaLevel = Literal["region", "icb", "sub_icb", "local_authority"]
AREA_LEVELS: dict[str, str] = {
    "region": "region",
    "icb": "icb_code",
    "sub_icb": "sub_icb_code",
    "local_authority": "local_authority_code",
}
"""Each level a profile is drawn at, and the column naming its areas in released counts (the
names of the common data model's ``practice_registrations`` columns)."""
LEVEL_WORDS = {
    "region": "NHS England region",
    "icb": "ICB",
    "sub_icb": "Sub ICB Location",
    "local_authority": "local authority",
}
Count = float | None
"""A released count; None when it was suppressed."""


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
    level: str = ""
    """The type of the areas compared (a key of :data:`AREA_LEVELS`), when known."""

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
    level: str = "",
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
    return AreaProfile(local_area, tuple(rows), tuple(spine), similar, level)


def level_column(level: str) -> str:
    """The column naming the areas of ``level`` (a key of :data:`AREA_LEVELS`)."""
    try:
        return AREA_LEVELS[level]
    except KeyError:
        raise ValueError(
            f"no area level {level!r}: choose one of {', '.join(AREA_LEVELS)}"
        ) from None


def unpublished(why: str, multiplier: float = 100_000) -> IndicatorValue:
    """A standardised rate that is not published, saying why (never a guessed value)."""
    return IndicatorValue(
        f"dsr per {multiplier:g}", 0, 0, None, (Interval(0.95, None, None),), "Dobson",
        multiplier, note=why,
    )  # fmt: skip


def dsr_from_counts(
    rows: Sequence[Mapping[str, Any]], indicator: str, multiplier: float = 100_000
) -> IndicatorValue:
    """The DSR of ``indicator`` from one area's rows (``age_band``, ``population`` and the
    indicator's count, one row per band), standardised to ESP 2013 collapsed to the bands."""
    counts: list[Count] = [r[indicator] for r in rows]
    pops: list[Count] = [r["population"] for r in rows]
    if any(c is None for c in counts) or any(not p for p in pops):
        return unpublished("not published: a count was suppressed", multiplier)
    weights = esp2013_weights([str(r["age_band"]) for r in rows])
    return dsr([c or 0.0 for c in counts], [p or 0.0 for p in pops], weights,
               multiplier=multiplier)  # fmt: skip


def _summed_by_band(
    areas: Mapping[str, Sequence[Mapping[str, Any]]], indicator: str
) -> list[dict[str, Any]]:
    """England's rows as the sum of the areas' (None where any area's count is suppressed)."""
    bands: dict[str, dict[str, Any]] = {}
    for rows in areas.values():
        for r in rows:
            total = bands.setdefault(str(r["age_band"]), {"population": 0.0, indicator: 0.0})
            total["age_band"] = str(r["age_band"])
            for key in ("population", indicator):
                total[key] = None if total[key] is None or r[key] is None else total[key] + r[key]
    return [bands[b] for b in sorted(bands)]


def profile_at_level(
    rows: Sequence[Mapping[str, Any]],
    level: str,
    indicators: Sequence[str],
    local_area: str | None = None,
    *,
    england_rows: Sequence[Mapping[str, Any]] | None = None,
    polarity: Mapping[str, Polarity] | None = None,
    features: Mapping[str, Sequence[float]] | None = None,
    neighbours: int = 5,
    multiplier: float = 100_000,
) -> AreaProfile:
    """The area profile at ``level`` from released counts: ``rows`` hold the level's column
    (see :data:`AREA_LEVELS`), ``age_band``, ``population`` and one count per indicator (None
    where suppressed). England is ``england_rows`` (the same, without the area column) or
    else the sum of the areas, which is published only when no area's count was suppressed.
    ``local_area`` defaults to the first area by name."""
    column = level_column(level)
    areas: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        areas.setdefault(str(row[column]), []).append(row)
    if not areas:
        raise ValueError(f"no counts by {column} to profile")
    values = {
        i: {a: dsr_from_counts(rs, i, multiplier) for a, rs in areas.items()} for i in indicators
    }
    england = {}
    for i in indicators:
        summed = list(england_rows) if england_rows is not None else _summed_by_band(areas, i)
        value = dsr_from_counts(summed, i, multiplier)
        if value.value is None and england_rows is None:
            value = unpublished("England not published: an area's count was suppressed",
                                multiplier)  # fmt: skip
        england[i] = value
    local = local_area if local_area in areas else sorted(areas)[0]
    return area_profile(values, england, local, polarity=polarity, features=features,
                        neighbours=neighbours, level=level)  # fmt: skip
