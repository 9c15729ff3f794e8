"""An expired, revoked, disabled or lapsed credential can do nothing, whatever it tries."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from governance_support import ManualClock, World, account, application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import fivesafes.governance as governance
from fivesafes.governance import (
    AccessDenied,
    Action,
    ConsentScope,
    ControlPlane,
    OptOutKind,
    Role,
    Verdict,
    add_opt_out,
    authorise_job,
    authorise_on_any_project,
    authorise_project_member,
    change_account,
    create_account,
    decide,
    invite,
    issue_token,
    link_account,
    list_accounts,
    load_opt_outs,
    opt_out_report,
    register_client,
    register_key,
    revise_project,
    revoke_key,
    revoke_token,
    set_wearable_consent,
    submit_project,
    whoami,
)
from fivesafes.governance.tables import Base

DAY = 86400
BAD_ROLES = (Role.APPROVER, Role.OUTPUT_CHECKER)
"""What the holders of bad credentials hold: roles one person may combine, both deciders (so each
registers a key); an account's own problem is refused before its roles are even looked at."""
NHS_NUMBER = "9434765919"


@dataclass(frozen=True)
class Bad:
    """The bad credentials, a decision key their holders registered, a file to load."""

    tokens: dict[str, str]
    key: Ed25519PrivateKey
    folder: Path


Operation = Callable[[ControlPlane, str, Bad], object]

OPERATIONS: dict[str, Operation] = {
    "create_account": lambda cp, t, b: create_account(
        cp, t, account("new", Role.ANALYST, today=cp.today())
    ),
    "issue_token": lambda cp, t, b: issue_token(cp, t),
    "invite": lambda cp, t, b: invite(cp, t, "ann"),
    "revoke_key": lambda cp, t, b: revoke_key(cp, t, "some-key"),
    "revoke_token": lambda cp, t, b: revoke_token(cp, t, "custodian-token"),
    "change_account": lambda cp, t, b: change_account(cp, t, "ann", disable=True),
    "register_key": lambda cp, t, b: register_key(cp, t, Ed25519PrivateKey.generate().public_key()),
    "submit_project": lambda cp, t, b: submit_project(cp, t, "fresh", application("ann")),
    "revise_project": lambda cp, t, b: revise_project(cp, t, "asked", application("ann")),
    "decide": lambda cp, t, b: decide(cp, t, "waiting", Verdict.REJECT, "no", b.key),
    "authorise_job": lambda cp, t, b: authorise_job(cp, t, "running", ["patients"]),
    "authorise_on_any_project": lambda cp, t, b: authorise_on_any_project(
        cp, t, Action.BUILD_CODELISTS
    ),
    "authorise_project_member": lambda cp, t, b: authorise_project_member(
        cp, t, "running", Action.REQUEST_RELEASE
    ),
    "load_opt_outs": lambda cp, t, b: load_opt_outs(cp, t, b.folder / "opt-outs.csv"),
    "add_opt_out": lambda cp, t, b: add_opt_out(cp, t, NHS_NUMBER, OptOutKind.NATIONAL),
    "set_consent": lambda cp, t, b: set_wearable_consent(
        cp, t, NHS_NUMBER, ConsentScope.RESEARCH, True
    ),
    "opt_out_report": lambda cp, t, b: opt_out_report(cp, t),
    "list_accounts": lambda cp, t, b: list_accounts(cp, t),
    "whoami": lambda cp, t, b: whoami(cp, t),
    "link_account": lambda cp, t, b: link_account(cp, t, "ann", ods_code="A81001"),
    "register_client": lambda cp, t, b: register_client(cp, t, "gp-system", "ann", "system/*.rs"),
}
REASONS = {
    "account_expired": "account exp expired",
    "accreditation_lapsed": "accreditation lapsed",
    "disabled": "account dis is disabled",
    "token_revoked": "revoked",
    "token_expired": "token .* expired",
}


def snapshot(cp: ControlPlane) -> tuple[dict[str, int], list[bytes]]:
    """Row counts of every table, and every ledger entry except logins (which record attempts)."""
    with cp.transaction() as session:
        counts = {
            name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
            if not name.startswith("ledger_")  # compared below, without the logins
        }
    entries = [e for e in cp.ledger.entries() if orjson.loads(e)["kind"] != "login"]
    return counts, entries


@pytest.fixture
def bad(cp: ControlPlane, clock: ManualClock, tmp_path: Path) -> Bad:
    """People holding deciders' roles, each with a credential gone bad in a different way.

    Built while everything is valid (so each has a key and projects exist to act on), then the
    clock moves on 20 days, past the short expiries. The expired account's expiry is brought
    forward after its token was issued, so its token is still in date and the account check alone
    must stop it (a new token never outlives its account).
    """
    world = World.start(cp)
    world.add("ann", Role.ANALYST)
    world.add("val", Role.APPROVER)
    (tmp_path / "opt-outs.csv").write_text(f"{NHS_NUMBER},type1\n")
    bad = {
        "account_expired": world.add("exp", *BAD_ROLES),
        "accreditation_lapsed": world.add(
            "lap", *BAD_ROLES, accredited_until=cp.today() + timedelta(days=5)
        ),
        "disabled": world.add("dis", *BAD_ROLES),
        "token_revoked": world.add("rev", *BAD_ROLES),
    }
    short = issue_token(cp, world.add("tok", *BAD_ROLES), lifetime=timedelta(days=3))
    bad["token_expired"] = short.token
    cus, val, ann = world.tokens["cus"], world.tokens["val"], world.tokens["ann"]
    submit_project(cp, ann, "waiting", application("ann"))
    submit_project(cp, ann, "asked", application("ann"))
    submit_project(cp, ann, "running", application("ann", "exp", "lap", "dis", "rev", "tok"))
    decide(cp, val, "asked", Verdict.REQUEST_CHANGES, "more", world.keys["val"])
    decide(
        cp,
        val,
        "running",
        Verdict.APPROVE,
        "ok",
        world.keys["val"],
        cp.today() + timedelta(days=90),
    )
    change_account(cp, cus, "dis", disable=True)
    change_account(cp, cus, "exp", expires_on=cp.today() + timedelta(days=10))
    revoke_token(cp, bad["token_revoked"], whoami(cp, bad["token_revoked"]).token_id or "")
    clock.advance(20 * DAY)
    for person in ("cus", "ann", "val"):
        world.tokens[person] = issue_token(cp, world.tokens[person]).token
    return Bad(bad, world.keys["exp"], tmp_path)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    how=st.sampled_from(sorted(REASONS)),
    operation=st.sampled_from(sorted(OPERATIONS)),
)
def test_property_a_bad_credential_can_do_nothing(
    cp: ControlPlane, bad: Bad, how: str, operation: str
) -> None:
    """Refused for the credential's own fault, with nothing stored and nothing logged but that."""
    before = snapshot(cp)
    with pytest.raises(AccessDenied, match=REASONS[how]):
        OPERATIONS[operation](cp, bad.tokens[how], bad)
    assert snapshot(cp) == before


def test_every_operation_is_in_the_property() -> None:
    """A new credentialed operation must join OPERATIONS, or the property above misses it."""
    credentialed = {
        name
        for name in governance.__all__
        if inspect.isfunction(obj := getattr(governance, name))
        and "credential" in inspect.signature(obj).parameters
    }
    named = {n if n != "set_consent" else "set_wearable_consent" for n in OPERATIONS}
    assert credentialed == named
