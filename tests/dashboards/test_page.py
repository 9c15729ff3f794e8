"""A project whose releases hold no monthly measure still gets a sound page listing them."""

from __future__ import annotations

from accessibility import audit

from fivesafes.dashboards import ReleasedTable
from fivesafes.dashboards.page import render_page


def test_released_tables_that_are_not_measures_are_listed_not_charted() -> None:
    rows = ({"age_band": "0-17", "with_asthma": "40", "population": "400"},)
    table = ReleasedTable("rel-9", "output/by_age.csv", "", "original", "", "", "", (), (), 3, rows)
    html = render_page("asthma", [], [table], "2026-01-01 00:00 UTC")
    assert "No monthly measures have been released." in html
    assert "<code>output/by_age.csv</code> (release <code>rel-9</code>)" in html
    assert "from 1 signed, verified release(s)" in html
    assert audit(html).problems() == []
