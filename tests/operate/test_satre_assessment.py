"""The SATRE self-assessment cannot go stale: every mandatory requirement of the standard's own
file is assessed, the page is what the data says, every command and doc section named exists,
and every test a *satisfied* requirement names exists and passed — in this same run when the
run includes it (this test runs last, see ``conftest.py``; a parallel run reads its report, see
``satre_evidence``), else run here and now."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from satre_evidence import junit_outcomes, this_run

from fivesafes.cli import app, load_every_command

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import gen_satre  # noqa: E402

SPEC = gen_satre.specification()
ROWS = gen_satre.assessment()
BY_ID = {r["id"]: r for r in ROWS}


def test_every_mandatory_requirement_is_assessed_once() -> None:
    assert len(BY_ID) == len(ROWS), "a requirement is assessed twice"
    assert set(BY_ID) <= set(SPEC), sorted(set(BY_ID) - set(SPEC))
    mandatory = {i for i, r in SPEC.items() if r.mandatory}
    assert mandatory <= set(BY_ID), sorted(mandatory - set(BY_ID))
    for row in ROWS:
        assert row["scope"] in gen_satre.SCOPES, row["id"]
        if row["scope"] == "software":
            assert row["score"] in gen_satre.SCORES, row["id"]
            if row["score"] == "satisfied":
                assert row.get("tests") and not row.get("gap"), row["id"]
            else:
                assert row.get("gap"), f"{row['id']}: say what is missing"
        else:
            assert row.get("reason") and "score" not in row, row["id"]


def test_the_count_of_software_relevant_mandatory_requirements_is_fifty() -> None:
    scored = gen_satre.counts(SPEC, ROWS)
    assert sum(scored.values()) == 50  # the frame issue 15 and its reviewers use


def test_the_page_is_generated_from_the_data() -> None:
    assert (REPO / "docs" / "satre-assessment.md").read_text() == gen_satre.page()


def _commands() -> set[str]:
    load_every_command()  # the group imports a command's module only when asked for it
    group = typer.main.get_command(app)
    names: set[str] = set()

    def walk(command: object, prefix: str) -> None:
        names.add(prefix.strip())
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{prefix} {name}")

    walk(group, "")
    return names


def _anchors(markdown: str) -> set[str]:
    slugs = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            slugs.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return slugs


def test_every_command_and_doc_section_named_exists() -> None:
    commands = _commands()
    for row in ROWS:
        for command in row.get("commands", []):
            assert command in commands, f"{row['id']}: no command `fivesafes {command}`"
        for doc in row.get("docs", []):
            path, _, anchor = doc.partition("#")
            text = (REPO / path).read_text()
            assert not anchor or anchor in _anchors(text), f"{row['id']}: no section {doc}"


def _evidence() -> dict[str, list[str]]:
    """Each test named by a satisfied requirement, and the requirements naming it."""
    named: dict[str, list[str]] = {}
    for row in ROWS:
        if row.get("score") == "satisfied":
            for test in row["tests"]:
                named.setdefault(test, []).append(row["id"])
    return named


def _matches(test: str, nodeids: set[str] | dict[str, object]) -> list[str]:
    return [n for n in nodeids if n == test or n.startswith(test + "[")]


def _run_elsewhere(tests: list[str], tmp_path: Path) -> dict[str, str]:
    """Run ``tests`` in a pytest of their own; each node id's outcome."""
    report = tmp_path / "evidence.xml"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
         *tests],
        cwd=REPO, env=env, capture_output=True, check=False,
    )  # fmt: skip
    return junit_outcomes(report)


def test_every_satisfied_requirement_s_tests_exist_and_pass(tmp_path: Path) -> None:
    named = _evidence()
    in_run, outcomes_here = this_run()
    here = {t for t in named if _matches(t, in_run)}
    problems = []
    for test in sorted(here):
        for nodeid in _matches(test, in_run):
            phases = outcomes_here.get(nodeid, [])
            if not phases or any(p != "passed" for p in phases):
                problems.append(f"{nodeid} ({', '.join(named[test])}): {phases or 'not run'}")
    elsewhere = sorted(set(named) - here)
    if elsewhere:
        outcomes = _run_elsewhere(elsewhere, tmp_path)
        for test in elsewhere:
            found = _matches(test, outcomes)
            if not found:
                problems.append(f"{test} ({', '.join(named[test])}): no such test")
            problems += [
                f"{n} ({', '.join(named[test])}): {outcomes[n]}"
                for n in found
                if outcomes[n] != "passed"
            ]
    assert problems == [], "satisfied requirements whose evidence does not hold"


@pytest.mark.parametrize("score", ["partly", "not"])
def test_unmet_requirements_say_what_is_missing(score: str) -> None:
    for row in ROWS:
        if row.get("score") == score:
            assert len(row["gap"]) > 20, row["id"]
