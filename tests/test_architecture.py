"""The one-way flow of DESIGN.md, checked on the code: each stage imports only from stages to
its left (and the cross-cutting ones it is allowed); the environment layer, which owns the use
cases, may call every stage but no face; and the faces sit above it all."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fivesafes"
TESTS = Path(__file__).resolve().parent

FLOW = ("model", "ingest", "store", "query", "jobs", "disclosure", "release", "dashboards")
CROSS_CUTTING: dict[str, set[str]] = {
    # stage: what it may import besides model
    "ledger": set(),
    "stats": set(),
    "synth": set(),
    "catalogue": {"store"},
    "governance": {"store", "ledger"},
}
FACES = {"cli", "api", "web"}
ENVIRONMENT = "environment"


def allowed(stage: str) -> set[str]:
    if stage == ENVIRONMENT:
        return {p.name for p in SRC.iterdir() if p.is_dir()} - FACES - {ENVIRONMENT}
    if stage in FLOW:
        left = set(FLOW[: FLOW.index(stage)])
        # the stages right of the store run under governance and write to the ledger
        extra = {"governance", "ledger"} if FLOW.index(stage) > FLOW.index("jobs") else set()
        extra |= {"stats"} if stage == "dashboards" else set()
        return left | extra
    return {"model", *CROSS_CUTTING[stage]}


def imported_stages(package: Path) -> set[str]:
    found: set[str] = set()
    for file in package.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "fivesafes" and len(parts) > 1:
                    found.add(parts[1])
    return found - {package.name}


def test_every_stage_imports_only_from_its_left() -> None:
    stages = [p for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    wrong = {}
    for package in stages:
        if package.name in FACES:
            continue
        known = {p.name for p in stages} | {"tables"}
        bad = (imported_stages(package) & known) - allowed(package.name) - {"tables"}
        if bad:
            wrong[package.name] = sorted(bad)
    assert wrong == {}, f"arrows against the flow: {wrong}"


def test_test_modules_have_unique_names() -> None:
    """pytest imports test modules by file name: two with one name break collection."""
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
