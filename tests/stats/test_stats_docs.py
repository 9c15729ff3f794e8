"""docs/statistics.md's example of the decision makers' analyses runs as written, and says
what it computes; every picture the page shows is one the gallery draws."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).parents[2] / "docs" / "statistics.md"
SECTION = "## Planning, evaluation and safety"


def _section_code() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + 1)
    (code,) = re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)
    return str(code)


def test_the_planning_example_runs_and_finds_what_it_says() -> None:
    scope: dict[str, Any] = {}
    exec(compile(_section_code(), str(DOC), "exec"), scope)  # our own doc
    index, its, path, summary = (scope[k] for k in ("index", "its", "path", "summary"))
    assert index.sii < 0 and index.rii < 1  # fewer events among the less deprived
    assert its.level_change.value == pytest.approx(-4)
    assert its.slope_change.value == pytest.approx(0, abs=1e-9)
    assert path.signals and min(path.signals) >= 30  # only once the excess begins
    assert summary.target_queue_size == pytest.approx(100 * 18 / 4)
    assert scope["funnel"].phi > 0 and len(scope["funnel"].organisations) == 4
    assert len(scope["sim"].weeks) == 52 and scope["projection"].final_gap > 0
    profile, groups = scope["profile"], scope["groups"]
    assert profile.level == "icb" and profile.local_area == "E54000048"
    assert [(r.area, r.verdict) for r in profile.rows] == [("E54000008", "Better"),
                                                           ("E54000048", "Worse")]  # fmt: skip
    assert [g.group for g in groups.groups][:2] == ["Asian or Asian British", "Not stated"]
    assert groups.groups[0].value.value == pytest.approx(20.0)
    assert groups.groups[1].value.value is None and groups.total.value.value is None


def test_every_picture_on_the_page_is_in_the_repository() -> None:
    text = DOC.read_text(encoding="utf-8")
    pictures = re.findall(r"\]\((images/(?:stats|dashboards)/[^)]+)\)", text)
    screenshots = {"images/dashboards/discharge.png", "images/dashboards/board-profile.png"}
    assert {"images/stats/spine.png", *screenshots} <= set(pictures)
    missing = [p for p in pictures if not (DOC.parent / p).is_file()]
    assert missing == []
