"""Workforce planning from published workforce statistics: read strictly, summed, charted."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from examples_support import unreleased

from fivesafes.dashboards.released import DashboardError
from fivesafes.dashboards.workforce import read_published, workforce_section
from fivesafes.model.lookups import load_icbs
from fivesafes.synth.geography import build_geography
from fivesafes.synth.workforce import RETURNS_COLUMNS, workforce_returns


def _published(tmp_path: Path) -> Path:
    geo = build_geography(np.random.default_rng(1), 20_000)
    rows = workforce_returns(np.random.default_rng(2), geo, 20_000)
    path = tmp_path / "workforce_returns.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(RETURNS_COLUMNS)
        writer.writerows(rows)
    return path


def test_the_synthetic_returns_look_like_nhs_workforce_statistics(tmp_path: Path) -> None:
    rows = read_published(_published(tmp_path)).rows
    leavers = sum(float(r["leavers"]) for r in rows)
    heads = sum(float(r["headcount"]) for r in rows)
    assert 0.005 < leavers / heads < 0.012  # about 10% a year, monthly
    lost = sum(float(r["sickness_fte_days_lost"]) for r in rows)
    available = sum(float(r["fte_days_available"]) for r in rows)
    assert 0.04 <= lost / available <= 0.065


def test_the_section_charts_every_measure_and_the_gap(tmp_path: Path) -> None:
    published = read_published(_published(tmp_path))
    section = workforce_section([published], {}, tmp_path, 0.05)
    assert section is not None
    alts = [f.alt for f in section.figures]
    assert [a.split(".")[0] for a in alts] == [
        "Turnover: leavers over average headcount",
        "Vacancy rate: vacant FTE over planned FTE",
        "Sickness absence: FTE days lost over FTE days available",
        "FTE needed against FTE projected",
    ]
    html = "".join(section.parts)
    assert published.sha256 in html and "Stability index" in html
    assert "Gap in 36 months at 5% demand growth a year" in html


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h, r: (h.replace(",fte,", ",wte,"), r), "line 1: missing column fte"),
        (lambda h, r: (h, r.replace(",London,", ",London,Doctors,x", 1)), "not a number"),
        (lambda h, r: (h, "not-a-month" + r[r.index(",") :]), "column month: 'not-a-month'"),
    ],
)
def test_bad_published_files_are_refused_by_line_and_column(
    tmp_path: Path, change: object, message: str
) -> None:
    path = tmp_path / "w.csv"
    header = ",".join(RETURNS_COLUMNS)
    row = "2024-04-01,R1,London,Doctors,10,12,1,1,10,11,1,15,300"
    h, r = change(header, row)  # type: ignore[operator]
    path.write_text(f"{h}\n{r}\n")
    with pytest.raises(DashboardError, match=message):
        read_published(path)
    with pytest.raises(DashboardError, match="cannot be read"):
        read_published(tmp_path / "missing.csv")


def test_fte_per_1000_by_region_sums_the_released_icb_populations(tmp_path: Path) -> None:
    """The board pack releases its profile by ICB: each ICB's people count in its region
    (from the ICB lookup), and a region with a suppressed count is not published, never
    counted as if it had none."""
    published = read_published(_published(tmp_path))
    month = max(r["month"] for r in published.rows)
    icbs = load_icbs()
    region_of = dict(zip(icbs["icb_code"].to_pylist(), icbs["region"].to_pylist(), strict=True))
    london = [c for c, r in region_of.items() if r == "London"][:2]
    midlands = [c for c, r in region_of.items() if r == "Midlands"][:2]
    rows = [
        {"icb_code": c, "age_band": b, "population": p}
        for c in london
        for b, p in (("0-64", 30_000), ("65+", 5_000))
    ] + [
        {"icb_code": midlands[0], "age_band": "0-64", "population": 40_000},
        {"icb_code": midlands[1], "age_band": "0-64", "population": "[REDACTED]"},
    ]
    profile = unreleased("profile_icb_code", rows)
    section = workforce_section([published], {"profile_icb_code": profile}, tmp_path, 0.05)
    assert section is not None and profile in section.tables
    html = "".join(section.parts)
    fte = sum(float(r["fte"]) for r in published.rows
              if r["month"] == month and r["region"] == "London")  # fmt: skip
    assert fte > 0
    assert f'<th scope="row">London</th><td>{fte:,.1f}</td><td>70,000</td>' in html
    assert f"<td>{fte / 70_000 * 1000:.1f}</td>" in html
    assert "Midlands</th><td>" in html
    midlands_row = html[html.index("Midlands</th>") :].split("</tr>")[0]
    assert midlands_row.count("not published") == 2
    wrong = unreleased("profile_icb_code", [{"icb_code": "E99999999", "population": 1}])
    with pytest.raises(DashboardError, match="'E99999999' is not an ICB code"):
        workforce_section([published], {"profile_icb_code": wrong}, tmp_path, 0.05)
