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


def test_the_test_patients_example_runs_as_shown(tmp_path, request) -> None:
    """The first example's study, with the test patients under it, gives the output the doc
    shows for ``fivesafes test study.py`` (on every engine with Spark; else on the others)."""
    from typer.testing import CliRunner

    import fivesafes.cli.assure  # noqa: F401  (registers the command)
    from fivesafes.cli.common import app
    from spark_switch import RUN_SPARK

    text = DOC.read_text()
    study = text.split("```python\n", 1)[1].split("```")[0]
    patients = text.split("```python\ntest_patients = ", 1)[1].split("```")[0]
    shown = text.split("```\n$ fivesafes test study.py\n", 1)[1].split("```")[0]
    (tmp_path / "codelists").mkdir()
    (tmp_path / "codelists" / "asthma.csv").write_text("code,term\n195967001,Asthma\n")
    (tmp_path / "study.py").write_text(study + "\ntest_patients = " + patients)
    engines = [] if RUN_SPARK else ["--engine", "reference", "--engine", "duckdb"]
    if RUN_SPARK:
        request.getfixturevalue("spark_session")  # the one shared session
    result = CliRunner().invoke(app, ["test", "study.py", *engines])
    expected = shown if RUN_SPARK else shown.replace(", spark", "")
    assert result.exit_code == 1
    assert result.output == expected
