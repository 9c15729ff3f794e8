"""A drawn summary of a release: each file as released, beside the checks it passed.

Output checkers and the people who receive a release look at pictures faster than at JSON: one
PNG shows every released table (or chart) on the left and its rule-by-rule results on the right,
hidden cells marked as the checker marked them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_ROWS = 24
MAX_COLUMNS = 8
PASS_INK, FAIL_INK = "#007f3b", "#d5281b"


@dataclass(frozen=True)
class SummaryItem:
    """One released file: its name in the release, where it is now, and its check report."""

    path: str
    file: Path
    report: dict[str, Any]


def _draw_file(ax: Any, item: SummaryItem) -> None:
    import matplotlib.image as mpimg

    ax.set_title(item.path, fontsize=9, loc="left")
    suffix = item.file.suffix.lower()
    if suffix == ".png":
        ax.imshow(mpimg.imread(item.file))
        ax.axis("off")
        return
    ax.axis("off")
    if suffix == ".csv":
        with item.file.open(encoding="utf-8", newline="") as handle:
            rows = [row[:MAX_COLUMNS] for row in csv.reader(handle)]
        header, body = rows[0], rows[1 : MAX_ROWS + 1]
        width = len(header)
        body = [row + [""] * (width - len(row)) for row in body]
        table = ax.table(cellText=body or [[""] * width], colLabels=header, loc="upper center")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        for (r, _c), cell in table.get_celld().items():
            if r > 0 and cell.get_text().get_text() == "[REDACTED]":
                cell.set_facecolor("#fde8e6")
        if len(rows) - 1 > MAX_ROWS:
            ax.text(0.5, 0.0, f"… {len(rows) - 1 - MAX_ROWS} more rows", ha="center", fontsize=7)
        return
    lines = item.file.read_text(encoding="utf-8").splitlines()[:MAX_ROWS]
    ax.text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=7, wrap=True)


def _draw_checks(ax: Any, report: dict[str, Any]) -> None:
    ax.axis("off")
    verdict = "passed every rule" if report.get("passed") else "see results"
    ax.set_title(f"checks ({report.get('profile', report.get('kind'))}): {verdict}", fontsize=9)
    lines = [
        (f"{'pass' if r['passed'] else 'FAIL'}  {r['rule']}: {r['summary']}", r["passed"])
        for r in report.get("rules", [])
    ] + [(f"note: {note}", True) for note in report.get("notes", [])]
    for k, (text, passed) in enumerate(lines[:MAX_ROWS]):
        ax.text(
            0,
            1 - k * 0.08,
            text[:110],
            va="top",
            fontsize=7,
            color=PASS_INK if passed else FAIL_INK,
        )


def draw_summary(path: Path, release_id: str, items: Sequence[SummaryItem]) -> Path:
    """One row per file: the released file on the left, its check results on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(items), 2, figsize=(14, 4.2 * len(items)), squeeze=False, width_ratios=(1.2, 1)
    )
    for row, item in zip(axes, items, strict=True):
        _draw_file(row[0], item)
        _draw_checks(row[1], item.report)
    fig.suptitle(f"Release {release_id}: what went out, and the checks it passed", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
