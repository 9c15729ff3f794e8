"""The roles table in docs/security-model.md is the policy in code, word for word."""

from __future__ import annotations

from pathlib import Path

from fivesafes.governance import PERMISSIONS, Action, Role

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
