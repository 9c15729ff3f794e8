"""The dashboard in a real browser (headless Chromium, offline): it loads without a single
console message, every image it points at is in its folder, and it passes the accessibility
checks a parser can make. The screenshot is kept beside the page for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from accessibility import audit, contrast
from chromium import chromium, drawn_images, open_page
from dashboard_support import Built

from fivesafes.dashboards.style import (
    NHS_BLUE,
    PAGE_BACKGROUND,
    SECONDARY_TEXT,
    SIGNAL_COLOURS,
    TEXT,
    WHITE,
)

needs_chromium = pytest.mark.skipif(
    chromium() is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
)


@needs_chromium
def test_the_page_loads_in_chromium_without_console_messages(built: Built) -> None:
    run = open_page(built.page, built.page.parent / "screenshot.png")
    assert run.console == ()
    assert run.screenshot.stat().st_size > 10_000  # a real rendering, not an empty canvas


@needs_chromium
def test_chromium_draws_every_chart_and_icon(built: Built) -> None:
    """Each image the page shows was decoded by the browser (an SVG matplotlib wrote wrongly,
    or a path that is not there, would have no width)."""
    drawn = drawn_images(built.page)
    assert set(drawn) == {str(i["src"]) for i in audit(built.html).images}
    assert {src: width for src, width in drawn.items() if width == 0} == {}
    assert all(drawn[src] >= 400 for src in drawn if src.startswith("figures/"))


@needs_chromium
def test_the_image_check_catches_an_image_it_cannot_draw(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    (tmp_path / "bad.svg").write_text("<svg this is not")
    page.write_text(
        '<!DOCTYPE html><html lang="en"><title>t</title><body>'
        '<img src="bad.svg" alt=""><img src="gone.svg" alt=""></body></html>'
    )
    assert drawn_images(page) == {"bad.svg": 0, "gone.svg": 0}


@needs_chromium
def test_the_console_check_catches_a_script_error(tmp_path: Path) -> None:
    """The detector itself works: a page that throws is caught."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html lang="en"><title>t</title><script>nosuch();</script>')
    run = open_page(page, tmp_path / "broken.png")
    assert any("nosuch is not defined" in line for line in run.console)


def test_every_image_is_in_the_dashboard_folder(built: Built) -> None:
    images = audit(built.html).images
    assert len(images) > 10
    for image in images:
        src = str(image["src"])
        assert "://" not in src and not src.startswith("/"), src
        assert (built.page.parent / src).is_file(), src


def test_the_page_passes_the_structural_accessibility_checks(built: Built) -> None:
    page = audit(built.html)
    assert page.problems() == []
    assert page.lang == "en-GB"
    assert page.scripts == 0


def test_charts_have_alt_text_that_describes_them(built: Built) -> None:
    charts = [i for i in audit(built.html).images if str(i["src"]).startswith("figures/")]
    assert all(len(str(c["alt"])) > 40 for c in charts)
    assert any("Funnel plot" in str(c["alt"]) for c in charts)


def test_icons_are_explained_in_words_beside_them(built: Built) -> None:
    """The icon images are decorative (empty alt) because the words next to them say the same;
    the Making Data Count ring colours alone would not meet the 3:1 contrast for graphics."""
    icons = [i for i in audit(built.html).images if str(i["src"]).startswith("icons/")]
    assert icons and all(i["alt"] == "" for i in icons)
    for chunk in built.html.split('class="icon">')[1:]:
        assert chunk.startswith('<span class="signal-')


@pytest.mark.parametrize("name", sorted(SIGNAL_COLOURS))
def test_signal_text_colours_meet_the_text_contrast_minimum(name: str) -> None:
    assert contrast(SIGNAL_COLOURS[name], WHITE) >= 4.5


@pytest.mark.parametrize("colour", [TEXT, SECONDARY_TEXT, NHS_BLUE])
def test_text_colours_meet_the_minimum_on_both_backgrounds(colour: str) -> None:
    assert contrast(colour, WHITE) >= 4.5
    assert contrast(colour, PAGE_BACKGROUND) >= 4.5


def test_contrast_ratio_spans_the_wcag_range() -> None:
    """Black on white is 21:1 and any colour on itself 1:1, by WCAG 2.2's definition of
    contrast ratio; the order of the two colours does not matter."""
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast(NHS_BLUE, NHS_BLUE) == pytest.approx(1)
    assert contrast(NHS_BLUE, WHITE) == contrast(WHITE, NHS_BLUE)
