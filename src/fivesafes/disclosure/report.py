"""The result of checking one output: per rule, pass or fail, and which cells — never their values.

A report goes to the analyst (why was this cell hidden?), to the two output checkers who review
the release request, and into the release record, so it renders as text, as JSON and as a
picture of the table with its hidden cells marked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from fivesafes.disclosure.history import ReleasedTable
from fivesafes.disclosure.tables import REDACTED, Dimension, LongLayout, Place


@dataclass(frozen=True)
class RuleResult:
    """One rule applied to one output. ``cells`` name cells by their categories only."""

    rule: str
    passed: bool
    summary: str
    setting: str
    source: str
    cells: tuple[str, ...] = ()
    positions: tuple[tuple[int, int], ...] = ()


def _number(value: float) -> str:
    """A published number as plain text: whole numbers without a decimal point or exponent,
    others as the shortest text that reads back as the same number (a mean is published as
    computed, so the file that goes out is the file that was checked)."""
    return f"{value:.0f}" if float(value).is_integer() else repr(float(value))


def _shown(value: float | None) -> str:
    return REDACTED if value is None or math.isnan(value) else _number(value)


@dataclass(frozen=True)
class SafeTable:
    """The version of a table that may be published: hidden cells are ``nan``.

    ``row_totals``/``column_totals``/``total`` are None when that margin is not published.
    A table that came in long (a GROUP BY's label columns then count columns) carries its
    ``layout`` and goes out long, one safe grid per count column in ``parts`` (empty: this
    table is the only one); any other table goes out as a grid with its margins.
    """

    rows: Dimension
    columns: Dimension | None
    values: np.ndarray
    row_totals: np.ndarray | None
    column_totals: np.ndarray | None
    total: float | None
    value_name: str = "count"
    layout: LongLayout | None = None
    parts: tuple[SafeTable, ...] = ()

    @property
    def hidden(self) -> np.ndarray:
        return np.asarray(np.isnan(self.values))

    @property
    def grids(self) -> tuple[SafeTable, ...]:
        """One grid per count column: what is drawn, and what a long table's rows are read from."""
        return self.parts or (self,)

    def grand_total(self) -> float:
        """The total the safe version shows (or implies), whichever margins it publishes."""
        if self.total is not None:
            return self.total
        for margin in (self.column_totals, self.row_totals):
            if margin is not None:
                return float(margin.sum())
        return float(np.nansum(self.values))

    def at(self, place: Place | None) -> float | None:
        """The published value at a place (a cell or a margin); None where nothing is shown."""
        if place is None:
            return None
        i, j = place
        if i >= 0 and j >= 0:
            return float(self.values[i, j])
        if i >= 0:
            return None if self.row_totals is None else float(self.row_totals[i])
        if j >= 0:
            return None if self.column_totals is None else float(self.column_totals[j])
        margins = (self.total, self.row_totals, self.column_totals)
        return None if all(m is None for m in margins) else self.grand_total()

    def as_rows(self) -> list[list[str]]:
        """Header and rows as text, hidden cells as ``[REDACTED]``: a long table as it came
        in, any other as a grid with its margins."""
        return self._long_rows(self.layout) if self.layout is not None else self._grid_rows()

    def _long_rows(self, layout: LongLayout) -> list[list[str]]:
        """The file's own columns and rows, each count from its grid; a total row only where
        the file had one. A hidden cell the file had no row for gets a row of its own, since a
        missing row of a GROUP BY says its count is zero."""
        grids = self.grids
        body = [
            [*key, *(_shown(g.at(place)) for g in grids)]
            for key, place in zip(layout.rows, layout.places, strict=True)
        ]
        hidden = np.logical_or.reduce([g.hidden for g in grids]) & layout.absent()
        for i, j in np.argwhere(hidden):
            key = layout.row_keys[i] + layout.column_keys[j]
            body.append([*key, *(_shown(g.at((int(i), int(j)))) for g in grids)])
        return [[*layout.labels, *layout.measures], *body]

    def _grid_rows(self) -> list[list[str]]:
        def margin(v: float | None) -> str:
            return "" if v is None or math.isnan(v) else _number(v)

        col_labels = list(self.columns.labels) if self.columns else [self.value_name]
        head = self.rows.name + (f"/{self.columns.name}" if self.columns else "")
        header = [head, *col_labels] + (["Total"] if self.row_totals is not None else [])
        body = []
        for i, label in enumerate(self.rows.labels):
            line = [label, *(_shown(v) for v in self.values[i])]
            if self.row_totals is not None:
                line.append(margin(self.row_totals[i]))
            body.append(line)
        if self.column_totals is not None:
            line = ["Total", *(margin(v) for v in self.column_totals)]
            if self.row_totals is not None:
                line.append(margin(self.total))
            body.append(line)
        return [header, *body]

    @classmethod
    def side_by_side(cls, safes: dict[str, SafeTable]) -> SafeTable:
        """Several safe grids over the same categories as one, a column of cells per measure
        (named by the keys): the grids themselves are kept as its parts."""
        first = next(iter(safes.values()))
        if first.columns is None:
            keys = first.rows.labels
        else:
            keys = tuple(f"{r} / {c}" for r in first.rows.labels for c in first.columns.labels)
        name = (
            first.rows.name
            if first.columns is None
            else f"{first.rows.name} / {first.columns.name}"
        )
        values = np.column_stack([s.values.ravel() for s in safes.values()])
        totals = np.array([s.grand_total() for s in safes.values()])
        return cls(
            Dimension(name, keys),
            Dimension("measure", tuple(safes)),
            values,
            None,
            totals,
            None,
            parts=tuple(replace(s, value_name=m) for m, s in safes.items()),
        )

    def write_csv(self, path: Path) -> None:
        import csv

        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(self.as_rows())


@dataclass
class CheckReport:
    """Everything the checks found about one output, and its safe version if there is one."""

    output: str
    kind: str
    profile: str
    results: list[RuleResult] = field(default_factory=list)
    safe: SafeTable | None = None
    notes: list[str] = field(default_factory=list)
    records: list[ReleasedTable] = field(default_factory=list, repr=False)
    """What to add to the project's ``ReleaseHistory`` once released (true counts: never
    rendered, never leaves the environment)."""

    @property
    def passed(self) -> bool:
        """True when the output as submitted breaks no rule and may be requested as it is."""
        return all(r.passed for r in self.results)

    @property
    def releasable(self) -> bool:
        """True when either the output or its safe version may be requested for release."""
        blocking = {
            "differencing",
            "secondary_suppression",
            "small_totals",
            "model_df",
            "contributors_known",
            "matches_contributions",
        }
        return self.passed or (
            self.safe is not None and all(r.passed for r in self.results if r.rule in blocking)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "kind": self.kind,
            "profile": self.profile,
            "passed": self.passed,
            "releasable": self.releasable,
            "rules": [
                {
                    "rule": r.rule,
                    "passed": r.passed,
                    "summary": r.summary,
                    "setting": r.setting,
                    "source": r.source,
                    "cells": list(r.cells),
                    "positions": [list(p) for p in r.positions],
                }
                for r in self.results
            ],
            "safe_table": self.safe.as_rows() if self.safe else None,
            "notes": self.notes,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2)

    def to_text(self) -> str:
        verdict = (
            "PASS: may be requested as it is"
            if self.passed
            else "FAIL: request the safe version below"
            if self.releasable
            else "FAIL: not releasable; change the output"
        )
        lines = [f"{self.output} ({self.kind}, profile {self.profile}): {verdict}"]
        for r in self.results:
            mark = "pass" if r.passed else "FAIL"
            lines.append(f"  [{mark}] {r.rule}: {r.summary}  ({r.setting})")
            lines += [f"         - {cell}" for cell in r.cells[:20]]
            if len(r.cells) > 20:
                lines.append(f"         … and {len(r.cells) - 20} more")
        lines += [f"  note: {n}" for n in self.notes]
        if self.safe is not None and not self.passed:
            lines.append("  safe version:")
            rows = self.safe.as_rows()
            widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
            lines += [
                "    " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
                for row in rows
            ]
        return "\n".join(lines)

    def title(self) -> str:
        """The title a chart of this report gets when it is given none."""
        hidden = sum(int(g.hidden.sum()) for g in self.safe.grids) if self.safe else 0
        return f"{self.output}: {hidden} cell(s) suppressed (hatched)"

    def draw(self, path: Path, title: str | None = None, note: str | None = None) -> Path:
        """A heatmap of the safe table, one panel per count column, hidden cells hatched: a
        chart made from nothing but what the table publishes. PNG or SVG, by the suffix; the
        same report, title and ``note`` (kept in the file's metadata) draw the same bytes."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if self.safe is None:
            raise ValueError("this output has no table to draw")
        svg = path.suffix.lower() == ".svg"
        grids = self.safe.grids
        height, width = grids[0].values.shape
        with matplotlib.rc_context({"svg.hashsalt": "fivesafes", "svg.fonttype": "none"}):
            fig, axes = plt.subplots(
                1,
                len(grids),
                figsize=(min((3.5 + 0.8 * width) * len(grids), 18), min(2.5 + 0.45 * height, 14)),
                squeeze=False,
            )
            for ax, grid in zip(axes[0], grids, strict=True):
                _heatmap(fig, ax, grid)
            fig.suptitle(title or self.title())
            fig.tight_layout()
            metadata: dict[str, str | None] = {"Date": None} if svg else {}
            if note is not None:
                metadata["Description" if svg else "Comment"] = note
            fig.savefig(path, dpi=110, metadata=metadata, format="svg" if svg else "png")
            plt.close(fig)
        return path


def _heatmap(fig: Any, ax: Any, safe: SafeTable) -> None:
    """One grid as a heatmap, its hidden cells hatched and marked x, never coloured as zero."""
    from matplotlib.patches import Rectangle

    values = np.ma.masked_invalid(safe.values)
    height, width = values.shape
    # cells as vector shapes, not a raster: an SVG then holds no <image> a reviewer cannot read
    image = ax.pcolormesh(
        np.arange(width + 1) - 0.5, np.arange(height + 1) - 0.5, values, cmap="Blues"
    )
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    for i, j in np.argwhere(safe.hidden):
        ax.add_patch(
            Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#d5281b")
        )
    if width * height <= 400:
        middle = float(values.mean()) if values.count() else 0.0
        for i in range(height):
            for j in range(width):
                v = safe.values[i, j]
                ink = "white" if not math.isnan(v) and v > middle else "black"
                text = "x" if math.isnan(v) else _number(v)
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color=ink)
    ax.set_yticks(range(height), safe.rows.labels if height <= 60 else [""] * height)
    col_labels = safe.columns.labels if safe.columns else (safe.value_name,)
    ax.set_xticks(range(width), col_labels if width <= 40 else [""] * width, rotation=45)
    ax.set_ylabel(safe.rows.name)
    if safe.columns:
        ax.set_xlabel(safe.columns.name)
    ax.set_title(safe.value_name)
    bar = fig.colorbar(image, ax=ax, label=safe.value_name)
    if bar.solids is not None:
        bar.solids.set_rasterized(False)  # vector too, for the same reason
