"""The roles tables in docs/security-model.md are the policy in code, word for word."""

from __future__ import annotations

from pathlib import Path

from fivesafes.governance import PERMISSIONS, Action, Role
from fivesafes.governance.roles import INCOMPATIBLE

DOC = Path(__file__).resolve().parents[2] / "docs" / "security-model.md"


def documented_permissions() -> dict[str, set[str]]:
    lines = DOC.read_text().splitlines()
    start = lines.index("| action | roles |")
    table: dict[str, set[str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        action, roles = (cell.strip() for cell in line.strip("|").split("|"))
        table[action] = {r.strip() for r in roles.split(",")}
    return table


def test_the_documented_roles_table_is_the_policy() -> None:
    in_code = {a.value: {r.value for r in roles} for a, roles in PERMISSIONS.items()}
    assert documented_permissions() == in_code


def test_every_action_has_a_rule_and_every_role_can_at_least_manage_its_own_tokens() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert PERMISSIONS[Action.ISSUE_OWN_TOKEN] == frozenset(Role)


def documented_incompatible() -> dict[frozenset[str], str]:
    lines = DOC.read_text().splitlines()
    start = lines.index("| roles | why no one person may hold both |")
    table: dict[frozenset[str], str] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        pair, why = (cell.strip() for cell in line.strip("|").split("|"))
        first, second = (r.strip() for r in pair.split("+"))
        others = (
            [r.value for r in Role if r.value != first] if second == "any other role" else [second]
        )
        table |= {frozenset({first, other}): why for other in others}
    return table


def test_the_documented_roles_no_one_may_combine_are_the_policy() -> None:
    in_code = {frozenset(r.value for r in pair): why for pair, why in INCOMPATIBLE.items()}
    assert documented_incompatible() == in_code
