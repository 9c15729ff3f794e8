"""Accounts and tokens: who may create them, hashing, revocation, expiry, and the ledger trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from governance_support import ManualClock, World, account
from sqlalchemy import select

from fivesafes.governance import (
    AccessDenied,
    ControlPlane,
    Role,
    change_account,
    create_account,
    issue_token,
    list_accounts,
    revoke_token,
    whoami,
)
from fivesafes.governance.identity import hash_token
from fivesafes.governance.tables import Token


def ledger_records(cp: ControlPlane, kind: str) -> list[dict[str, Any]]:
    return [r for r in map(orjson.loads, cp.ledger.entries()) if r["kind"] == kind]


def test_the_first_account_must_be_a_custodian_and_only_the_first_needs_no_credential(
    cp: ControlPlane,
) -> None:
    today = cp.today()
    with pytest.raises(AccessDenied, match="data custodian"):
        create_account(cp, None, account("ann", Role.ANALYST, today=today))
    World.start(cp)
    with pytest.raises(AccessDenied, match="first account"):
        create_account(cp, None, account("eve", Role.DATA_CUSTODIAN, today=today))


def test_only_a_custodian_creates_accounts(cp: ControlPlane) -> None:
    world = World.start(cp)
    analyst = world.add("ann", Role.ANALYST)
    with pytest.raises(AccessDenied, match="may not manage accounts"):
        create_account(cp, analyst, account("bob", Role.ANALYST, today=cp.today()))
    assert whoami(cp, analyst).person_id == "ann"


def test_tokens_are_stored_only_as_their_sha256(cp: ControlPlane) -> None:
    world = World.start(cp)
    token = world.tokens["cus"]
    with cp.transaction() as session:
        stored = session.scalars(select(Token.token_hash)).all()
    assert stored == [hash_token(token)]
    assert token not in str(stored)
    assert len(token) > 40


def test_a_revoked_token_stops_working_at_once_but_others_still_do(cp: ControlPlane) -> None:
    world = World.start(cp)
    first = world.add("ann", Role.ANALYST)
    second = issue_token(cp, first)
    revoke_token(cp, first, whoami(cp, first).token_id or "")
    with pytest.raises(AccessDenied, match="revoked"):
        whoami(cp, first)
    assert whoami(cp, second.token).person_id == "ann"


def test_analysts_cannot_revoke_tokens_of_others_and_nobody_issues_them(cp: ControlPlane) -> None:
    world = World.start(cp)
    ann, bob = world.add("ann", Role.ANALYST), world.add("bob", Role.ANALYST)
    with pytest.raises(AccessDenied):
        revoke_token(cp, ann, whoami(cp, bob).token_id or "")
    assert issue_token(cp, world.tokens["cus"]).person_id == "cus"  # one's own, even a custodian
    with pytest.raises(TypeError):
        issue_token(cp, world.tokens["cus"], "bob")  # type: ignore[misc]
    revoke_token(cp, world.tokens["cus"], whoami(cp, bob).token_id or "")


def test_tokens_expire_and_never_outlive_their_account(
    cp: ControlPlane, clock: ManualClock
) -> None:
    world = World.start(cp)
    ann = world.add("ann", Role.ANALYST, days=10)
    long_lived = issue_token(cp, ann, lifetime=timedelta(days=100))
    assert long_lived.expires_at <= clock.now + timedelta(days=10)
    short = issue_token(cp, ann, lifetime=timedelta(hours=1))
    clock.advance(2 * 3600)
    with pytest.raises(AccessDenied, match="expired"):
        whoami(cp, short.token)
    assert whoami(cp, ann).person_id == "ann"
    clock.advance(11 * 86400)
    with pytest.raises(AccessDenied, match="expired"):
        whoami(cp, long_lived.token)


def test_lapsed_accreditation_and_disabling_stop_an_account(
    cp: ControlPlane, clock: ManualClock
) -> None:
    world = World.start(cp)
    ann = world.add("ann", Role.ANALYST, accredited_until=cp.today() + timedelta(days=2))
    bob = world.add("bob", Role.ANALYST)
    clock.advance(3 * 86400)
    with pytest.raises(AccessDenied, match="accreditation lapsed"):
        whoami(cp, ann)
    change_account(cp, world.tokens["cus"], "bob", disable=True)
    with pytest.raises(AccessDenied, match="disabled"):
        whoami(cp, bob)
    usable = {a.person_id: a.usable for a in list_accounts(cp, world.tokens["cus"])}
    assert usable["cus"] == "yes"
    assert "lapsed" in usable["ann"] and "disabled" in usable["bob"]


def test_role_changes_take_effect_on_the_next_call(cp: ControlPlane) -> None:
    world = World.start(cp)
    ann = world.add("ann", Role.ANALYST)
    with pytest.raises(AccessDenied):
        list_accounts(cp, ann)
    change_account(cp, world.tokens["cus"], "ann", roles=frozenset({Role.DATA_CUSTODIAN}))
    assert len(list_accounts(cp, ann)) == 2


def test_account_changes_and_every_token_use_are_in_the_ledger(cp: ControlPlane) -> None:
    world = World.start(cp)
    ann = world.add("ann", Role.ANALYST)
    with pytest.raises(AccessDenied):
        list_accounts(cp, ann)
    with pytest.raises(AccessDenied):
        whoami(cp, "fst_not-a-token")
    changes = [
        (r["subject"]["person_id"], r["subject"]["change"]) for r in ledger_records(cp, "account")
    ]
    assert changes == [
        (person, change)
        for person in ("cus", "ann")
        for change in ("created", "enrolment_code_issued", "enrolled", "token_issued")
    ]
    logins = [(r["actor"], r["subject"]["outcome"]) for r in ledger_records(cp, "login")]
    assert logins[-2:] == [
        ("ann", "refused: ann may not manage accounts: it needs the data_custodian role"),
        ("unknown", "refused: unknown token"),
    ]
    assert all(ann not in str(r) for r in map(orjson.loads, cp.ledger.entries()))
    assert cp.ledger.verify().ok


def test_bad_account_details_are_refused_with_reasons(cp: ControlPlane) -> None:
    world = World.start(cp)
    today = cp.today()
    bad = [
        (account("Not An Id", Role.ANALYST, today=today), "person id"),
        (account("ann", today=today), "role"),
        (account("ann", Role.ANALYST, today=today, days=0), "expiry"),
    ]
    for spec, reason in bad:
        with pytest.raises(ValueError, match=reason):
            create_account(cp, world.tokens["cus"], spec)
