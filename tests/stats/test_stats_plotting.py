"""Charts are drawn to small PNG/SVG files with titles, labels and descriptions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fivesafes.stats import (
    AssuranceIcon,
    VariationIcon,
    alt_text,
    p_chart,
    plot_funnel,
    plot_run_chart,
    plot_spc,
    proportion_funnel,
    run_chart,
    write_icon,
    xmr,
)

MONTHS = [dt.date(2023 + i // 12, i % 12 + 1, 1) for i in range(24)]
VALUES = [50, 52, 49, 51, 48, 50, 53, 47, 51, 50, 49, 52, 55, 56, 57, 58, 59, 60, 61, 58, 59, 60,
          62, 61]  # fmt: skip


def test_spc_chart_png_and_svg(tmp_path: Path) -> None:
    result = xmr(VALUES, MONTHS, target=55, improvement_direction="increase")
    fig = plot_spc(result, title="Patients seen", y_label="Patients", path=tmp_path / "c.png")
    plot_spc(result, title="Patients seen", path=tmp_path / "c.svg")
    ax = fig.axes[0]
    assert ax.get_title() == "Patients seen" and ax.get_ylabel() == "Patients"
    assert 0 < (tmp_path / "c.png").stat().st_size < 100_000
    svg = (tmp_path / "c.svg").read_text()
    assert "Patients seen" in svg and "improvement" in svg.lower()


def test_alt_text_summarises_the_chart() -> None:
    result = xmr(VALUES, MONTHS, target=55)
    text = alt_text(result, title="Patients seen", y_label="patients")
    assert text.startswith("Patients seen. XmR chart of patients with 24 points")
    assert f"mean {result.groups[0].centre:.3g}" in text
    assert "The latest point is 61" in text and "Target 55" in text


def test_other_charts_draw(tmp_path: Path) -> None:
    plot_spc(p_chart([5, 7, 6, 9], [50, 60, 55, 52]), path=tmp_path / "p.png")
    plot_run_chart(run_chart(VALUES, MONTHS), path=tmp_path / "r.png")
    funnel = proportion_funnel([50, 520, 600, 400], [100, 1000, 1000, 800])
    plot_funnel(funnel, path=tmp_path / "f.svg", higher_is_better=True)
    assert "organisations" in alt_text(funnel)
    assert "Run chart" in alt_text(run_chart(VALUES))
    for name in ("p.png", "r.png", "f.svg"):
        assert (tmp_path / name).stat().st_size < 100_000


@pytest.mark.parametrize("icon", [*VariationIcon, *AssuranceIcon])
def test_every_icon_writes(tmp_path: Path, icon: VariationIcon | AssuranceIcon) -> None:
    out = write_icon(icon, tmp_path / f"{icon.value}.svg")
    assert out.read_text().startswith("<?xml")


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        write_icon(VariationIcon.COMMON_CAUSE, tmp_path / "icon.gif")


def test_documentation_gallery_is_small(tmp_path: Path) -> None:
    from fivesafes.stats.gallery import write_gallery

    written = write_gallery(tmp_path)
    assert len(written) == 16
    assert all(0 < p.stat().st_size < 100_000 for p in written)
