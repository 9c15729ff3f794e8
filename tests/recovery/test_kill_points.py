"""Every failpoint in the code is a point some kill test kills at: a write added between the
ledger and the state cannot go untried."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from test_kill_approval import APPROVAL_POINTS
from test_kill_load import LOAD_POINTS
from test_kill_publish import PUBLISH_POINTS, RETURN_POINTS
from test_kill_submit import SUBMIT_POINTS

# the code lists' kill tests live beside their other tests (tests/environment), and the
# deletion's beside the operator's (tests/operate)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "environment"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "operate"))
from test_codelists_kill import CODELIST_POINTS
from test_dataset_deletion import POINTS as DELETION_POINTS
from test_library_kill import REUSE_POINTS

SRC = Path(__file__).resolve().parents[2] / "src" / "fivesafes"


def _failpoints() -> dict[str, list[str]]:
    """Each ``failpoint("name")`` call in the source, by name, with where it is."""
    found: dict[str, list[str]] = {}
    for file in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "failpoint"
            ):
                (argument,) = node.args
                assert isinstance(argument, ast.Constant), f"{file}: name a failpoint literally"
                found.setdefault(argument.value, []).append(f"{file.name}:{node.lineno}")
    return found


def test_every_failpoint_is_killed_at_by_a_test_and_named_once() -> None:
    found = _failpoints()
    assert {name: places for name, places in found.items() if len(places) > 1} == {}
    tested = {*LOAD_POINTS, *APPROVAL_POINTS, *PUBLISH_POINTS, *RETURN_POINTS, *SUBMIT_POINTS}
    tested |= set(CODELIST_POINTS) | set(REUSE_POINTS) | set(DELETION_POINTS)
    assert set(found) == tested
