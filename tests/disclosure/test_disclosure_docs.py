"""The commands docs/disclosure-rules.md shows are run as written, on the files they name, and
say what the doc says they say (the `codes` example is run in tests/catalogue)."""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fivesafes.cli import app
from fivesafes.disclosure import safe

DOC = Path(__file__).resolve().parents[2] / "docs" / "disclosure-rules.md"
_CONSOLE = re.compile(r"```console\n(.*?)```", re.S)


def commands() -> list[list[str]]:
    return [
        shlex.split(line[2:])[1:]
        for block in _CONSOLE.findall(DOC.read_text())
        for line in block.splitlines()
        if line.startswith("$ fivesafes ")
    ]


def _study(root: Path) -> None:
    """The files the commands name, as a study's analysis writes them."""
    rng = np.random.default_rng(7)
    n = 400
    people = pa.table(
        {
            "age_band": rng.choice(["0-17", "18-64", "65+"], n),
            "sex": rng.choice(["F", "M"], n),
            "has_asthma": rng.random(n) < 0.2,
        }
    )
    people = people.append_column("no_asthma", pa.compute.invert(people["has_asthma"]))
    (root / "output").mkdir()
    with contextlib.chdir(root):
        counts = {"with_asthma": "has_asthma", "without_asthma": "no_asthma"}
        safe.crosstab(people, "age_band", "sex", profile="ons", counts=counts).write_csv(
            "output/asthma_by_age_sex.csv"
        )
    records = pa.table({"trust": ["A"] * 3 + ["B"] * 12, "cost": [100, 5, 1] + [10] * 12})
    pq.write_table(records, root / "output/records.parquet")
    (root / "output/costs.csv").write_text("trust,cost\nA,106\nB,120\n")
    (root / "output/table.csv").write_text("age_band,sex,count\n0-17,F,3\n0-17,M,25\n")


def test_the_doc_shows_the_check_output_commands() -> None:
    assert [c[0] for c in commands()] == ["check-output"] * 3


def test_every_command_runs_as_the_doc_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 0 when the file may go as it is, 1 when it breaks a rule; never 2 (unreadable)."""
    _study(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FIVESAFES_DATA_DIR", str(tmp_path / "no-environment-here"))
    runner = CliRunner()
    results = {words[1]: runner.invoke(app, words) for words in commands()}
    checked = results["output/asthma_by_age_sex.csv"]
    assert checked.exit_code == 0, checked.output  # the safe API's table passes as written
    assert "profile ons" in checked.output
    assert "differencing against earlier releases not checked" in " ".join(checked.output.split())
    costs = results["output/costs.csv"]
    assert costs.exit_code == 1 and "[FAIL] p_percent" in costs.output  # as the doc shows
    table = results["output/table.csv"]
    assert table.exit_code == 1
    assert orjson.loads(table.stdout)["rules"][0]["rule"] == "small_numbers"
    assert (tmp_path / "table.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
