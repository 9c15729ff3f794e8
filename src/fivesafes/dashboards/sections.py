"""What every decision-maker section of the dashboard shares: finding its released tables,
reading their counts (a suppressed count is ``None``, never a zero), writing its figures beside
the page, and rendering itself with the provenance of every table it used.

A section is drawn only from released tables, recognised by their file names (documented in
``docs/dashboards.md``); tables a section uses are not listed again as "other tables".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path

from matplotlib.figure import Figure

from fivesafes.dashboards.released import ReleasedTable
from fivesafes.stats import save_figure

FIGURES = "figures"


@dataclass(frozen=True)
class Figured:
    """A figure written beside the page, with its description."""

    src: str
    alt: str

    def html(self) -> str:
        return (
            f'<figure><img src="{escape(self.src)}" alt="{escape(self.alt)}">'
            f"<figcaption>{escape(self.alt)}</figcaption></figure>"
        )


@dataclass(frozen=True)
class Section:
    """One decision-maker analysis on the page: its HTML (figures, tables, words) and the
    released tables it was drawn from."""

    key: str
    title: str
    parts: tuple[str, ...]
    tables: tuple[ReleasedTable, ...]
    figures: tuple[Figured, ...] = field(default=())


def count(text: str | None) -> float | None:
    """A released count, or None when it was suppressed (any redaction mark or a blank)."""
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def by_stem(tables: Iterable[ReleasedTable]) -> dict[str, ReleasedTable]:
    """The latest released version of each table, by file name without its suffix."""
    found: dict[str, ReleasedTable] = {}
    for table in tables:
        found[table.stem] = table  # oldest first, so the latest wins
    return found


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "figure"


def write_figure(fig: Figure, out: Path, name: str) -> Figured:
    """Save ``fig`` as an SVG under ``out/figures`` and return how the page shows it."""
    (out / FIGURES).mkdir(parents=True, exist_ok=True)
    path = save_figure(fig, out / FIGURES / f"{slug(name)}.svg")
    return Figured(f"{FIGURES}/{path.name}", str(fig.get_label()))


def table_html(caption: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A captioned table with scoped headers; the first cell of each row is its header."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join(
        f'<tr><th scope="row">{escape(r[0])}</th>'
        + "".join(f"<td>{escape(c)}</td>" for c in r[1:])
        + "</tr>"
        for r in rows
    )
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def period(text: str) -> tuple[date, date]:
    """A released period label ``YYYY-MM-DD/YYYY-MM-DD`` (first and last day), as dates."""
    try:
        first, last = (date.fromisoformat(t) for t in text.split("/"))
    except ValueError:
        raise ValueError(f"period {text!r} is not YYYY-MM-DD/YYYY-MM-DD") from None
    return first, last


def number(value: float | None, places: int = 1) -> str:
    return "not published" if value is None else f"{value:,.{places}f}"
