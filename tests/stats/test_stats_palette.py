"""Chart and icon colours: the accessible palette is the default and every colour that carries
meaning reaches WCAG 2.2's 3:1 for graphics (SC 1.4.11) on white and on the dashboard
background, computed from the colours themselves; the Making Data Count palette stays available."""

from __future__ import annotations

import colorsys
import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivesafes.stats.icons import icon_colour, write_icon
from fivesafes.stats.palette import (
    ACCESSIBLE_COLOURS,
    BACKGROUNDS,
    COLOURS,
    MDC_COLOURS,
    MIN_GRAPHIC_CONTRAST,
    contrast_ratio,
    relative_luminance,
)
from fivesafes.stats.spc_model import AssuranceIcon, VariationIcon

ROLES = [f.name for f in dataclasses.fields(ACCESSIBLE_COLOURS)]
DARKENED = [r for r in ROLES if getattr(MDC_COLOURS, r) != getattr(ACCESSIBLE_COLOURS, r)]
"""The roles whose Making Data Count colour was too light."""
ICONS = [*VariationIcon, *AssuranceIcon]
colours = st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}")


def _hue(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0]


def test_contrast_ratio_has_the_wcag_end_points() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#A6A6A6", "#a6a6a6") == pytest.approx(1)
    # WebAIM's contrast checker gives #767676 on white as 4.54:1, the lightest grey for 4.5:1
    assert contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.005)


@given(colours, colours)
def test_contrast_ratio_is_symmetric_and_between_1_and_21(a: str, b: str) -> None:
    assert contrast_ratio(a, b) == contrast_ratio(b, a)
    assert 1 <= contrast_ratio(a, b) <= 21 + 1e-9
    assert 0 <= relative_luminance(a) <= 1


def test_a_colour_that_is_not_rrggbb_is_refused() -> None:
    with pytest.raises(ValueError, match="rrggbb"):
        relative_luminance("#abc")


def test_charts_and_icons_use_the_accessible_palette_by_default() -> None:
    assert COLOURS is ACCESSIBLE_COLOURS
    assert set(DARKENED) == {"common_cause", "improvement", "concern", "value_line", "limits"}
    for icon in ICONS:
        assert icon_colour(icon) in {getattr(ACCESSIBLE_COLOURS, r) for r in ROLES}
        assert icon_colour(icon, MDC_COLOURS) in {getattr(MDC_COLOURS, r) for r in ROLES}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("background", BACKGROUNDS)
def test_every_accessible_colour_reaches_3_to_1(role: str, background: str) -> None:
    assert contrast_ratio(getattr(ACCESSIBLE_COLOURS, role), background) >= MIN_GRAPHIC_CONTRAST


def test_the_making_data_count_grey_and_blue_fall_short_of_3_to_1_on_white() -> None:
    assert contrast_ratio(MDC_COLOURS.common_cause, "#ffffff") < MIN_GRAPHIC_CONTRAST
    assert contrast_ratio(MDC_COLOURS.improvement, "#ffffff") < MIN_GRAPHIC_CONTRAST


@pytest.mark.parametrize("role", DARKENED)
def test_accessible_colours_keep_the_making_data_count_hue_and_only_darken(role: str) -> None:
    mdc, ours = getattr(MDC_COLOURS, role), getattr(ACCESSIBLE_COLOURS, role)
    assert abs(_hue(mdc) - _hue(ours)) < 0.01
    assert relative_luminance(ours) < relative_luminance(mdc)


@pytest.mark.parametrize("icon", ICONS)
def test_an_icon_is_drawn_in_the_palette_it_is_given(
    icon: VariationIcon | AssuranceIcon, tmp_path: Path
) -> None:
    accessible = write_icon(icon, tmp_path / "a.svg").read_text().lower()
    published = write_icon(icon, tmp_path / "m.svg", colours=MDC_COLOURS).read_text().lower()
    assert icon_colour(icon).lower() in accessible
    assert icon_colour(icon, MDC_COLOURS).lower() in published
