"""Separation of duties holds per person, and credentials reach only their own person.

Each test is an attack from issue 18, hole 5, as a custodian or analyst would try it: an account
holding custodian and approver roles that approves a project; a custodian keeping the token of
the account they made; a third output checker reading the first two votes (in tests/release).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from environment_support import People, address, outbox_code, person
from sqlalchemy import insert

from fivesafes.environment import Environment, RefusalKind, Refused, accounts, projects
from fivesafes.governance import INCOMPATIBLE, Role, Verdict
from fivesafes.governance.tables import AccountRole
from governance.governance_support import application
from ledger.ledger_support import ManualClock


def _refusals(env: Environment) -> list[dict[str, object]]:
    return [
        e["subject"] | {"actor": e["actor"]}
        for e in map(orjson.loads, env.cp.ledger.entries())
        if e["kind"] == "refusal"
    ]


@pytest.mark.parametrize(
    "pair", sorted(INCOMPATIBLE, key=sorted), ids=lambda p: "+".join(sorted(p))
)
def test_no_account_is_made_with_roles_no_one_may_combine(people: People, pair) -> None:
    with pytest.raises(Refused, match="no one person may be both") as refused:
        accounts.create(people.env, people.tokens["cus"], person("dual", *pair))
    assert refused.value.kind is RefusalKind.FORBIDDEN
    (logged,) = _refusals(people.env)
    assert (logged["actor"], logged["action"]) == ("cus", "create_account")
    assert not list((people.env.data_dir.root / "outbox").glob("*dual*"))


def test_no_account_is_changed_into_such_roles(people: People) -> None:
    people.add("val", Role.APPROVER)
    with pytest.raises(Refused, match="both approver and data_custodian"):
        accounts.change(
            people.env,
            people.tokens["cus"],
            "val",
            roles=frozenset({Role.APPROVER, Role.DATA_CUSTODIAN}),
        )
    assert accounts.whoami(people.env, people.tokens["val"]).roles == {Role.APPROVER}


def test_nobody_changes_their_own_account(people: People) -> None:
    env = people.env
    with pytest.raises(Refused, match="no one changes their own account"):
        accounts.change(
            env, people.tokens["cus"], "cus", expires_on=env.cp.today() + timedelta(days=9999)
        )


def test_a_combination_slipped_into_the_database_can_do_nothing(people: People) -> None:
    """Made around the checks (an edit to the database): refused at every use, and logged."""
    token = people.add("val", Role.APPROVER)
    with people.env.cp.engine.begin() as connection:
        connection.execute(insert(AccountRole).values(person_id="val", role="data_custodian"))
    with pytest.raises(Refused, match="holds roles that no one person may be both"):
        accounts.whoami(people.env, token)
    assert _refusals(people.env)[-1]["action"] == "whoami"


def test_an_approver_does_not_decide_a_project_they_are_on(people: People, tmp_path) -> None:
    env = people.env
    people.add("ann", Role.ANALYST)
    people.add("val", Role.APPROVER)
    projects.apply(env, people.tokens["ann"], "heat", application("ann", "val"))
    with pytest.raises(Refused, match="conflict: on project heat"):
        projects.decision(
            env, people.tokens["val"], "heat", Verdict.REJECT, "no", people.keys["val"]
        )
    assert _refusals(env)[-1] == {
        "action": "decide_project",
        "kind": "forbidden",
        "reason": "conflict: on project heat",
        "actor": "val",
        "token_id": accounts.whoami(env, people.tokens["val"]).token_id,
    }


def test_the_creator_of_an_account_never_holds_its_credentials(people: People) -> None:
    env = people.env
    made = accounts.create(env, people.tokens["cus"], person("ann", Role.ANALYST))
    assert "fse_" not in str(made) and "fst_" not in str(made)
    assert made.delivered_to.startswith("a***@example.org")
    (mail,) = (env.data_dir.root / "outbox").glob("*ann*")
    assert mail.stat().st_mode & 0o777 == 0o600
    assert f"To: {address('ann')}" in mail.read_text()
    code = outbox_code(env.data_dir.root, address("ann"))
    issued = accounts.enrol(env, code)
    assert issued.person_id == "ann"
    with pytest.raises(Refused, match="already used"):
        accounts.enrol(env, code)
    with pytest.raises(Refused, match="unknown enrolment code"):
        accounts.enrol(env, "fse_guessed")
    assert [r["action"] for r in _refusals(env)] == ["enrol", "enrol"]


def test_an_enrolment_code_is_short_lived_and_a_new_one_replaces_it(people: People) -> None:
    env = people.env
    accounts.create(env, people.tokens["cus"], person("ann", Role.ANALYST))
    first = outbox_code(env.data_dir.root, address("ann"))
    accounts.invite(env, people.tokens["cus"], "ann")
    second = outbox_code(env.data_dir.root, address("ann"))
    assert first != second
    with pytest.raises(Refused, match="already used or replaced"):
        accounts.enrol(env, first)
    clock = ManualClock()
    clock.now = datetime.now(UTC)
    env.cp.clock = clock
    clock.advance(25 * 3600)
    with pytest.raises(Refused, match="expired"):
        accounts.enrol(env, second)
