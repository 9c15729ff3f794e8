"""Reading the portal's pages as a visitor does: its links, its tables' cells, and the
commands its ledger page asks the public to run."""

from __future__ import annotations

import html
import re

PAGES = (
    "/",
    "/projects",
    "/projects/heat",
    "/projects/falls-audit",
    "/releases",
    "/ledger",
    "/catalogue",
    "/catalogue/patients",
    "/dashboards",
)
"""Every kind of public page, as the tests visit them."""


def links(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a [^>]*href="([^"]+)"', page)]


def commands(page: str) -> list[str]:
    """The text of each command block the page shows, as a visitor would copy it."""
    blocks = re.findall(
        r'<pre [^>]*class="[^"]*portal-command[^"]*"[^>]*><code>(.*?)</code>', page, re.S
    )
    return [html.unescape(b) for b in blocks]


def row_cells(page: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell holds ``first_cell``, as text."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row starting {first_cell!r}")
