"""Safe people over their lifetime, under the standard access policy: no second factor, no
identity check, no accreditation, no training (or lapsed), no terms accepted — each refused by
name, and each refusal a ``login`` entry in the ledger."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from operate_support import TERMS, People, current_code

from fivesafes.governance import AccessDenied, ControlPlane, Role, whoami
from fivesafes.governance.mfa import reset_second_factor, set_up_totp, sign_in
from fivesafes.governance.onboarding import accept_terms, record_training
from fivesafes.governance.people import AccessPolicy, Terms
from fivesafes.governance.projects import list_projects
from fivesafes.governance.roles import Action
from fivesafes.ledger import Ledger

INTERACTIVE = [r for r in Role]


def last_login(ledger: Ledger) -> dict[str, str]:
    logins = [json.loads(e) for e in ledger.entries()]
    return [e["subject"] for e in logins if e["kind"] == "login"][-1]


@pytest.mark.parametrize("role", INTERACTIVE)
def test_sign_in_without_the_second_factor_is_refused_for_every_role(
    cp: ControlPlane, role: Role
) -> None:
    people = People.start(cp)
    people.add("someone", role)
    with pytest.raises(AccessDenied, match="must sign in with a second factor"):
        whoami(cp, people.first["someone"])
    assert last_login(cp.ledger)["outcome"].startswith("refused: someone must sign in")
    assert whoami(cp, people.tokens["someone"]).person_id == "someone"


def test_a_wrong_replayed_or_stale_code_does_not_sign_in(cp: ControlPlane) -> None:
    people = People.start(cp)
    people.add("ann", Role.ANALYST)
    first, secret = people.first["ann"], people.secrets["ann"]
    with pytest.raises(AccessDenied, match="wrong"):
        sign_in(cp, first, "000000" if current_code(cp, secret) != "000000" else "111111")
    cp.clock.advance(30)  # type: ignore[attr-defined]
    code = current_code(cp, secret)
    sign_in(cp, first, code)
    with pytest.raises(AccessDenied, match="already used"):
        sign_in(cp, first, code)
    with pytest.raises(AccessDenied, match="expired"):
        sign_in(cp, first, current_code(cp, secret, steps_ahead=-3))
    assert "refused" in str(last_login(cp.ledger)["outcome"])


def test_a_stolen_first_factor_cannot_enrol_a_new_authenticator(cp: ControlPlane) -> None:
    people = People.start(cp)
    people.add("ann", Role.ANALYST)
    with pytest.raises(AccessDenied, match="already has a second factor"):
        set_up_totp(cp, people.first["ann"], "Test SDE")
    reset_second_factor(cp, people.tokens["cus"], "ann")
    assert set_up_totp(cp, people.first["ann"], "Test SDE").secret


@pytest.mark.parametrize(
    ("skip", "reason"),
    [
        ("identity", "identity check has not been recorded"),
        ("accreditation", "not accredited, which the analyst role needs"),
        ("training", "no record of data-protection training"),
        ("terms", "has not accepted the terms of use"),
    ],
)
def test_each_missing_onboarding_step_stops_an_analyst_by_name(
    cp: ControlPlane, skip: str, reason: str
) -> None:
    people = People.start(cp)
    token = people.add("ann", Role.ANALYST, skip=frozenset({skip}))
    with pytest.raises(AccessDenied, match=reason):
        cp_action(cp, token, Action.RUN_JOB)
    assert reason in str(last_login(cp.ledger)["outcome"])


def cp_action(cp: ControlPlane, token: str, action: Action) -> None:
    with cp.transaction() as session:
        cp.authenticate(session, token, action)


def test_lapsed_training_suspends_access_until_repeated(cp: ControlPlane) -> None:
    people = People.start(cp)
    people.add("ann", Role.ANALYST, training_days=10)
    cp_action(cp, people.tokens["ann"], Action.RUN_JOB)
    cp.clock.advance(11 * 86400)  # type: ignore[attr-defined]
    token = people.sign_in("cus")
    ann = people.sign_in("ann")
    with pytest.raises(AccessDenied, match="training lapsed on"):
        cp_action(cp, ann, Action.RUN_JOB)
    today = cp.today()
    for course in ("data-protection", "safe-researcher"):
        record_training(cp, token, "ann", course, today, today + timedelta(days=365))
    cp_action(cp, ann, Action.RUN_JOB)


def test_changed_terms_must_be_accepted_again(cp: ControlPlane) -> None:
    people = People.start(cp)
    people.add("ann", Role.ANALYST)
    cp.policy = AccessPolicy.standard(Terms(TERMS.version, TERMS.text + " Amended."))
    with pytest.raises(AccessDenied, match="terms of use"):
        cp_action(cp, people.tokens["ann"], Action.RUN_JOB)
    accept_terms(cp, people.first["ann"], cp.policy.terms)  # type: ignore[arg-type]
    cp_action(cp, people.tokens["ann"], Action.RUN_JOB)


def test_one_role_s_lapse_does_not_stop_another_role_s_action(cp: ControlPlane) -> None:
    people = People.start(cp)
    token = people.add("amy", Role.OUTPUT_CHECKER, Role.APPROVER, skip=frozenset({"accreditation"}))
    with pytest.raises(AccessDenied, match="not accredited"):
        cp_action(cp, token, Action.REVIEW_OUTPUT)
    cp_action(cp, token, Action.DECIDE_PROJECT)  # approvers do not reach data


def test_the_default_policy_reports_what_it_leaves_out() -> None:
    assert len(AccessPolicy().relaxed()) == 7  # people's five, the DPIA, the register
    assert AccessPolicy.standard(TERMS).relaxed() == []


def test_public_listing_needs_no_sign_in(cp: ControlPlane) -> None:
    People.start(cp)
    assert list_projects(cp) == []
