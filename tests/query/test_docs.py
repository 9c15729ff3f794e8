"""Every example in docs/language.md runs and gives exactly the table printed under it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from harness import run

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
_EXAMPLE = re.compile(r"```python\n(rows = (?:(?!```).)*?)```\n\n((?:\|[^\n]*\|\n)+)", re.S)


def _examples() -> list[tuple[str, str]]:
    return _EXAMPLE.findall(DOC.read_text())


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _table(markdown: str) -> list[list[str]]:
    lines = [line.strip().strip("|").split("|") for line in markdown.strip().splitlines()]
    return [[cell.strip() for cell in line] for i, line in enumerate(lines) if i != 1]


def test_the_doc_has_an_example_per_operation() -> None:
    assert len(_examples()) >= 11


@pytest.mark.parametrize("code, expected", _examples(), ids=lambda x: "")
def test_doc_example(engine_for, code: str, expected: str) -> None:
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    rows = run(engine_for(namespace["rows"]), namespace["dataset"])
    table = _table(expected)
    assert all(list(r) == table[0] for r in rows)
    assert [[_text(v) for v in r.values()] for r in rows] == table[1:]


def test_the_measures_example_builds() -> None:
    code = DOC.read_text().split("```python\nfrom fivesafes import INTERVAL")[1].split("```")[0]
    namespace: dict = {}
    exec("from fivesafes import INTERVAL" + code, namespace)
    (measure,) = namespace["measures"].query().measures
    assert len(measure.intervals) == 12
