"""Making Data Count colours, in one place for charts and icons (NHSRplotthedots defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpcColours:
    common_cause: str = "#A6A6A6"  # grey
    improvement: str = "#00B0F0"  # blue
    concern: str = "#E46C0A"  # orange
    neutral: str = "#490092"  # purple
    value_line: str = "#A6A6A6"
    mean_line: str = "#000000"
    limits: str = "#A6A6A6"
    target: str = "#DE1B1B"


COLOURS = SpcColours()
