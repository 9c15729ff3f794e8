"""The dashboard is built from verified released outputs only, and says where each figure's
numbers came from."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from dashboard_support import ADMISSIONS, CONVEYANCES, HBA1C, PROJECT, SMALL, Built, Released
from typer.testing import CliRunner

import fivesafes.cli.dashboard  # noqa: F401  (registers the command)
from fivesafes.cli.common import app
from fivesafes.dashboards import DashboardError, build_dashboard, demo_dashboard
from fivesafes.release.manifest import SIGNATURE_FILE
from fivesafes.stats import proportion, rate
from fivesafes.store.config import DataDir


def _released_rows(released: Released, path: str) -> list[dict[str, str]]:
    text = (released.publication.folder / path).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _copy(released: Released, tmp_path: Path) -> tuple[DataDir, Path]:
    """A copy of the released environment that a test may damage."""
    root = released.data_dir.root.parent
    shutil.copytree(root, tmp_path / "env")
    data = tmp_path / "env" / "data"
    data_dir = DataDir(data, data / "keys" / "pseudonym.key")
    folder = data_dir.root / released.publication.folder.relative_to(released.data_dir.root)
    return data_dir, folder


def test_every_figure_names_its_release_checks_approvals_and_ledger_entry(built: Built) -> None:
    publication = built.released.publication
    html = built.html
    assert f"<code>{publication.release_id}</code>" in html
    assert f"entry {publication.receipt.index}" in html
    for path, digest in publication.files.items():
        assert f"<code>{path}</code> sha256 <code>{digest}</code>" in html
    assert html.count("chk1 (") == 3  # one provenance block per measure table
    assert html.count("chk2 (") == 3
    assert "small_numbers passed" in html


def test_latest_values_are_the_released_counts_with_their_intervals(built: Built) -> None:
    rows = _released_rows(built.released, ADMISSIONS)
    london = [r for r in rows if r["region"] == "London"][-1]
    value = rate(float(london["events"]), float(london["population"]), multiplier=1000)
    assert (
        f"{value.value:.1f} per 1,000 (95% CI {value.lower:.1f} to {value.upper:.1f}" in built.html
    )
    rows = _released_rows(built.released, HBA1C)
    fifth = [r for r in rows if r["imd_quintile"] == "5"][-1]
    share = proportion(float(fifth["numerator"]), float(fifth["denominator"]), multiplier=100)
    assert (
        f"{share.value:.1f} % (95% CI {share.lower:.1f} to {share.upper:.1f}; Wilson)" in built.html
    )


def test_a_planted_shift_shows_as_special_cause_concern(built: Built) -> None:
    """The North West's admissions rise 40% from the ninth month; fewer is better."""
    row = built.html.split("Emergency admissions by region: North West</th>")[1].split("</tr>")[0]
    assert "Special cause: concern, high" in row
    row = built.html.split("Emergency admissions by region: London</th>")[1].split("</tr>")[0]
    assert "Common cause variation" in row


def test_targets_give_assurance_icons_and_no_target_says_so(built: Built) -> None:
    summary = built.html.split("<tbody>")[1].split("</tbody>")[0]
    assert summary.count("No target set") == 6  # the three regions of two rate measures
    assert summary.count("Target ") == 5  # the five quintiles: pass, fail or hit or miss


def test_figures_are_files_beside_the_page(built: Built) -> None:
    figures = sorted(p.name for p in (built.page.parent / "figures").iterdir())
    # an SPC chart per group; intervals and a funnel per measure
    assert len(figures) == 3 + 5 + 3 + 2 * 3
    assert all(p.endswith(".svg") for p in figures)


def test_a_suppressed_table_is_released_long_and_charted_with_gaps(built: Built) -> None:
    rows = _released_rows(built.released, CONVEYANCES)
    assert list(rows[0]) == ["month", "region", "events", "population"]  # as it was written
    hidden = {(r["month"], r["region"]) for r in rows if r["events"] == "[REDACTED]"}
    assert hidden >= SMALL  # the small counts, and complementary cells beside them
    section = built.html.split("Ambulance conveyances by region</h2>")[1].split("</section>")[0]
    assert f"{len(hidden)} row(s) were suppressed by the output checkers" in section
    assert "shown as a gap: Mar 2022" in section  # London's small month, named, not a zero
    chart = built.page.parent / "figures" / "ambulance-conveyances-by-region--london.svg"
    assert "suppressed" in chart.read_text()


def test_a_tampered_release_is_refused(released: Released, tmp_path: Path) -> None:
    data_dir, folder = _copy(released, tmp_path)
    target = folder / ADMISSIONS
    target.write_text(target.read_text().replace("London", "Londom"))
    with pytest.raises(DashboardError, match="does not match its hash"):
        build_dashboard(data_dir, PROJECT, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_release_with_a_changed_check_report_is_refused(
    released: Released, tmp_path: Path
) -> None:
    data_dir, folder = _copy(released, tmp_path)
    report = next((folder / "checks").iterdir())
    report.write_text(report.read_text().replace('"passed": false', '"passed": true') + " ")
    with pytest.raises(DashboardError, match="does not match its hash"):
        build_dashboard(data_dir, PROJECT, tmp_path / "out")


def test_an_unsigned_release_is_refused(released: Released, tmp_path: Path) -> None:
    data_dir, folder = _copy(released, tmp_path)
    (folder / SIGNATURE_FILE).unlink()
    with pytest.raises(DashboardError, match="signature"):
        build_dashboard(data_dir, PROJECT, tmp_path / "out")


def test_a_project_with_nothing_released_has_no_dashboard(
    released: Released, tmp_path: Path
) -> None:
    with pytest.raises(DashboardError, match="no released outputs"):
        build_dashboard(released.data_dir, "never-released", tmp_path / "out")


def test_the_command_builds_the_dashboard_and_says_where(
    released: Released, tmp_path: Path
) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app,
        [
            "dashboard",
            PROJECT,
            "--output",
            str(out),
            "--data-dir",
            str(released.data_dir.root),
            "--improvement",
            "emergency_admissions_by_region=decrease",
            "--target",
            "hba1c_recorded_by_imd_quintile=80",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file()
    assert "index.html" in result.output
    assert "Special cause: concern, high" in (out / "index.html").read_text()


def test_the_command_refuses_bad_settings(released: Released, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "dashboard",
            PROJECT,
            "--output",
            str(tmp_path),
            "--data-dir",
            str(released.data_dir.root),
            "--improvement",
            "emergency_admissions_by_region=sideways",
        ],
    )
    assert result.exit_code == 2
    assert "sideways" in result.output


def test_demo_dashboard_says_where_the_page_is(released: Released, tmp_path: Path) -> None:
    message = demo_dashboard(released.data_dir, PROJECT, tmp_path / "demo")
    assert (tmp_path / "demo" / "index.html").resolve().as_uri() in message
