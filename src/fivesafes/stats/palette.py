"""Colours of SPC charts and icons: accessible variants by default, and the Making Data Count
palette (NHSRplotthedots defaults) for anyone who needs the published colours exactly.

Making Data Count's grey (#A6A6A6) and blue (#00B0F0) have a contrast of about 2.4:1 on
white, and its orange about 3.3:1 on white but 2.9:1 on the dashboard's page background; WCAG
2.2 success criterion 1.4.11 (Non-text Contrast) asks 3:1 of the graphics people need to read
a chart, such as the points that signal special cause and the rings of the icons. The
accessible variants keep each hue and are darker (lower HLS lightness) until they reach at
least 3.1:1 on both white and the page background #f0f4f5, so that anti-aliased edges still
pass. Every signal is also said in words (icon titles, legends, tables), never by colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_GRAPHIC_CONTRAST = 3.0
"""WCAG 2.2 SC 1.4.11: least contrast of meaningful graphics against adjacent colours."""
WHITE = "#ffffff"
PAGE_BACKGROUND = "#f0f4f5"
"""The NHS.UK page background the dashboards use (icons are transparent, so they sit on it)."""
BACKGROUNDS = (WHITE, PAGE_BACKGROUND)
"""What charts and icons are drawn on."""


@dataclass(frozen=True, slots=True)
class SpcColours:
    """One colour per role in a chart or icon (defaults: the Making Data Count colours)."""

    common_cause: str = "#A6A6A6"  # grey
    improvement: str = "#00B0F0"  # blue
    concern: str = "#E46C0A"  # orange
    neutral: str = "#490092"  # purple
    value_line: str = "#A6A6A6"
    mean_line: str = "#000000"
    limits: str = "#A6A6A6"
    target: str = "#DE1B1B"


MDC_COLOURS = SpcColours()
"""The Making Data Count colours, as published."""
ACCESSIBLE_COLOURS = SpcColours(
    common_cause="#8A8A8A",
    improvement="#0094CA",
    concern="#DD690A",
    value_line="#8A8A8A",
    limits="#8A8A8A",
)
"""The same hues, dark enough for 3:1 on white and on the dashboard's page background."""
COLOURS = ACCESSIBLE_COLOURS
"""The palette charts and icons use unless told otherwise."""


def _channel(value: int) -> float:
    s = value / 255
    return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of a ``#rrggbb`` colour, from 0 (black) to 1 (white)."""
    digits = colour.removeprefix("#")
    if len(digits) != 6:
        raise ValueError(f"{colour!r} is not a #rrggbb colour")
    r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.2 contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
